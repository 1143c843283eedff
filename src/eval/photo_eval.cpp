#include "faceedit/eval/photo_eval.h"

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/generator.h"

namespace faceedit::eval {

PhotoEvalResult evaluate_photo_edits(const std::vector<std::string>& photos, std::shared_ptr<models::Generator> g,
                                    const std::string& model_name, models::JudgePanel& judges, const PhotoEvalParams& p,
                                    const PhotoCallback& on_photo) {
  if (photos.empty()) fail("evaluate photos", "no photos given");
  if (p.edits.empty()) fail("evaluate photos", "no edit given");
  pipeline::PhotoSession session(g, model_name, p.photo);
  auto edits = p.edits;
  session.open(edits);  // a bad spec fails before any photo
  const bool personalise = pipeline::wants_personalization(p.photo, edits);
  const auto space = session.space_of(edits);
  const auto& first = edits.front().opened;
  const std::string target = !p.target.empty() ? p.target : first->attribute();
  std::vector<torch::Tensor> before, after;
  nlohmann::json failed = nlohmann::json::array(), strengths = nlohmann::json::array(), done = nlohmann::json::array();
  std::map<std::string, double> timing_sum;
  for (size_t i = 0; i < photos.size(); ++i) {
    try {
      const cv::Mat photo = io::read_image(photos[i]);
      const auto& prep = session.prepare(photo, photos[i], space, personalise);
      const auto r = session.render(edits);
      const cv::Mat edited = pipeline::align_face(r.photo, prep.ffhq.quad, prep.ffhq.size).crop;
      before.push_back(models::resize_images(io::image_to_tensor(prep.ffhq.crop), p.size, p.size));
      after.push_back(models::resize_images(io::image_to_tensor(edited), p.size, p.size));
      for (auto& [k, v] : r.timings.items()) timing_sum[k] += v.get<double>();
      strengths.push_back(r.edits.front().strength);
      done.push_back(photos[i]);
      if (on_photo) on_photo(i, photos[i], &r, "");
    } catch (const Error& e) {
      failed.push_back({{"photo", photos[i]}, {"error", e.what()}});
      if (on_photo) on_photo(i, photos[i], nullptr, e.what());
    }
  }
  if (before.empty()) fail("evaluate photos", "every photo failed (first: " + failed[0]["error"].get<std::string>() + ")");
  EditMetricsParams mp;
  mp.target = target;
  mp.direction = p.direction;
  auto m = evaluate_edits(torch::cat(before), torch::cat(after), judges, mp).to_json();
  m["alpha"] = std::abs(p.edits.front().strength);
  nlohmann::json mean_timings;
  for (const auto& [k, v] : timing_sum) mean_timings[k] = v / static_cast<double>(before.size());
  const std::string label = !p.label.empty() ? p.label : first->method() + " (photos)";
  std::vector<torch::Tensor> grid;
  for (size_t i = 0; i < std::min<size_t>(8, before.size()); ++i) grid.insert(grid.end(), {before[i], after[i]});
  nlohmann::json json = {{"editor", {{"method", label}, {"label", label}, {"attribute", target}}},
          {"n", before.size()},
          {"alphas", {std::abs(p.edits.front().strength)}},
          {"judge_target", target},
          {"direction", p.direction == 0 ? "flip" : p.direction > 0 ? "raise" : "lower"},
          {"metrics", {m}},
          {"originals", done},
          {"strengths", strengths},
          {"failed", failed},
          {"mean_timings", mean_timings}};
  return {json, io::make_grid(torch::cat(grid).cpu(), 4)};
}

}  // namespace faceedit::eval
