// faceedit — a narrow reader of sampling-job output for boundary training: the latents of one space
// and the score columns of a samples directory ("faceedit.samples/1").
//
// Directory layout (written by `faceedit sample`):
//   DIR/manifest.json   {"format": "faceedit.samples/1", "n": N, "shard_size": K,
//                        "spaces": ["z", "w"], "columns": [one attribute name per scores column],
//                        "z_dim": .., "w_dim": .., "model", "arch", "seed", "truncation", "classifiers"}
//   DIR/shard-00000.safetensors, shard-00001... (ceil(N/K) shards), each with float32 tensors
//   `z` [k, z_dim], optionally `w` [k, w_dim], `scores` [k, C] and metadata faceedit.first_index.
//
//   auto s = edit::read_boundary_samples("samples/", "w");
//   auto smiling = edit::score_column(s, "smiling");   // [N]
//
// Everything is validated (format, shard count, shapes, first indices, row total) and a violation
// throws faceedit::Error naming the file. (The sampling module's edit::load_samples reads the same
// directory in full; this reader may be replaced by it.)
//
// Thread-safety: free functions without shared state.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceedit::edit {

struct BoundarySamples {
  std::string dir, space;
  torch::Tensor latents;             // [N, dim] float32
  torch::Tensor scores;              // [N, C] float32
  std::vector<std::string> columns;  // C names
  nlohmann::json manifest;
};

// space "z" or "w"; "" picks w when the samples have it (StyleGAN2), else z.
BoundarySamples read_boundary_samples(const std::string& dir, const std::string& space);

// The scores column named `attribute` (exact, else case-insensitive match), [N]. Throws listing the
// available columns when there is none.
torch::Tensor score_column(const BoundarySamples& samples, const std::string& attribute);

// The latents and scores of the samples that have a score: a scorer that can fail on some faces
// (the pose score where no face is found) leaves NaN, and those rows are left out of training.
struct ScoredRows {
  torch::Tensor latents, scores;
  int64_t unscored = 0;  // rows dropped
};
ScoredRows scored_rows(const torch::Tensor& latents, const torch::Tensor& scores);

}  // namespace faceedit::edit
