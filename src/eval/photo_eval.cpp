#include "faceedit/eval/photo_eval.h"

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/photo_l2mgan.h"

namespace faceedit::eval {

PhotoEvalResult evaluate_photo_edits(const std::vector<std::string>& photos, std::shared_ptr<models::Generator> g,
                                    const std::string& model_name, models::JudgePanel& judges, const PhotoEvalParams& p,
                                    const PhotoCallback& on_photo) {
  if (photos.empty()) fail("evaluate photos", "no photos given");
  if (p.edits.empty()) fail("evaluate photos", "no edit given");
  // The latent methods prepare each photo in a session; L2M-GAN edits the photo itself.
  const bool image_edit = pipeline::is_l2mgan_edit(p.edits);
  std::unique_ptr<pipeline::PhotoSession> session;
  std::unique_ptr<pipeline::L2MGanPhotoEditor> image_editor;
  auto edits = p.edits;
  bool personalise = false;
  models::LatentSpace space = models::LatentSpace::Z;
  if (image_edit) {
    image_editor = std::make_unique<pipeline::L2MGanPhotoEditor>(edits, p.photo, g->device());  // a bad spec fails here
  } else {
    session = std::make_unique<pipeline::PhotoSession>(g, model_name, p.photo);
    session->open(edits);  // a bad spec fails before any photo
    personalise = pipeline::wants_personalization(p.photo, edits);
    space = session->space_of(edits);
  }
  const std::string method = image_edit ? pipeline::kL2MGanMethod : edits.front().opened->method();
  const std::string target = !p.target.empty() ? p.target : image_edit ? edits.front().editor.attribute : edits.front().opened->attribute();
  // One photo: its FFHQ crop before and after the edits, and the pipeline's result.
  auto edit_one = [&](const cv::Mat& photo, const std::string& name) -> std::tuple<cv::Mat, cv::Mat, pipeline::PhotoResult> {
    if (image_edit) {
      auto r = image_editor->edit(photo, name);
      const auto ffhq = pipeline::align_single_face(photo, p.photo.crop, name);
      return {ffhq.crop, pipeline::align_face(r.photo, ffhq.quad, ffhq.size).crop, std::move(r)};
    }
    const auto& prep = session->prepare(photo, name, space, personalise);
    auto r = session->render(edits);
    return {prep.ffhq.crop, pipeline::align_face(r.photo, prep.ffhq.quad, prep.ffhq.size).crop, std::move(r)};
  };
  std::vector<torch::Tensor> before, after;
  nlohmann::json failed = nlohmann::json::array(), strengths = nlohmann::json::array(), done = nlohmann::json::array();
  std::map<std::string, double> timing_sum;
  for (size_t i = 0; i < photos.size(); ++i) {
    try {
      const auto [original, edited, r] = edit_one(io::read_image(photos[i]), photos[i]);
      before.push_back(models::resize_images(io::image_to_tensor(original), p.size, p.size));
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
  const std::string label = !p.label.empty() ? p.label : method + " (photos)";
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
