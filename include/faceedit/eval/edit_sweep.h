// faceedit — evaluating an editor over a sweep of strengths, as the papers plot it.
//
// Held-out latents are edited at every |alpha| in the sweep, each towards the other side of its own
// attribute (alpha * editor.flip_sign()), and judged against the unedited images with
// evaluate_edits(): target change rate, attribute preservation, identity preservation, background.
// A sweep grid (rows: the first few samples, columns: alphas) shows what the numbers mean.
#pragma once

#include <opencv2/core.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <vector>

#include "faceedit/distributed.h"
#include "faceedit/edit/editor.h"
#include "faceedit/eval/edit_metrics.h"
#include "faceedit/models/generator.h"

namespace faceedit::eval {

struct SweepParams {
  std::vector<double> alphas = {0, 1, 2, 3};  // strengths (their magnitude is used; 0 = unedited)
  std::string judge_target;                  // the judges' column for the attribute (default: same name)
  double truncation = 1.0;                   // for Z codes; W/W+ codes come truncated
  int64_t batch = 50;       // faces per block: generated and judged together
  int64_t grid_rows = 8;
  bool progress = true;
  // Shared among processes (distributed.h): the blocks of `batch` faces are the work items. Each
  // block's per-face results go to work_dir/block-<i>.safetensors (with work_dir/job.json naming
  // the job), and the merging process reduces every block in order: the same bytes as one process.
  // An interrupted job resumes from its blocks. Empty work_dir: all blocks in memory, here.
  WorkShare share;
  std::string work_dir;
};

struct SweepResult {
  nlohmann::json json;  // {"editor": ..., "n": N, "alphas": [...], "metrics": [per alpha ...]}
  cv::Mat grid;         // BGR sweep grid
  bool merged = true;   // false in a process that only computed its share (json and grid empty)
};

// Images of codes in `space`, `batch` at a time, without gradients. Z codes get the truncation;
// W and W+ codes were truncated when they were made.
torch::Tensor generate_in_batches(const models::Generator& generator, const torch::Tensor& codes,
                                  models::LatentSpace space, double truncation, int64_t batch);

// `latents` are codes of editor.space() (e.g. map(z) for W). With a work_dir, the directory is
// locked against a second job and a job.json of other settings is refused (use another directory).
SweepResult evaluate_sweep(const models::Generator& generator, const edit::Editor& editor,
                           const torch::Tensor& latents, models::JudgePanel& judges, const SweepParams& params);

// Images of `latents` edited at each alpha (signed as given): [rows * alphas] in row-major order.
torch::Tensor sweep_images(const models::Generator& generator, const edit::Editor& editor,
                           const torch::Tensor& latents, const std::vector<double>& alphas, double truncation);

}  // namespace faceedit::eval
