#include "faceedit/eval/edit_sweep.h"

#include <filesystem>
#include <fstream>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/content_hash.h"
#include "faceedit/io/json_file.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/io/image.h"
#include "faceedit/progress.h"

namespace faceedit::eval {

// Z codes are truncated when mapped; W and W+ codes were truncated when they were made.
static double psi_for(models::LatentSpace space, double truncation) { return models::Generator::truncation_for(space, truncation); }

torch::Tensor generate_in_batches(const models::Generator& g, const torch::Tensor& codes, models::LatentSpace space,
                                  double truncation, int64_t batch) {
  torch::NoGradGuard no_grad;
  truncation = psi_for(space, truncation);
  std::vector<torch::Tensor> out;
  for (int64_t b = 0; b < codes.size(0); b += batch)
    out.push_back(g.generate(codes.narrow(0, b, std::min(batch, codes.size(0) - b)), space, truncation));
  return torch::cat(out);
}

torch::Tensor sweep_images(const models::Generator& g, const edit::Editor& editor, const torch::Tensor& latents,
                           const std::vector<double>& alphas, double truncation) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < latents.size(0); ++i) {
    auto code = latents.narrow(0, i, 1).repeat_interleave(static_cast<int64_t>(alphas.size()), 0);
    auto edited = editor.edit(code, torch::tensor(alphas, torch::kFloat).to(latents.device()));
    rows.push_back(g.generate(edited, editor.space(), psi_for(editor.space(), truncation)));
  }
  return torch::cat(rows);
}

namespace {

namespace fs = std::filesystem;

// One block's per-face results at every strength: what the metrics are reduced from.
struct SweepBlock {
  std::vector<FaceComparison> by_alpha;
  std::vector<torch::Tensor> shift;  // per alpha [n] double: |edited code - code|
};

SweepBlock compute_block(const models::Generator& g, const edit::Editor& editor, const torch::Tensor& latents,
                         models::JudgePanel& judges, const std::vector<double>& magnitudes, double truncation) {
  const auto space = editor.space();
  const int64_t n = latents.size(0);
  auto original = generate_in_batches(g, latents, space, truncation, n);
  // The originals are judged once; each strength then costs one judging of its edits.
  const auto judged_original = judge_images(original, judges, /*with_background=*/true, n);
  const auto sign = editor.flip_sign(latents);
  SweepBlock block;
  for (double magnitude : magnitudes) {
    auto edited_codes = editor.edit(latents, sign * magnitude);
    // An edit that leaves the codes as they were (strength 0) is judged as the originals were.
    const bool unchanged = torch::equal(edited_codes, latents);
    const auto judged = unchanged ? judged_original
                                  : judge_images(generate_in_batches(g, edited_codes, space, truncation, n), judges, false, n);
    block.by_alpha.push_back(compare_faces(judged_original, judged));
    // How far the edit moved the codes (the cost side of "strength").
    block.shift.push_back((edited_codes - latents).flatten(1).norm(2, 1).to(torch::kCPU, torch::kDouble));
  }
  return block;
}

io::NamedTensors block_tensors(const SweepBlock& b) {
  std::vector<torch::Tensor> p1, identity, num, shift;
  for (size_t a = 0; a < b.by_alpha.size(); ++a) {
    p1.push_back(b.by_alpha[a].p1), identity.push_back(b.by_alpha[a].identity), shift.push_back(b.shift[a]);
    if (b.by_alpha[a].background_num.defined()) num.push_back(b.by_alpha[a].background_num);
  }
  const auto& first = b.by_alpha.front();
  io::NamedTensors t = {{"p0", first.p0}, {"p1", torch::stack(p1)}, {"identity", torch::stack(identity)},
                        {"shift", torch::stack(shift)}};
  if (first.background_den.defined()) t.insert(t.end(), {{"background_den", first.background_den}, {"background_num", torch::stack(num)}});
  return t;
}

SweepBlock read_block(const std::string& path, int64_t n, int64_t alphas, int64_t columns) {
  io::SafetensorsReader file(path);
  auto get = [&](const std::string& name, std::vector<int64_t> shape) {
    if (!file.contains(name)) fail(path, "has no tensor '" + name + "' (not a sweep block of this job?)");
    auto t = file.load(name);
    if (t.sizes().vec() != shape) fail(path, "tensor '" + name + "' has shape " + c10::str(t.sizes()) + ", not " + c10::str(shape));
    return t;
  };
  SweepBlock b;
  const auto p0 = get("p0", {n, columns}), p1 = get("p1", {alphas, n, columns});
  const auto identity = get("identity", {alphas, n}), shift = get("shift", {alphas, n});
  const bool bg = file.contains("background_den");
  const auto den = bg ? get("background_den", {n}) : torch::Tensor(), num = bg ? get("background_num", {alphas, n}) : torch::Tensor();
  for (int64_t a = 0; a < alphas; ++a) {
    b.by_alpha.push_back({p0, p1[a], identity[a], bg ? num[a] : torch::Tensor(), den});
    b.shift.push_back(shift[a]);
  }
  return b;
}

// The job a work directory belongs to: another job's blocks are never mixed in.
nlohmann::json sweep_job(const edit::Editor& editor, const torch::Tensor& latents, const SweepParams& p,
                         const std::vector<double>& magnitudes, const std::string& target) {
  auto codes = latents.to(torch::kCPU, torch::kFloat).contiguous();
  io::ContentHash h;
  h.add(codes.data_ptr(), codes.numel() * sizeof(float));
  return {{"format", "faceedit.sweep-work/1"}, {"editor", editor.describe()}, {"n", latents.size(0)},
          {"latents", h.hex()}, {"alphas", magnitudes}, {"target", target}, {"truncation", p.truncation},
          {"batch", p.batch}};
}

void claim_work_dir(const fs::path& dir, const nlohmann::json& job, const WorkShare& share) {
  const auto path = dir / "job.json";
  share.claim_job([&] {
    io::claim_job_file(path, job, "another evaluation (other editor, faces, strengths or batch): delete the directory or choose another output");
  });
}

std::string block_file(const fs::path& dir, int64_t i) {
  char name[48];
  std::snprintf(name, sizeof name, "block-%05lld.safetensors", static_cast<long long>(i));
  return (dir / name).string();
}

}  // namespace

