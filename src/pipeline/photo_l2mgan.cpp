#include "faceedit/pipeline/photo_l2mgan.h"

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cmath>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/l2mgan.h"
#include "faceedit/face/fuse.h"
#include "faceedit/pipeline/invert.h"

namespace faceedit::pipeline {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CelebA-HQ's crops relative to FFHQ's alignment quad (celebahq-64 is "close to FFHQ's framing, a
// little tighter"): measured on celebahq-256-dev photos, whose frame is CelebA-HQ's own.
constexpr double kCelebaHqZoom = 0.9, kCelebaHqShift = 0.0;

}  // namespace

bool is_l2mgan_edit(const std::vector<PhotoEdit>& edits) {
  size_t n = 0;
  for (const auto& e : edits) n += e.editor.method == kL2MGanMethod;
  if (n > 0 && n < edits.size())
    fail("method l2m-gan", "edits the image itself; it cannot be mixed with latent-code methods in one photo edit");
  return n > 0;
}

std::string default_l2mgan_model() { return (models::bundled_models_dir() / "l2mgan-celebahq64.safetensors").string(); }

L2MGanPhotoEditor::L2MGanPhotoEditor(std::vector<PhotoEdit> edits, PhotoParams params, torch::Device device)
    : edits_(std::move(edits)), params_(std::move(params)), device_(device) {
  if (edits_.empty()) fail("photo", "no edit given");
  model_file_ = edits_.front().editor.editor_file.empty() ? default_l2mgan_model() : edits_.front().editor.editor_file;
  check(edits_);
  load();
  for (const auto& e : edits_) model_->attribute_index(e.editor.attribute);  // an Error listing the trained ones
}

L2MGanPhotoEditor::L2MGanPhotoEditor(std::string model_file, PhotoParams params, torch::Device device)
    : params_(std::move(params)), device_(device), model_file_(std::move(model_file)) {
  load();
}

void L2MGanPhotoEditor::check(const std::vector<PhotoEdit>& edits) const {
  for (const auto& e : edits) {
    const auto file = e.editor.editor_file.empty() ? default_l2mgan_model() : e.editor.editor_file;
    if (file != model_file_) fail("method l2m-gan", "all edits of a photo use one model file");
    if (!e.editor.boundary.empty() || !e.editor.conditions.empty())
      fail("method l2m-gan", "takes a model file (--editor), not boundaries or conditions");
    if (e.editor.attribute.empty()) fail("method l2m-gan", "needs attr (e.g. smiling)");
    if (!std::isfinite(e.strength) || std::abs(e.strength) > 10)
      fail("strength " + std::to_string(e.strength), "must be a finite number in [-10, 10] (sign: direction)");
  }
}

void L2MGanPhotoEditor::set_edits(std::vector<PhotoEdit> edits) {
  check(edits);
  for (const auto& e : edits) model_->attribute_index(e.editor.attribute);
  edits_ = std::move(edits);
}

void L2MGanPhotoEditor::load() {
  if (!fs::exists(model_file_))
    fail(model_file_, "no such L2M-GAN model (train one: faceedit train-l2mgan -o FILE, then --editor FILE)");
  model_ = models::L2MGan::load(model_file_);
  model_->to(device_);
  if (!params_.guide.empty() && params_.guide != "none") {
    guide_ = models::open_guide(params_.guide);
    guide_->to(device_);
  }
  if (params_.segmenter != "none") {
    segmenter_ = models::open_segmenter(params_.segmenter);
    segmenter_->to(device_);
  }
}

L2MGanPhotoEditor::~L2MGanPhotoEditor() = default;

nlohmann::json L2MGanPhotoEditor::describe() const {
  nlohmann::json edits = nlohmann::json::array();
  for (const auto& e : edits_)
    edits.push_back({{"method", kL2MGanMethod}, {"attribute", e.editor.attribute}, {"strength", e.strength}, {"flip", e.flip}});
  return {{"model", fs::path(model_file_).filename().string()}, {"config", model_->config().to_json()}, {"edits", edits}};
}

face::AlignmentQuad L2MGanPhotoEditor::framed_quad(const face::AlignmentQuad& ffhq) const {
  const double zoom = params_.zoom > 0 ? params_.zoom : kCelebaHqZoom, shift = params_.shift >= -0.5 ? params_.shift : kCelebaHqShift;
  return face::reframe_quad(ffhq, zoom, shift);
}

cv::Mat L2MGanPhotoEditor::mask(const face::AlignedFace& face) const { return edit_mask(face, segmenter_.get()); }

std::pair<torch::Tensor, torch::Tensor> L2MGanPhotoEditor::edit_crop(const cv::Mat& crop, std::vector<AppliedEdit>& applied) const {
  if (edits_.empty()) fail("method l2m-gan", "no edit given");
  torch::NoGradGuard no_grad;
  const int64_t res = model_->config().resolution;
  const auto input = models::resize_images(io::image_to_tensor(crop).to(device_), res, res).clamp(-1, 1);
  torch::Tensor current = input, reconstruction;
  for (const auto& e : edits_) {  // each edit encodes the previous one's image
    AppliedEdit a{kL2MGanMethod, e.editor.attribute, e.strength, {{"method", kL2MGanMethod}, {"model", model_file_}}, std::nullopt, ""};
    if (e.flip) {
      double p = 0.5;
      if (guide_) {
        auto [rec, unused] = model_->edit(current, e.editor.attribute, 0.0);
        p = guide_->predict(rec.clamp(-1, 1))[0][guide_->column(e.editor.attribute)].item<double>();
      }
      a.strength = (p > 0.5 ? -1.0 : 1.0) * std::abs(e.strength);
    }
    auto [rec, edited] = model_->edit(current, e.editor.attribute, a.strength);
    if (!reconstruction.defined()) reconstruction = rec;
    current = edited;
    applied.push_back(std::move(a));
  }
  return {reconstruction, current};
}

RenderedFace L2MGanPhotoEditor::render_face(const face::AlignedFace& face, const cv::Mat& mask, const torch::Tensor& reconstruction,
                                            const torch::Tensor& edited, const cv::Mat& photo) const {
  RenderedFace out;
  out.reconstruction = reconstruction;
  out.edited_image = edited;
  out.edited_crop = face::add_change(face.crop, reconstruction, edited, params_.replace);
  out.blended_crop = face::blend_crops(face.crop, out.edited_crop, mask);
  if (!photo.empty()) {
    face::FuseParams fp;
    fp.poisson = params_.poisson;
    out.photo = face::fuse(photo, face, out.edited_crop, mask, fp);
  }
  return out;
}

PhotoResult L2MGanPhotoEditor::edit(const cv::Mat& photo, const std::string& name, const StageCallback& on_stage,
                                    const fs::path& keep) {
  const auto t_start = Clock::now();
  auto stage = [&](const std::string& s, double seconds, nlohmann::json info = nlohmann::json::object()) {
    if (on_stage) on_stage({s, seconds, std::move(info)});
  };
  if (photo.empty()) fail(name, "is an empty image");
  if (edits_.empty()) fail("method l2m-gan", "no edit given");
  torch::NoGradGuard no_grad;
  PhotoResult out;
  const int crop = params_.crop;

  // 1. Align, frame as CelebA-HQ, mask.
  auto t0 = Clock::now();
  const auto ffhq = face::align_single_face(photo, crop, name);
  auto face = face::align_face(photo, framed_quad(ffhq.quad), crop);
  face.landmarks = ffhq.landmarks;
  const cv::Mat mask = this->mask(face);
  out.timings["align"] = seconds_since(t0);
  stage("align", out.timings["align"], {{"crop", crop}, {"mask_coverage", cv::mean(mask)[0]}});

  // 2. Encode and edit in sequence.
  t0 = Clock::now();
  std::tie(out.reconstruction, out.edited_image) = edit_crop(face.crop, out.edits);
  out.timings["edit"] = seconds_since(t0);
  nlohmann::json edit_info = nlohmann::json::array();
  for (const auto& a : out.edits) edit_info.push_back({{"attribute", a.attribute}, {"method", a.method}, {"strength", a.strength}});
  stage("edit", out.timings["edit"], {{"edits", edit_info}});

  // 3. Fuse the change into the photo's own crop.
  t0 = Clock::now();
  auto rendered = render_face(face, mask, out.reconstruction, out.edited_image, photo);
  out.ffhq = ffhq;
  out.face = face;
  out.edited_crop = rendered.edited_crop;
  out.blended_crop = rendered.blended_crop;
  out.photo = rendered.photo;
  out.timings["fusion"] = seconds_since(t0);
  stage("fusion", out.timings["fusion"]);

  if (!keep.empty()) {
    fs::create_directories(keep);
    auto big = [&](const torch::Tensor& t) {
      cv::Mat img = io::tensor_to_image(t[0].clamp(-1, 1).cpu()), up;
      cv::resize(img, up, cv::Size(crop, crop), 0, 0, cv::INTER_NEAREST);
      return up;
    };
    io::write_image((keep / "aligned.png").string(), face.crop);
    io::write_image((keep / "reconstruction.png").string(), big(out.reconstruction));
    io::write_image((keep / "edited_generator.png").string(), big(out.edited_image));
    io::write_image((keep / "edited_crop.png").string(), out.edited_crop);
    cv::Mat mask8, before_after;
    mask.convertTo(mask8, CV_8U, 255.0);
    io::write_image((keep / "mask.png").string(), mask8);
    cv::hconcat(photo, out.photo, before_after);
    io::write_image((keep / "before_after.jpg").string(), before_after);
  }
  out.timings["total"] = seconds_since(t_start);
  return out;
}

}  // namespace faceedit::pipeline
