#include "faceedit/eval/photo_metrics.h"

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/classifier_features.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/judges.h"
#include "faceedit/pipeline/invert.h"

namespace faceedit::eval {

namespace {

torch::Tensor to_tensor(const cv::Mat& image, torch::Device device) { return io::image_to_tensor(image).to(device); }

// Cosine of two unit embeddings, rows i and j of e.
double cosine(const torch::Tensor& e, int64_t i, int64_t j) { return (e[i] * e[j]).sum().item<double>(); }

}  // namespace

PhotoMeasurer::PhotoMeasurer(const pipeline::PhotoParams& params, torch::Device device)
    : crop_(params.crop), judge_name_(params.identity_judge), device_(device) {
  if (!params.guide.empty() && params.guide != "none") {
    guide_ = models::open_guide(params.guide);
    guide_->to(device_);
    guide_identity_ = std::make_unique<models::ClassifierEmbedder>(*guide_);
  }
}

PhotoMeasurer::~PhotoMeasurer() = default;

pipeline::PhotoMeasure PhotoMeasurer::callback() {
  return [this](const pipeline::PhotoResult& r) { return measure(r); };
}

nlohmann::json PhotoMeasurer::measure(const pipeline::PhotoResult& r) {
  torch::NoGradGuard no_grad;
  nlohmann::json m = nlohmann::json::object();
  const auto crop_t = to_tensor(r.face.crop, device_);
  const int64_t res = r.reconstruction.size(-1);
  // The crop as the generator sees it (pipeline::generator_target's resize and clamp).
  const auto target = models::resize_images(crop_t, res, res).clamp(-1, 1);
  const auto reconstruction = r.reconstruction.to(device_).clamp(-1, 1);
  if (!r.inversion.is_null()) {
    m["psnr"] = r.inversion.value("psnr", 0.0);
    m["identity_cosine"] = r.inversion.value("identity_cosine", 1.0);
  } else {
    m["psnr"] = pipeline::psnr(reconstruction, target);
  }
  if (!r.personalization.is_null()) m["psnr_personalized"] = pipeline::psnr(reconstruction, target);
  if (guide_) {
    const auto e = guide_identity_->embed(torch::cat({crop_t, to_tensor(r.blended_crop, device_)}));
    m["identity_embedder"] = guide_identity_->name();
    m["identity_cosine_edited"] = cosine(e, 0, 1);
    const auto p = guide_->predict(torch::cat({r.reconstruction, r.edited_image}).to(device_).clamp(-1, 1));
    for (const auto& a : r.edits) {
      if (!guide_->has_column(a.attribute)) continue;  // an attribute learned from photos (fit-attribute)
      const int64_t c = guide_->column(a.attribute);
      m["guide_prob_before"][a.attribute] = p[0][c].item<double>();
      m["guide_prob_after"][a.attribute] = p[1][c].item<double>();
    }
  }
  if (judge_name_ == "none") return m;
  try {
    if (!judge_) {
      judge_ = models::open_embedder(judge_name_);
      judge_->to(device_);
    }
    const auto before = to_tensor(r.ffhq.crop, device_);
    const auto after = to_tensor(face::align_face(r.photo, r.ffhq.quad, crop_).crop, device_);
    const auto e = judge_->embed(torch::cat({before, after, models::resize_images(reconstruction, crop_, crop_), crop_t}));
    m["judge"] = judge_->name();
    m["judge_identity_cosine_photo"] = cosine(e, 0, 1);
    m["judge_identity_cosine_reconstruction"] = cosine(e, 2, 3);
  } catch (const Error& err) {
    m["judge_error"] = err.what();
  }
  return m;
}

}  // namespace faceedit::eval
