#include "faceedit/eval/gan_quality.h"

#include <algorithm>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/judges.h"
#include "faceedit/face/align.h"
#include "faceedit/progress.h"

namespace faceedit::eval {

namespace F = torch::nn::functional;

double polynomial_mmd(const torch::Tensor& x_in, const torch::Tensor& y_in) {
  const auto x = x_in.to(torch::kFloat64), y = y_in.to(torch::kFloat64);
  const int64_t m = x.size(0);
  if (m < 2 || y.size(0) != m || x.size(1) != y.size(1)) fail("KID", "needs two feature sets of the same size >= 2 and dimension");
  const double d = static_cast<double>(x.size(1));
  auto k = [&](const torch::Tensor& a, const torch::Tensor& b) { return (a.matmul(b.t()) / d + 1.0).pow(3); };
  const auto kxx = k(x, x), kyy = k(y, y), kxy = k(x, y);
  const double md = static_cast<double>(m);
  const double off_xx = (kxx.sum() - kxx.diagonal().sum()).item<double>();
  const double off_yy = (kyy.sum() - kyy.diagonal().sum()).item<double>();
  return (off_xx + off_yy) / (md * (md - 1)) - 2.0 * kxy.sum().item<double>() / (md * md);
}

KidResult kernel_inception_distance(const torch::Tensor& a, const torch::Tensor& b, int64_t subsets, int64_t subset_size,
                                    uint64_t seed) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(1)) fail("KID", "features must be [N, D] and [M, D] with the same D");
  if (subsets < 1) fail("KID", "needs at least one subset");
  KidResult r;
  r.subsets = subsets;
  r.subset_size = std::min({subset_size, a.size(0), b.size(0)});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<double> values;
  for (int64_t s = 0; s < subsets; ++s) {
    const auto ia = torch::randperm(a.size(0), gen, torch::kInt64).narrow(0, 0, r.subset_size);
    const auto ib = torch::randperm(b.size(0), gen, torch::kInt64).narrow(0, 0, r.subset_size);
    values.push_back(polynomial_mmd(a.index_select(0, ia), b.index_select(0, ib)));
  }
  const auto v = torch::tensor(values, torch::kFloat64);
  r.mean = v.mean().item<double>();
  r.stddev = subsets > 1 ? v.std().item<double>() : 0.0;
  return r;
}

torch::Tensor generator_samples(const models::Generator& g, const GanQualityParams& p) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0, block = 0; i < p.samples; i += p.batch, ++block) {
    const int64_t n = std::min(p.batch, p.samples - i);
    auto z = g.sample_z(n, p.seed * 1000000 + static_cast<uint64_t>(block));
    out.push_back(g.generate(z, models::LatentSpace::Z, p.truncation).cpu());
  }
  return torch::cat(out);
}

torch::Tensor real_subset(const torch::Tensor& images, int64_t resolution, const GanQualityParams& p) {
  if (images.size(0) < p.samples)
    fail("real images", std::to_string(images.size(0)) + " are fewer than the " + std::to_string(p.samples) + " asked for");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(p.seed + 12345);
  const auto idx = torch::randperm(images.size(0), gen, torch::kInt64).narrow(0, 0, p.samples);
  auto x = images.index_select(0, idx).to(torch::kFloat32) / 127.5 - 1.0;
  const int64_t h = x.size(2);
  if (h > resolution) {
    if (h % resolution) fail("real images", "of " + std::to_string(h) + " px cannot be box-downsampled to " + std::to_string(resolution));
    x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(h / resolution));
  }
  return x;
}

