#include "faceedit/eval/photo_eval.h"

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/photo_l2mgan.h"

namespace faceedit::eval {

nlohmann::json judge_pairs(const torch::Tensor& before, const torch::Tensor& after, models::JudgePanel& judges, const PairsReport& r) {
  EditMetricsParams mp;
  mp.target = r.attribute;
  mp.direction = r.direction;
  auto m = evaluate_edits(before, after, judges, mp).to_json();
  m["alpha"] = r.strength;
  return {{"editor", {{"method", r.label}, {"label", r.label}, {"attribute", r.attribute}}},
          {"n", before.size(0)},
          {"alphas", {r.strength}},
          {"judge_target", r.attribute},
          {"direction", r.direction == 0 ? "flip" : r.direction > 0 ? "raise" : "lower"},
          {"metrics", {m}}};
}

PhotoEvalResult evaluate_image_pairs(const std::vector<std::string>& originals, const std::vector<std::string>& edited,
                                     models::JudgePanel& judges, const ImagePairsParams& p) {
  if (originals.size() != edited.size())
    fail("evaluate-images", std::to_string(originals.size()) + " originals but " + std::to_string(edited.size()) +
                                " edited images: give them in pairs");
  if (originals.empty()) fail("evaluate-images", "no images given");
  std::vector<torch::Tensor> before, after, grid;
  for (size_t i = 0; i < originals.size(); ++i) {
    cv::Mat a = io::read_image(originals[i]), b = io::read_image(edited[i]);
    if (p.align) {
      if (a.size() != b.size()) fail(edited[i], "is not the size of " + originals[i] + " (--align compares photos of one size)");
      const auto face = face::align_single_face(a, p.size, originals[i]);
      a = face.crop;
      b = face::align_face(b, face.quad, p.size).crop;
    }
    before.push_back(models::resize_images(io::image_to_tensor(a), p.size, p.size));
    after.push_back(models::resize_images(io::image_to_tensor(b), p.size, p.size));
    if (i < 8) grid.insert(grid.end(), {before.back(), after.back()});
  }
  auto json = judge_pairs(torch::cat(before), torch::cat(after), judges, p.report);
  json.update({{"originals", originals}, {"edited", edited}});
  return {json, io::make_grid(torch::cat(grid), 4)};
}

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
  bool personalize = false;
  models::LatentSpace space = models::LatentSpace::Z;
  if (image_edit) {
    image_editor = std::make_unique<pipeline::L2MGanPhotoEditor>(edits, p.photo, g->device());  // a bad spec fails here
  } else {
    session = std::make_unique<pipeline::PhotoSession>(g, model_name, p.photo);
    session->open(edits);  // a bad spec fails before any photo
    personalize = pipeline::wants_personalization(p.photo, edits);
    space = session->space_of(edits);
  }
  const std::string method = image_edit ? pipeline::kL2MGanMethod : edits.front().opened->method();
  const std::string target = !p.target.empty() ? p.target : image_edit ? edits.front().editor.attribute : edits.front().opened->attribute();
  // One photo: its FFHQ crop before and after the edits, and the pipeline's result.
  auto edit_one = [&](const cv::Mat& photo, const std::string& name) -> std::tuple<cv::Mat, cv::Mat, pipeline::PhotoResult> {
    if (image_edit) {
      auto r = image_editor->edit(photo, name);
      const auto ffhq = face::align_single_face(photo, p.photo.crop, name);
      return {ffhq.crop, face::align_face(r.photo, ffhq.quad, ffhq.size).crop, std::move(r)};
    }
    const auto& prep = session->prepare(photo, name, space, personalize);
    auto r = session->render(edits);
    return {prep.ffhq.crop, face::align_face(r.photo, prep.ffhq.quad, prep.ffhq.size).crop, std::move(r)};
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
  nlohmann::json mean_timings;
  for (const auto& [k, v] : timing_sum) mean_timings[k] = v / static_cast<double>(before.size());
  PairsReport report{!p.label.empty() ? p.label : method + " (photos)", target, std::abs(p.edits.front().strength), p.direction};
  auto json = judge_pairs(torch::cat(before), torch::cat(after), judges, report);
  json.update({{"originals", done}, {"strengths", strengths}, {"failed", failed}, {"mean_timings", mean_timings}});
  std::vector<torch::Tensor> grid;
  for (size_t i = 0; i < std::min<size_t>(8, before.size()); ++i) grid.insert(grid.end(), {before[i], after[i]});
  return {json, io::make_grid(torch::cat(grid).cpu(), 4)};
}

}  // namespace faceedit::eval
