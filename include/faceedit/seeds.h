// faceedit — the named seed streams. Every seeded draw of the project comes from one of these, so
// streams stay apart (a held-out face is never a training latent) and each number lives in one place.
// All stay below 2^32: numpy's RandomState (which the generators reproduce) takes 32-bit seeds.
//
//   user seeds          0, 1, 2, ...  (generate --seeds, sample --seed)
//   kEvaluationSeed     1,000,000: `evaluate`'s held-out faces
//   training batches    2e9 + 1e6 (seed % 1000) + step: learned editors' batch `step`
//   kLatentClassifierSampleSeed + seed: latents sampled to train a latent classifier on the fly
//   correlation(seed)   4.1e9 + seed: the transformer's attribute-correlation sample (+1: its held-out check)
//   kEditorHeldoutSeed  4.2e9: train-editor's held-out faces for the report
//   kCalibrationSeed    4.25e9: `fit`'s calibration faces
//   kFitAttributeSeed   4.28e9: fit-attribute's faces scored by a learned head
#pragma once

#include <cstdint>

namespace faceedit::seeds {

inline constexpr uint64_t kEvaluationSeed = 1000000;
inline constexpr uint64_t kLatentClassifierSampleSeed = 3900000000ull;
inline constexpr uint64_t kEditorHeldoutSeed = 4200000000ull;
// `faceedit fit`'s calibration faces (and its sweeps' first 4): apart from evaluate's held-out set,
// so the calibration check on `evaluate`'s faces is not measured on the faces calibrated on.
inline constexpr uint64_t kCalibrationSeed = 4250000000ull;
// fit-attribute --scorer head: the generated faces its head scores for the sampled boundary.
inline constexpr uint64_t kFitAttributeSeed = 4280000000ull;

// Batch `step` of a learned editor's training with user seed `seed`: a resumed run draws what an
// uninterrupted one would.
inline uint64_t training_batch(uint64_t seed, int64_t step) {
  return 2000000000ull + 1000000ull * (seed % 1000) + static_cast<uint64_t>(step) % 1000000ull;
}
inline uint64_t correlation(uint64_t seed) { return (4100000000ull + seed) & 0xffffffffull; }

}  // namespace faceedit::seeds
