// faceedit — InterFaceGAN's sampling job: many latents, their images scored by classifiers, on disk
// in shards so that a long run can be interrupted (Ctrl-C, kill -9, a crash) and resumed.
//
// A sample directory holds
//   manifest.json          written first, atomically:
//     {"format": "faceedit.samples/1", "model": <spec>, "arch": "dcgan"|"stylegan2", "n": N,
//      "seed": S, "truncation": psi, "shard_size": K, "spaces": ["z"] or ["z", "w"],
//      "classifiers": [<specs>], "columns": [<probability column names>], "z_dim": D, "w_dim": E}
//     "columns" are the Probability and Value columns (e.g. the pose score's yaw, pitch) of all
//     classifiers concatenated in order; a name that occurs again in a later classifier is
//     prefixed "<classifier name>." (as CombinedClassifier does).
//     w_dim is 0 for models without W.
//   shard-00000.safetensors, shard-00001.safetensors, ...   shard i holds samples
//     [i*K, min(N, (i+1)*K)), k of them, as float32 tensors
//       z       [k, z_dim]  the latents: rows i*K.. of generator.sample_z(N, S) (numpy's stream, so
//                           sample j's z depends only on S and j, not on N, K or interruptions)
//       w       [k, w_dim]  StyleGAN2 only: the mapped, truncated W, map(z, psi)[:, 0]
//       scores  [k, C]      the classifiers' probabilities (values for Value columns; NaN where a
//                           scorer found no face) on synthesize(map(z, psi)), const noise
//     and metadata "faceedit.first_index" = i*K, "faceedit.format" = "faceedit.samples/1".
//
// A shard is complete iff its final file exists: shards are written to a temp file and renamed
// (io::write_safetensors), so an interrupted write leaves at most a "*.tmp-<pid>" file, which the
// next run removes. Rerunning the same job skips complete shards and computes the rest; batches
// start at shard boundaries, so on the same device and batch size a resumed run is bit-identical to
// an uninterrupted one (another batch size or device may differ in float rounding only).
// A run holds an flock on the directory: a second concurrent run into it fails at once.
// Shared among processes (distributed.h): process K of N writes the shards i with i % N == K; the
// files are the same whoever writes them. With --shard, a later run without it writes what is
// missing (nothing, once every task is done) and reports the whole.
// Memory: the job draws all N latents up front (N * z_dim * 4 bytes: 40 MB for 100k DCGAN samples).
//
//   auto p = faceedit::edit::sample_job_default_params();
//   p.model_spec = "dcgan-celeba32"; p.classifier_specs = {"smiles"}; p.n = 100000;
//   auto summary = faceedit::edit::run_sample_job(p, "samples/dcgan");
//   auto set = faceedit::edit::load_samples("samples/dcgan");   // set.z [N, 100], set.scores [N, C]
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "faceedit/distributed.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"