ImageSetFeatures image_set_features(const torch::Tensor& images, const GanQualityParams& p, const std::string& label) {
  ImageSetFeatures f;
  auto embedder = models::open_embedder(p.embedder);
  auto classifier = models::open_classifier(p.classifier);
  for (const auto& c : classifier->columns()) f.attribute_names.push_back(c.name);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> emb, attr;
  const int64_t n = images.size(0);
  Progress progress(label + ": judging", n, "images", p.progress);
  for (int64_t i = 0; i < n; i += p.batch) {
    const auto x = images.narrow(0, i, std::min(p.batch, n - i));
    emb.push_back(embedder->embed(x).cpu());
    attr.push_back(classifier->predict(x).cpu());
    progress.update(i + x.size(0));
  }
  progress.finish();
  f.embeddings = torch::cat(emb);
  f.attributes = torch::cat(attr);
  // dlib's HOG window is 80 px: each face is upscaled to 256 px and searched once at that scale.
  face::FaceDetectorOptions options;
  options.detect_pixels = 256 * 256;
  options.max_upsample = 1.0;
  options.scale_passes = 1;
  const face::FaceDetector detector(options);
  f.detected_of = std::min(p.detect_samples, n);
  int64_t found = 0;
  Progress detecting(label + ": detecting faces", f.detected_of, "images", p.progress);
  for (int64_t i = 0; i < f.detected_of; ++i) {
    cv::Mat img = io::tensor_to_image(images[i]), big;
    cv::resize(img, big, cv::Size(256, 256), 0, 0, cv::INTER_CUBIC);
    if (!detector.detect(big).empty()) ++found;
    detecting.update(i + 1);
  }
  detecting.finish();
  f.detection_rate = f.detected_of ? static_cast<double>(found) / static_cast<double>(f.detected_of) : 0.0;
  return f;
}

nlohmann::json compare_image_sets(const ImageSetFeatures& s, const ImageSetFeatures& r, const GanQualityParams& p) {
  // The embeddings are unit length: scaled by sqrt(D), x.y / D in the kernel is their cosine, so
  // k = (cos + 1)^3 spans [0, 8] instead of staying near 1 (where KID would see only the means).
  const double scale = std::sqrt(static_cast<double>(s.embeddings.size(1)));
  const auto kid = kernel_inception_distance(s.embeddings * scale, r.embeddings * scale, 100, 1000, p.seed);
  nlohmann::json out;
  out["kid"] = {{"mean", kid.mean}, {"std", kid.stddev}, {"subsets", kid.subsets}, {"subset_size", kid.subset_size},
                {"features", p.embedder}};
  out["detection_rate"] = {{"samples", s.detection_rate}, {"reals", r.detection_rate}, {"checked", s.detected_of}};
  const auto ms = s.attributes.mean(0), mr = r.attributes.mean(0);
  nlohmann::json attrs;
  for (size_t k = 0; k < s.attribute_names.size(); ++k)
    attrs[s.attribute_names[k]] = {{"samples", ms[k].item<double>()}, {"reals", mr[k].item<double>()}};
  out["attributes"] = attrs;
  out["attribute_mean_abs_diff"] = (ms - mr).abs().mean().item<double>();
  out["classifier"] = p.classifier;
  return out;
}

}  // namespace faceedit::eval

#include <sstream>

#include "faceedit/eval/html_report.h"
#include "faceedit/io/atomic_file.h"

