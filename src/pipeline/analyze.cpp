#include "faceedit/pipeline/analyze.h"

#include "faceedit/io/image.h"

namespace faceedit::pipeline {

nlohmann::json analyze_faces(const cv::Mat& photo, const FaceDetector& detector, models::JudgePanel& judges,
                             const AnalyzeOptions& options) {
  nlohmann::json faces = nlohmann::json::array();
  torch::NoGradGuard no_grad;
  for (const auto& face : detector.detect(photo)) {
    auto aligned = align_face(photo, ffhq_quad(face.landmarks), options.crop_size);
    auto x = io::image_to_tensor(aligned.crop);
    nlohmann::json j;
    j["box"] = {face.box.x, face.box.y, face.box.width, face.box.height};
    j["landmarks"] = nlohmann::json::array();
    for (const auto& p : face.landmarks) j["landmarks"].push_back({p.x, p.y});
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
    faces.push_back(j);
  }
  return faces;
}

}  // namespace faceedit::pipeline
