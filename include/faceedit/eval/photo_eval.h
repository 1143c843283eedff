// faceedit — edit a set of photos with the photo pipeline and judge the results in-process: the
// edited photos never go through a JPEG, so background change measures the edit, not compression.
//
//   eval::PhotoEvalParams p;  p.edits = {smile};  p.photo.cache_dir = cache_dir() / "photos";
//   auto judges = models::open_judge_panel();
//   auto r = eval::evaluate_photo_edits(paths, g, "dcgan-celeba32", judges, p, on_photo);
//   std::cout << r.json.dump();   // the format of `faceedit evaluate-images` (a `faceedit report` input)
//
// Each photo and its edited result are compared on the photo's FFHQ crop (as `evaluate-images
// --align`). Photos the pipeline refuses (no face, several faces) are listed under "failed" with
// the reason and left out of the metrics.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/eval/edit_metrics.h"
#include "faceedit/pipeline/photo.h"

namespace faceedit::eval {

struct PhotoEvalParams {
  std::vector<pipeline::PhotoEdit> edits;  // applied to every photo (flip: per photo)
  pipeline::PhotoParams photo;
  std::string target;      // judged attribute (default: the first edit's attribute)
  std::string label;       // the method's name in the report (default: the first edit's method)
  int size = 256;          // judged at this size
  int direction = 0;       // 0: flip, +1: raise, -1: lower (as evaluate-images --direction)
};

// on_photo(index, path, result or nullptr when it failed, error message).
using PhotoCallback = std::function<void(size_t, const std::string&, const pipeline::PhotoResult*, const std::string&)>;

struct PhotoEvalResult {
  nlohmann::json json;  // the format of `faceedit evaluate-images` (+ "failed", "strengths", "mean_timings")
  cv::Mat grid;         // before/after pairs of the first 8 photos, 4 pairs a row
};
// The one builder of the evaluate-images report: judged before/after pairs (NCHW in [-1, 1], one
// size) with the method's label, the judged attribute, the strength used (the report's x axis) and
// the direction (0 flip, +1 raise, -1 lower).
struct PairsReport {
  std::string label, attribute;
  double strength = 1.0;
  int direction = 0;
};
nlohmann::json judge_pairs(const torch::Tensor& before, const torch::Tensor& after, models::JudgePanel& judges, const PairsReport& report);

// `faceedit evaluate-images`: pairs of image files edited by any means, judged at `size`; with
// `align` they are photos: the original's face is aligned (FFHQ crop) and its edited photo cropped
// the same way (the two must have one size). The JSON lists originals and edited files.
struct ImagePairsParams {
  PairsReport report;
  int size = 256;
  bool align = false;
};
PhotoEvalResult evaluate_image_pairs(const std::vector<std::string>& originals, const std::vector<std::string>& edited,
                                     models::JudgePanel& judges, const ImagePairsParams& params);

PhotoEvalResult evaluate_photo_edits(const std::vector<std::string>& photos, std::shared_ptr<models::Generator> g,
                                    const std::string& model_name, models::JudgePanel& judges, const PhotoEvalParams& params,
                                    const PhotoCallback& on_photo = {});

}  // namespace faceedit::eval
