#include "faceedit/face/analyze.h"

#include "faceedit/io/image.h"

namespace faceedit::face {

namespace {

// The judges' verdicts on one aligned crop, added to `j`.
void judge_crop(const cv::Mat& crop, models::JudgePanel& judges, const AnalyzeOptions& options, nlohmann::json& j) {
  torch::NoGradGuard no_grad;
  auto x = io::image_to_tensor(crop);
  j["attributes"] = nlohmann::json::object();
  if (judges.attributes) {
    auto p = judges.attributes->predict(x)[0];
    const auto& cols = judges.attributes->columns();
    for (size_t i = 0; i < cols.size(); ++i) {
      const double v = p[static_cast<int64_t>(i)].item<double>();
      if (cols[i].kind == models::ColumnKind::Probability) j["attributes"][cols[i].name] = v;
      else if (cols[i].kind == models::ColumnKind::Years) j["age"] = v;
      else j[cols[i].name] = v;
    }
  }
  if (judges.identity && options.with_embedding) {
    auto e = judges.identity->embed(x)[0].contiguous();
    j["embedding"] = std::vector<float>(e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
  }
  if (judges.segmenter) j["mask_coverage"] = judges.segmenter->segment(x).mean().item<double>();
}

}  // namespace

nlohmann::json analyze_faces(const cv::Mat& photo, const FaceDetector& detector, models::JudgePanel& judges,
                             const AnalyzeOptions& options) {
  nlohmann::json faces = nlohmann::json::array();
  for (const auto& face : detector.detect(photo)) {
    auto aligned = align_face(photo, ffhq_quad(face.landmarks), options.crop_size);
    nlohmann::json j;
    j["box"] = {face.box.x, face.box.y, face.box.width, face.box.height};
    j["landmarks"] = nlohmann::json::array();
    for (const auto& p : face.landmarks) j["landmarks"].push_back({p.x, p.y});
    judge_crop(aligned.crop, judges, options, j);
    faces.push_back(j);
  }
  return faces;
}

nlohmann::json analyze_aligned_face(const cv::Mat& crop, models::JudgePanel& judges, const AnalyzeOptions& options) {
  nlohmann::json j;
  j["box"] = {0, 0, crop.cols, crop.rows};
  judge_crop(crop, judges, options, j);
  return j;
}

}  // namespace faceedit::face
