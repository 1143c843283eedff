// faceedit — editing a real photo with L2M-GAN (models/l2mgan.h, method "l2m-gan"): no inversion.
//
// The photo is aligned as for every method, framed as CelebA-HQ's faces (the model's training
// crops), and the aligned crop, downsampled to the model's resolution, goes through the model's
// encoder; the edits render through its decoder. The change (edit - reconstruction) is added to the
// photo's own crop by the existing fusion (PhotoParams::replace pastes the decoder's face instead),
// so pixels outside the portrait mask stay the photo's own. Several edits apply in sequence, each
// encoding the previous edit's image. Strength 0 gives the reconstruction itself: an empty change.
//
//   L2MGanPhotoEditor editor(edits, params, torch::kCPU);   // loads the model, checks attributes
//   auto result = editor.edit(photo, "me.jpg");             // a PhotoResult as edit_photo() returns
//
// The model file is each edit's EditorSpec::editor_file (--editor), else the shipped
// models/l2mgan-celebahq64.safetensors. --flip picks each edit's direction from our guide
// classifier's reading of the reconstruction (the judges only measure).
// Thread-safety: one editor per thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "faceedit/pipeline/photo.h"

namespace faceedit::models {
class L2MGan;
class FaceClassifier;
}  // namespace faceedit::models

namespace faceedit::pipeline {

inline constexpr const char* kL2MGanMethod = "l2m-gan";
// True when the edits use method l2m-gan; an Error when l2m-gan is mixed with latent-code methods.
bool is_l2mgan_edit(const std::vector<PhotoEdit>& edits);
// The shipped model (models/l2mgan-celebahq64.safetensors).
std::string default_l2mgan_model();

class L2MGanPhotoEditor {
 public:
  L2MGanPhotoEditor(std::vector<PhotoEdit> edits, PhotoParams params, torch::Device device);
  // The model alone (its file), for callers whose edits change per call (the browser editor):
  // set_edits() before edit().
  L2MGanPhotoEditor(std::string model_file, PhotoParams params, torch::Device device);
  ~L2MGanPhotoEditor();
  // Replaces the edits (checked as the constructor checks them; they must use this model's file).
  void set_edits(std::vector<PhotoEdit> edits);
  const models::L2MGan& model() const { return *model_; }
  const std::string& model_file() const { return model_file_; }
  models::FaceClassifier* guide() const { return guide_.get(); }  // params.guide (null: none)
  PhotoResult edit(const cv::Mat& photo, const std::string& name, const StageCallback& on_stage = {},
                   const std::filesystem::path& keep_intermediates = {});
  // What a batch's job.json records of the edits (model file, its config, strengths).
  nlohmann::json describe() const;

  // The steps of edit(), for callers that align faces themselves (a video's tracked frames):
  // the crop's quad in the model's framing (CelebA-HQ's, or params' zoom / shift) from an FFHQ quad;
  face::AlignmentQuad framed_quad(const face::AlignmentQuad& ffhq) const;
  // where the change lands in the aligned face (edit_mask with params' segmenter);
  cv::Mat mask(const face::AlignedFace& face) const;
  // the edits in sequence on the aligned crop, at the model's resolution: G's reconstruction and the
  // edited image ([1, 3, R, R]); `applied` receives each edit's signed strength (a flip is decided
  // by the guide on this face);
  std::pair<torch::Tensor, torch::Tensor> edit_crop(const cv::Mat& crop, std::vector<AppliedEdit>& applied) const;
  // the change (edited - reconstruction) added to the face's crop, blended through `mask`, and
  // given the photo the face came from, fused back into it.
  RenderedFace render_face(const face::AlignedFace& face, const cv::Mat& mask, const torch::Tensor& reconstruction,
                           const torch::Tensor& edited, const cv::Mat& photo = {}) const;

 private:
  void load();
  void check(const std::vector<PhotoEdit>& edits) const;
  std::vector<PhotoEdit> edits_;
  PhotoParams params_;
  torch::Device device_;
  std::string model_file_;
  std::unique_ptr<models::L2MGan> model_;
  std::shared_ptr<models::FaceClassifier> guide_;
  std::unique_ptr<models::PortraitSegmenter> segmenter_;
};

}  // namespace faceedit::pipeline
