#include "faceedit/train/face_datasets.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <iostream>
#include <regex>

#include "faceedit/error.h"
#include "faceedit/io/tar.h"
#include "faceedit/runtime.h"

namespace faceedit::train {

namespace fs = std::filesystem;

const std::vector<std::string> kAgeGroups = {"0-17", "18-29", "30-44", "45-59", "60+"};

int64_t age_group(int age) {
  if (age < 18) return 0;
  if (age < 30) return 1;
  if (age < 45) return 2;
  if (age < 60) return 3;
  return 4;
}

namespace {

struct Collector {
  std::vector<cv::Mat> images;
  std::map<std::string, std::vector<int64_t>> labels;
  std::vector<std::string> files;
  int64_t skipped = 0;
  std::string archive;

  void add(const std::string& name, std::string_view bytes, std::map<std::string, int64_t> label) {
    cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    cv::Mat bgr = cv::imdecode(raw, cv::IMREAD_COLOR);
    if (bgr.empty()) {
      std::cerr << "warning: " << archive << ": " << name << " is not a decodable image; skipped\n";
      ++skipped;
      return;
    }
    if (!images.empty() && bgr.size() != images.front().size()) cv::resize(bgr, bgr, images.front().size(), 0, 0, cv::INTER_AREA);
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    images.push_back(rgb);
    files.push_back(name);
    for (auto& [k, v] : label) labels[k].push_back(v);
  }

  LabelledFaces finish(const std::string& set_name) {
    if (images.empty()) fail(archive, "contains no usable labelled images");
    LabelledFaces out;
    out.name = set_name;
    const int h = images.front().rows, w = images.front().cols;
    out.images = torch::empty({static_cast<int64_t>(images.size()), h, w, 3}, torch::kUInt8);
    for (size_t i = 0; i < images.size(); ++i)
      std::memcpy(out.images[static_cast<int64_t>(i)].data_ptr(), images[i].data, static_cast<size_t>(h) * w * 3);
    out.images = out.images.permute({0, 3, 1, 2}).contiguous();
    for (auto& [k, v] : labels) out.labels[k] = torch::tensor(v, torch::kLong);
    out.files = std::move(files);
    if (skipped > 0) std::cerr << "warning: " << archive << ": skipped " << skipped << " malformed entries\n";
    return out;
  }
};

LabelledFaces read_utkface(const std::string& path) {
  Collector c;
  c.archive = path;
  static const std::regex name_re(R"((?:^|/)(\d+)_([01])_([0-4])_\d+\.jpg\.chip\.jpg$)");
  io::for_each_tar_file(path, [&](const std::string& name, std::string_view bytes) {
    std::smatch m;
    if (!std::regex_search(name, m, name_re)) {
      std::cerr << "warning: " << path << ": skipping '" << name << "' (name is not age_gender_race_date)\n";
      ++c.skipped;
      return;
    }
    const int age = std::stoi(m[1]);
    // UTKFace: gender 0 = male, 1 = female.
    c.add(name, bytes, {{"male", m[2] == "0" ? 1 : 0}, {"age", age_group(age)}});
  });
  return c.finish("utkface");
}

LabelledFaces read_smiles(const std::string& path) {
  Collector c;
  c.archive = path;
  io::for_each_tar_file(path, [&](const std::string& name, std::string_view bytes) {
    const bool pos = name.find("/positives/") != std::string::npos;
    const bool neg = name.find("/negatives/") != std::string::npos;
    if (pos == neg) {
      std::cerr << "warning: " << path << ": skipping '" << name << "' (not under positives/ or negatives/)\n";
      ++c.skipped;
      return;
    }
    c.add(name, bytes, {{"smiling", pos ? 1 : 0}});
  });
  return c.finish("smiles");
}

torch::Tensor permutation(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randperm(n, gen, torch::kLong);
}

}  // namespace

LabelledFaces LabelledFaces::subset(const torch::Tensor& indices) const {
  LabelledFaces out;
  out.name = name;
  out.images = images.index_select(0, indices);
  for (const auto& [k, v] : labels) out.labels[k] = v.index_select(0, indices);
  auto acc = indices.accessor<int64_t, 1>();
  for (int64_t i = 0; i < indices.size(0); ++i) out.files.push_back(files[static_cast<size_t>(acc[i])]);
  return out;
}

LabelledFaces load_labelled_faces(const std::string& spec, int64_t limit, uint64_t seed) {
  std::string path = spec, kind;
  if (spec == "utkface") path = (shared_root() / "data/utkface-64.tar").string();
  if (spec == "smiles") path = (shared_root() / "data/smiles-64.tar").string();
  const std::string file = fs::path(path).filename().string();
  if (file.find("utk") != std::string::npos || file.find("UTK") != std::string::npos) kind = "utkface";
  else if (file.find("smile") != std::string::npos || file.find("SMILE") != std::string::npos) kind = "smiles";
  else fail(spec, "unknown labelled face set (use utkface, smiles, or a path to utkface-64.tar / smiles-64.tar)");
  if (!fs::exists(path))
    fail(path, "labelled face archive not found (" + kind + ": from faceedit's shared data, data/" + kind +
                   "-64.tar; set FACEEDIT_SHARED to its root)");
  LabelledFaces all = kind == "utkface" ? read_utkface(path) : read_smiles(path);
  if (limit > 0 && limit < all.size()) all = all.subset(permutation(all.size(), seed ^ 0x5eed).narrow(0, 0, limit));
  return all;
}

std::pair<LabelledFaces, LabelledFaces> split_holdout(const LabelledFaces& all, double holdout, uint64_t seed) {
  if (!(holdout > 0 && holdout < 1)) fail("holdout fraction " + std::to_string(holdout), "must be in (0, 1)");
  const int64_t n = all.size();
  const int64_t n_hold = std::max<int64_t>(1, static_cast<int64_t>(n * holdout));
  if (n - n_hold < 1) fail(all.name, "too few images (" + std::to_string(n) + ") to hold some out");
  auto perm = permutation(n, seed);
  return {all.subset(perm.narrow(0, 0, n - n_hold)), all.subset(perm.narrow(0, n - n_hold, n_hold))};
}

torch::Tensor to_model_range(const torch::Tensor& uint8_images) {
  return uint8_images.to(torch::kFloat).div(127.5).sub(1.0);
}

}  // namespace faceedit::train
