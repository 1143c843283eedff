#include "faceedit/eval/inversion_eval.h"

#include <chrono>

#include "faceedit/error.h"
#include "faceedit/progress.h"
#include "faceedit/train/train_encoder.h"

namespace faceedit::eval {

nlohmann::json evaluate_inversions(const models::Generator& g, const torch::Tensor& faces,
                                   const pipeline::InversionGuides& guides, const models::Encoder* encoder,
                                   const InversionEvalParams& p) {
  if (faces.dim() != 4 || faces.size(0) < 1 || faces.size(1) != 3 || faces.scalar_type() != torch::kUInt8)
    fail("evaluate-inversion", "faces must be uint8 [N, 3, H, W]");
  if (p.steps.empty() || p.starts < 1) fail("evaluate-inversion", "give at least one step count, and starts >= 1");
  const auto space = g.inversion_space();
  struct Row {
    std::string start;
    int steps;
    double psnr = 0, identity = 0, seconds = 0;
  };
  std::vector<Row> rows;
  for (int s : p.steps) {
    if (s < 0) fail("evaluate-inversion", "step counts must be >= 0");
    if (s > 0) rows.push_back({"prior", s});
    if (encoder != nullptr) rows.push_back({"encoder", s});
  }
  if (rows.empty()) fail("evaluate-inversion", "nothing to measure: steps 0 needs an encoder");
  const int64_t n = faces.size(0);
  Progress progress("evaluate-inversion", n * static_cast<int64_t>(rows.size()), "inversions", p.progress);
  int64_t done = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto target = train::frame_for_generator(faces.narrow(0, i, 1), g).to(g.device());
    for (auto& row : rows) {
      const auto t0 = std::chrono::steady_clock::now();
      pipeline::InversionParams ip;
      ip.space = space;
      ip.steps = row.steps;
      ip.starts = p.starts;
      ip.seed = static_cast<uint64_t>(i);
      if (row.start == "encoder") ip.init = pipeline::encoder_start(*encoder, g, target, space, "encoder");
      const auto inv = pipeline::invert(g, target, guides, ip);
      row.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      row.psnr += inv.psnr;
      row.identity += inv.identity_cosine;
      progress.update(++done);
    }
  }
  progress.finish();
  nlohmann::json out = {{"faces", n}, {"space", models::to_string(space)}, {"starts", p.starts}, {"rows", nlohmann::json::array()}};
  for (const auto& row : rows)
    out["rows"].push_back({{"start", row.start},
                           {"steps", row.steps},
                           {"psnr_db", row.psnr / static_cast<double>(n)},
                           {"identity_cosine", row.identity / static_cast<double>(n)},
                           {"seconds_per_face", row.seconds / static_cast<double>(n)}});
  return out;
}

}  // namespace faceedit::eval