namespace faceedit::edit {

inline constexpr const char* kSamplesFormat = "faceedit.samples/1";

// --- the one batch routine (also behind train::sample_and_score) ---

// Indices and names of a classifier's Probability and Value columns; throws when it has none.
struct ProbabilityColumns {
  std::vector<int64_t> index;
  std::vector<std::string> names;
};
ProbabilityColumns probability_columns(const models::AttributeClassifier& classifier);

struct ScoredBatch {
  torch::Tensor codes;   // the synthesis input map(z, psi): W+ [b, num_ws, w_dim], or z for the DCGAN
  torch::Tensor scores;  // [b, C] the Probability columns, on the generator's device
};
// z [b, z_dim] -> codes = map(z, psi), images = synthesize(codes, const noise), scores. No gradients.
// synthesis_size > 0: the images come from Generator::synthesize_preview(codes, synthesis_size) (a
// StyleGAN2 stops at the first block whose skip image is at least that size).
ScoredBatch generate_and_score(const models::Generator& generator, models::AttributeClassifier& classifier,
                               const ProbabilityColumns& columns, const torch::Tensor& z, double truncation,
                               int64_t synthesis_size = 0);

// --- the resumable job ---

struct SampleJobParams {
  std::string model_spec;                     // file or known name (model_files.h)
  std::vector<std::string> classifier_specs;  // judges.h open_classifier() specs, at least one
  int64_t n = 0;
  uint64_t seed = 0;
  double truncation = 1.0;
  int64_t shard_size = 1000;
  int64_t batch = 64;  // images per forward pass (not part of the manifest)
  // > 0: score images synthesised only up to the first resolution >= this (the scorers' input size:
  // 64 for the guide), recorded in the manifest as "synthesis_resolution" when the model stops
  // early (StyleGAN2 above that size); 0: the full image.
  int64_t synthesis_size = 0;
  bool progress = true;  // progress lines and one line per shard on stderr
  torch::Device device = torch::kCPU;
  // This process's share of the shards (distributed.h: MPI rank or --shard K/N; default: all).
  // Shards are computed the same way by whichever process, so the directory is byte-identical.
  WorkShare share;
};
SampleJobParams sample_job_default_params();

// Runs (or resumes) the job into `dir` (created if absent). If dir/manifest.json exists it must
// match `params` (else faceedit::Error naming the differing field). SIGINT/SIGTERM stop the job
// between batches: it throws faceedit::Error("...interrupted...; rerun the same command to
// resume"); a second signal kills at once (still safe). Returns a summary:
//   {"dir", "processes", "shards_complete", "n", "shards", "shards_written", "shards_skipped",
//    "samples_written", "seconds", "samples_per_s", "columns"} (written/skipped: this process's)
nlohmann::json run_sample_job(const SampleJobParams& params, const std::string& dir);

struct SampleSet {
  nlohmann::json manifest;
  torch::Tensor z;       // [N, z_dim]
  torch::Tensor w;       // [N, w_dim], undefined when the manifest's spaces lack "w"
  torch::Tensor scores;  // [N, C]
  std::vector<std::string> columns;  // C names
};
// Reads a finished directory. Errors name the file: missing manifest, unknown format, a missing
// shard ("<dir> has 37 of 100 shards; finish with `faceedit sample ...`"), a corrupt shard, shapes
// or first index not matching the manifest.
SampleSet load_samples(const std::string& dir);

// The latents of one space with every score column: what boundary training reads, through
// load_samples (one reader, one validation policy).
//   auto s = edit::read_boundary_samples("samples/", models::LatentSpace::W);
//   auto smiling = edit::score_column(s, "smiling");   // [N]
struct BoundarySamples {
  std::string dir;
  models::LatentSpace space = models::LatentSpace::Z;
  torch::Tensor latents;             // [N, dim] float32
  torch::Tensor scores;              // [N, C] float32
  std::vector<std::string> columns;  // C names
  nlohmann::json manifest;
};
// space Z or W; none picks W when the samples have it (StyleGAN2), else Z.
BoundarySamples read_boundary_samples(const std::string& dir, std::optional<models::LatentSpace> space);

// The scores column named `attribute` (canonical names and aliases match), [N]. Throws listing the
// available columns when there is none.
torch::Tensor score_column(const BoundarySamples& samples, const std::string& attribute);

// The latents and scores of the samples that have a score: a scorer that can fail on some faces
// (the pose score where no face is found) leaves NaN, and those rows are left out of training.
struct ScoredRows {
  torch::Tensor latents, scores;
  int64_t unscored = 0;  // rows dropped
};
ScoredRows scored_rows(const torch::Tensor& latents, const torch::Tensor& scores);

// "shard-00042.safetensors"
std::string shard_file_name(int64_t index);
// The `faceedit sample ...` command line that (re)creates `dir` from its manifest.
std::string sample_command(const nlohmann::json& manifest, const std::string& dir);

}  // namespace faceedit::edit