SweepResult evaluate_sweep(const models::Generator& g, const edit::Editor& editor, const torch::Tensor& latents,
                           models::JudgePanel& judges, const SweepParams& p) {
  if (p.alphas.empty()) fail("sweep", "needs at least one strength");
  if (p.batch < 1) fail("sweep", "batch must be positive");
  if (!judges.attributes) fail("sweep", "needs an attribute judge");
  torch::NoGradGuard no_grad;
  const int64_t n = latents.size(0);
  EditMetricsParams mp;
  mp.target = p.judge_target.empty() ? editor.attribute() : p.judge_target;
  std::vector<double> magnitudes;
  for (double a : p.alphas) magnitudes.push_back(std::abs(a));
  const auto& columns = judges.attributes->columns();
  const int64_t blocks = (n + p.batch - 1) / p.batch;
  const auto block_rows = [&](int64_t i) { return std::min(p.batch, n - i * p.batch); };

  const fs::path dir(p.work_dir);
  std::unique_ptr<JobLock> lock;
  if (!p.work_dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir)) fail(p.work_dir, "cannot create the evaluation's work directory");
    lock = std::make_unique<JobLock>(dir, p.share, "faceedit evaluate");
    claim_work_dir(dir, sweep_job(editor, latents, p, magnitudes, mp.target), p.share);
  }
  const std::string who = "evaluate " + editor.method() + " " + editor.attribute() +
                          (p.share.label().empty() ? "" : " " + p.share.label());
  std::vector<SweepBlock> in_memory(static_cast<size_t>(blocks));
  int64_t mine = 0;
  for (int64_t i = 0; i < blocks; ++i) mine += p.share.owns(i) ? 1 : 0;
  Progress progress(who, mine, "blocks of " + std::to_string(p.batch) + " faces", p.progress);
  int64_t done = 0;
  for (int64_t i = 0; i < blocks; ++i) {
    if (!p.share.owns(i)) continue;
    if (p.work_dir.empty() || !fs::exists(block_file(dir, i))) {
      if (stop_requested()) fail(who, "interrupted; rerun the same command to resume from the finished blocks");
      auto block = compute_block(g, editor, latents.narrow(0, i * p.batch, block_rows(i)), judges, magnitudes, p.truncation);
      if (p.work_dir.empty()) in_memory[static_cast<size_t>(i)] = std::move(block);
      else io::write_safetensors(block_file(dir, i), block_tensors(block), {{"faceedit.format", "faceedit.sweep-block/1"}});
    }
    progress.update(++done, "", true);
  }
  progress.finish();
  p.share.wait_for_all();
  SweepResult result;
  if (!p.share.merges()) {
    result.merged = false;
    return result;
  }

  // Merge: every block in order, then one reduction per strength.
  std::vector<SweepBlock> all;
  for (int64_t i = 0; i < blocks; ++i) {
    if (p.work_dir.empty()) {
      all.push_back(std::move(in_memory[static_cast<size_t>(i)]));
      continue;
    }
    if (!fs::exists(block_file(dir, i)))
      fail(block_file(dir, i), "is missing: a task of the job has not finished (rerun without --shard to compute it)");
    all.push_back(read_block(block_file(dir, i), block_rows(i), static_cast<int64_t>(magnitudes.size()),
                             static_cast<int64_t>(columns.size())));
  }
  result.json = {{"editor", editor.describe()}, {"n", n}, {"judge_target", mp.target}, {"metrics", nlohmann::json::array()},
                 {"alphas", magnitudes}};
  for (size_t a = 0; a < magnitudes.size(); ++a) {
    std::vector<FaceComparison> parts;
    std::vector<torch::Tensor> shifts;
    for (const auto& b : all) parts.push_back(b.by_alpha[a]), shifts.push_back(b.shift[a]);
    auto m = reduce_comparison(concat_comparisons(parts), columns, mp).to_json();
    m["alpha"] = magnitudes[a];
    double shift_sum = 0;  // in face order: the same bits however the blocks were computed
    for (const auto& s : shifts)
      for (int64_t k = 0; k < s.size(0); ++k) shift_sum += s[k].item<double>();
    m["mean_latent_shift"] = shift_sum / static_cast<double>(n);
    result.json["metrics"].push_back(m);
  }
  const auto sign = editor.flip_sign(latents.narrow(0, 0, std::min(p.grid_rows, n)));
  // Grid: first rows, each flipped towards its other side, strengths left to right.
  const int64_t rows = std::min(p.grid_rows, n);
  std::vector<torch::Tensor> tiles;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> signed_alphas;
    for (double a : magnitudes) signed_alphas.push_back(a * sign[r].item<double>());
    tiles.push_back(sweep_images(g, editor, latents.narrow(0, r, 1), signed_alphas, p.truncation));
  }
  const int scale = g.resolution() < 128 ? static_cast<int>(128 / g.resolution()) : 1;
  result.grid = io::make_grid(torch::cat(tiles), static_cast<int>(magnitudes.size()), 2, std::max(1, scale));
  return result;
}

}  // namespace faceedit::eval