namespace faceedit::eval {

namespace {
std::string fixed(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
}  // namespace

void write_gan_quality_report(const std::string& path, const std::vector<GanQualityEntry>& entries, const cv::Mat& real_grid) {
  // Models with a kimg (train-gan snapshots) make the curve; the others (e.g. the DCGAN) are drawn
  // as flat reference lines across it, like the reals. Without any kimg the x axis is the order.
  std::vector<double> x, kid, det;
  std::vector<PlotSeries> kid_series, det_series;
  bool any_kimg = false;
  for (const auto& e : entries) any_kimg = any_kimg || e.result.contains("kimg");
  double kid_max = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& r = entries[i].result;
    kid_max = std::max(kid_max, r["kid"]["mean"].get<double>());
    if (any_kimg && !r.contains("kimg")) continue;
    x.push_back(any_kimg ? r["kimg"].get<double>() : static_cast<double>(i));
    kid.push_back(r["kid"]["mean"].get<double>());
    det.push_back(r["detection_rate"]["samples"].get<double>());
  }
  kid_series.push_back({any_kimg ? "train-gan snapshots" : "models", x, kid});
  det_series.push_back({any_kimg ? "train-gan snapshots" : "models", x, det});
  const double x0 = x.empty() ? 0.0 : *std::min_element(x.begin(), x.end());
  const double x1 = x.empty() ? 1.0 : *std::max_element(x.begin(), x.end());
  for (const auto& e : entries) {
    const auto& r = e.result;
    if (!any_kimg || r.contains("kimg")) continue;
    const std::string name = r.value("model", "model");
    kid_series.push_back({name, {x0, x1}, {r["kid"]["mean"].get<double>(), r["kid"]["mean"].get<double>()}});
    det_series.push_back({name, {x0, x1}, {r["detection_rate"]["samples"].get<double>(), r["detection_rate"]["samples"].get<double>()}});
  }
  const double real_det = entries.empty() ? 0.0 : entries[0].result["detection_rate"]["reals"].get<double>();
  det_series.push_back({"reals", {x0, x1}, {real_det, real_det}});
  std::ostringstream h;
  h << "<!doctype html><html><head><meta charset='utf-8'><title>faceedit: generator quality</title><style>"
       "body{font-family:sans-serif;margin:20px}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
       "padding:3px 8px;text-align:right}img{image-rendering:pixelated;max-width:100%}</style></head><body>"
       "<h1>Generator quality against real CelebA-HQ faces</h1><p>KID in the identity judge's embedding space "
       "(lower is better; 0 = the reals' distribution), the face-detection rate, and the guide's attribute "
       "distribution. Reals are compared at each model's resolution.</p>";
  const std::string xl = any_kimg ? "kimg (thousands of real images shown)" : "model";
  h << svg_line_plot("KID", xl, "KID", kid_series, 0.0, std::max(1e-6, kid_max * 1.1));
  h << svg_line_plot("face-detection rate", xl, "rate", det_series, 0.0, 1.0);
  h << "<table><tr><th>model</th><th>kimg</th><th>KID</th><th>&plusmn;</th><th>faces detected</th>"
       "<th>attribute |&Delta;| (mean of 40)</th></tr>";
  for (const auto& e : entries) {
    const auto& r = e.result;
    h << "<tr><td style='text-align:left'>" << html_escape(r.value("model", "")) << "</td><td>"
      << (r.contains("kimg") ? fixed(r["kimg"].get<double>(), 1) : "") << "</td><td>" << fixed(r["kid"]["mean"].get<double>())
      << "</td><td>" << fixed(r["kid"]["std"].get<double>()) << "</td><td>" << fixed(r["detection_rate"]["samples"].get<double>())
      << "</td><td>" << fixed(r["attribute_mean_abs_diff"].get<double>()) << "</td></tr>";
  }
  h << "</table><p>Reals: faces detected in " << fixed(real_det) << ".</p>";
  if (!entries.empty()) {
    const auto& last = entries.back().result;
    h << "<h2>Attributes (guide's mean probability), last model vs reals</h2><table><tr><th>attribute</th>"
         "<th>samples</th><th>reals</th></tr>";
    for (auto& [name, v] : last["attributes"].items())
      h << "<tr><td style='text-align:left'>" << html_escape(name) << "</td><td>" << fixed(v["samples"].get<double>())
        << "</td><td>" << fixed(v["reals"].get<double>()) << "</td></tr>";
    h << "</table>";
  }
  h << "<h2>Samples</h2>";
  for (const auto& e : entries)
    h << "<h3>" << html_escape(e.result.value("model", "")) << "</h3><img src='" << png_data_uri(e.grid) << "'>";
  h << "<h3>reals</h3><img src='" << png_data_uri(real_grid) << "'></body></html>";
  const std::string text = h.str();
  io::write_file_atomic(path, text.data(), text.size());
}

}  // namespace faceedit::eval
