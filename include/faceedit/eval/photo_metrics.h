// faceedit — the measurements of one edited photo: what `photo` prints, `photo --batch` records and
// Python's `render()` returns as `metrics`. The pipeline returns images (pipeline::PhotoResult: the
// aligned crops, the generator's images before and after, the fused photo); this measures them, the
// same way for every method:
//
//   psnr, identity_cosine           the inversion's own (latent methods), else the reconstruction's
//                                   PSNR against the aligned crop (L2M-GAN: no inversion)
//   psnr_personalized               a personalized generator's reconstruction against the crop
//   identity_cosine_edited          our guide's identity embedding: the crop vs. the edited, blended crop
//   guide_prob_before / _after      our guide's reading of the generator's images, per edited attribute
//   judge_identity_cosine_photo     the independent identity judge: the photo's FFHQ crop before vs. after
//   judge_identity_cosine_reconstruction   the judge: the reconstruction vs. the aligned crop
//
//   eval::PhotoMeasurer measurer(params, g->device());     // opens the guide; the judge on first use
//   auto r = pipeline::edit_photo(photo, "me.jpg", g, model, edits, params, on_stage, {}, measurer.callback());
//   r.metrics["judge_identity_cosine_photo"];
//
// A judge that cannot be opened is reported as "judge_error", not thrown: the edit itself stands.
// Thread-safety: one measurer per thread (the judge is loaded lazily).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/pipeline/photo.h"

namespace faceedit::models {
class FaceClassifier;
class IdentityEmbedder;
}  // namespace faceedit::models

namespace faceedit::eval {

class PhotoMeasurer {
 public:
  // params.guide ("none": no guide metrics) and params.identity_judge ("none": no judge metrics).
  PhotoMeasurer(const pipeline::PhotoParams& params, torch::Device device);
  ~PhotoMeasurer();
  nlohmann::json measure(const pipeline::PhotoResult& result);
  // measure() as the pipeline's whole-job calls take it (edit_photo, PhotoBatchParams::measure).
  // The callback refers to this measurer: keep it alive while the callback is used.
  pipeline::PhotoMeasure callback();

 private:
  int crop_;
  std::string judge_name_;
  torch::Device device_;
  std::shared_ptr<models::FaceClassifier> guide_;
  std::unique_ptr<models::IdentityEmbedder> guide_identity_, judge_;
};

}  // namespace faceedit::eval
