// faceedit — how good a face generator is, with nothing downloaded: its samples against real
// CelebA-HQ faces, in three measures (issue 19; for our trained StyleGAN2 and, for scale, the DCGAN):
//   - KID (kernel inception distance, Binkowski et al. 2018) in the identity judge's embedding
//     space instead of Inception's (faceres-descriptor, models/judges.h): the unbiased MMD^2 with
//     the cubic kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets as clean-fid and
//     torch-fidelity compute it, on the unit embeddings times sqrt(d) (so x.y / d is the cosine).
//     0 for the same distribution; lower is better.
//   - The face-detection rate: the fraction of images in which dlib's HOG detector finds a face
//     (each upscaled to 256 px first, since HOG's window is 80 px), for samples and for reals.
//   - The judged attribute distribution: the guide's (celebahq) mean probability of each of the
//     40 CelebA attributes on samples and on reals, and the mean absolute difference.
// Reals are compared at the generator's resolution (box-downsampled), so a 32-px model is not
// charged for the detail it cannot have.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>

#include "faceedit/models/generator.h"

namespace faceedit::eval {

struct KidResult {
  double mean = 0, stddev = 0;  // over subsets
  int64_t subsets = 0, subset_size = 0;
};

// KID between feature sets a [N, D] and b [M, D]: `subsets` draws (seed-fixed) of
// min(subset_size, N, M) rows from each, the unbiased MMD^2 of each draw, their mean and std.
KidResult kernel_inception_distance(const torch::Tensor& a, const torch::Tensor& b, int64_t subsets = 100,
                                    int64_t subset_size = 1000, uint64_t seed = 0);
// The unbiased MMD^2 estimate itself on two sets of equal size m >= 2 (double precision):
// [sum_{i!=j} k(x_i,x_j) + sum_{i!=j} k(y_i,y_j)] / (m(m-1)) - 2 sum_{i,j} k(x_i,y_j) / m^2.
double polynomial_mmd(const torch::Tensor& x, const torch::Tensor& y);

struct GanQualityParams {
  int64_t samples = 5000;          // generated and real images each
  int64_t detect_samples = 1000;   // of those, how many the face detector checks (it is slow)
  double truncation = 1.0;
  uint64_t seed = 0;               // latents from numpy seeds seed*1e6 + block; the real subset's draw
  int64_t batch = 100;
  std::string embedder = "faceres-descriptor";
  std::string classifier = "celebahq";
  bool progress = true;
};

// The features of one image set: everything the measures need, so reals are computed once.
struct ImageSetFeatures {
  torch::Tensor embeddings;   // [N, D]
  torch::Tensor attributes;   // [N, 40] guide probabilities
  double detection_rate = 0;  // over the first detect_samples images
  int64_t detected_of = 0;
  std::vector<std::string> attribute_names;
};

// images: float [N, C, H, W] in [-1, 1] (any resolution; the judges resize).
ImageSetFeatures image_set_features(const torch::Tensor& images, const GanQualityParams& p, const std::string& label);
// `samples` images of a generator (z from numpy seeds, psi = truncation, const noise), CPU float.
torch::Tensor generator_samples(const models::Generator& g, const GanQualityParams& p);
// uint8 reals [N, C, H, W] -> a seed-fixed subset of `samples`, box-downsampled to `resolution`, in [-1, 1].
torch::Tensor real_subset(const torch::Tensor& uint8_images, int64_t resolution, const GanQualityParams& p);

// The report comparing two feature sets: {"kid": {mean, std, ...}, "detection_rate": {samples, reals},
// "attributes": {name: {samples, reals}}, "attribute_mean_abs_diff": x}.
nlohmann::json compare_image_sets(const ImageSetFeatures& samples, const ImageSetFeatures& reals, const GanQualityParams& p);

}  // namespace faceedit::eval

namespace faceedit::eval {

// One model's entry for the HTML report: its compare_image_sets() JSON plus "model", "kimg" (when
// known, the x axis of the plots) and a grid of its samples.
struct GanQualityEntry {
  nlohmann::json result;
  cv::Mat grid;
};
// KID and detection rate against kimg (or the models' order), the attribute table, the grids; atomic.
void write_gan_quality_report(const std::string& path, const std::vector<GanQualityEntry>& entries,
                              const cv::Mat& real_grid);

}  // namespace faceedit::eval
