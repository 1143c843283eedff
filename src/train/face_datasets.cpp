#include "faceedit/train/face_datasets.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <iostream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/progress.h"
#include "faceedit/io/tar.h"
#include "faceedit/runtime.h"

namespace faceedit::train {

namespace fs = std::filesystem;

const std::vector<std::string> kAgeGroups = {"0-17", "18-29", "30-44", "45-59", "60+"};

const std::vector<std::string> kCelebaAttributes = {
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips", "Big_Nose",
    "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses",
    "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache",
    "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks",
    "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick",
    "Wearing_Necklace", "Wearing_Necktie", "Young"};

std::string celeba_column(const std::string& celeba_name) {
  std::string s = celeba_name;
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::vector<std::string> celeba_columns() {
  std::vector<std::string> out;
  for (const auto& n : kCelebaAttributes) out.push_back(celeba_column(n));
  return out;
}

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
    cv::Mat bgr;
    io::ImageLimits limits;
    limits.min_side = 1;  // faces as small as a dataset keeps them; the pixel limit refuses hostile members
    try {
      bgr = io::decode_image(std::vector<unsigned char>(bytes.begin(), bytes.end()), archive + ": " + name, limits);
    } catch (const Error& e) {
      log_line(log_text("warning: ", e.what(), "; skipped"));
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
    if (skipped > 0) log_line(log_text("warning: ", archive, ": skipped ", skipped, " malformed entries"));
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
      log_line(log_text("warning: ", path, ": skipping '", name, "' (name is not age_gender_race_date)"));
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
      log_line(log_text("warning: ", path, ": skipping '", name, "' (not under positives/ or negatives/)"));
      ++c.skipped;
      return;
    }
    c.add(name, bytes, {{"smiling", pos ? 1 : 0}});
  });
  return c.finish("smiles");
}

// CelebA-HQ archives (celebahq-64.tar, celebahq-256-dev.tar): `<dir>/<id>.jpg` members and
// `<dir>/attributes.txt` in CelebAMask-HQ's format (a count line, the 40 names, `<id>.jpg v1..v40`
// with 1 / -1). Members may come in any order, so images are held until the labels are read.
// `keep(id)` selects the ids of one half (see celebahq_half()).
LabelledFaces read_celebahq(const std::string& path, const std::string& set_name, const std::function<bool(int64_t)>& keep) {
  std::map<std::string, std::string> jpegs;  // file name (no directory) -> bytes
  std::string attributes, attributes_member;
  int64_t other = 0;
  io::for_each_tar_file(path, [&](const std::string& name, std::string_view bytes) {
    const std::string base = fs::path(name).filename().string();
    if (base == "attributes.txt") {
      attributes.assign(bytes);
      attributes_member = name;
    } else if (fs::path(base).extension() == ".jpg") {
      jpegs.emplace(base, std::string(bytes));
    } else {
      ++other;
    }
  });
  if (attributes_member.empty()) fail(path, "has no attributes.txt member (CelebAMask-HQ's attribute list)");
  const std::string where = path + ": " + attributes_member;
  std::istringstream in(attributes);
  std::string line;
  int64_t line_no = 0;
  auto next_line = [&]() -> bool {
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") != std::string::npos) return true;
    }
    return false;
  };
  if (!next_line()) fail(where, "is empty");
  int64_t declared = -1;
  try {
    declared = std::stoll(line);
  } catch (const std::exception&) {
    fail(where + " line 1", "expected the image count, found '" + line.substr(0, 60) + "'");
  }
  if (!next_line()) fail(where, "has no attribute-name line");
  std::vector<std::string> names;
  {
    std::istringstream hs(line);
    for (std::string n; hs >> n;) names.push_back(n);
  }
  if (names != kCelebaAttributes) {
    for (size_t i = 0; i < names.size(); ++i)
      if (i >= kCelebaAttributes.size() || names[i] != kCelebaAttributes[i])
        fail(where + " line " + std::to_string(line_no),
             "attribute " + std::to_string(i + 1) + " is '" + names[i] + "', expected '" +
                 (i < kCelebaAttributes.size() ? kCelebaAttributes[i] : std::string("(none: CelebA has 40)")) + "'");
    fail(where + " line " + std::to_string(line_no),
         "names " + std::to_string(names.size()) + " attributes, CelebA has " + std::to_string(kCelebaAttributes.size()));
  }
  Collector c;
  c.archive = path;
  int64_t rows = 0, missing = 0;
  std::set<std::string> listed;
  while (next_line()) {
    std::istringstream ls(line);
    std::string file;
    ls >> file;
    std::vector<int64_t> values;
    for (std::string v; ls >> v;) {
      if (v != "1" && v != "-1")
        fail(where + " line " + std::to_string(line_no), "value '" + v + "' for " + file + " is not 1 or -1");
      values.push_back(v == "1" ? 1 : 0);
    }
    if (values.size() != names.size())
      fail(where + " line " + std::to_string(line_no), file + " has " + std::to_string(values.size()) +
                                                           " values, the header names " + std::to_string(names.size()));
    ++rows;
    if (!listed.insert(file).second) fail(where + " line " + std::to_string(line_no), file + " is listed twice");
    int64_t id = -1;
    try {
      id = std::stoll(fs::path(file).stem().string());
    } catch (const std::exception&) {
      fail(where + " line " + std::to_string(line_no), "'" + file + "' is not <id>.jpg");
    }
    if (!keep(id)) continue;
    auto it = jpegs.find(file);
    if (it == jpegs.end()) {
      log_line(log_text("warning: ", where, " line ", line_no, ": ", file, " is listed but not in the archive; skipped"));
      ++missing;
      continue;
    }
    std::map<std::string, int64_t> label;
    for (size_t i = 0; i < names.size(); ++i) label[celeba_column(names[i])] = values[i];
    c.add(it->first, it->second, std::move(label));
  }
  if (declared != rows)
    log_line(log_text("warning: ", where, ": the count line says ", declared, " images, ", rows, " are listed"));
  int64_t unlisted = 0;
  for (const auto& [file, _] : jpegs)
    if (!listed.count(file)) ++unlisted;
  if (unlisted > 0) log_line(log_text("warning: ", path, ": ", unlisted, " images have no attributes line; skipped"));
  if (missing > 0) log_line(log_text("warning: ", path, ": ", missing, " listed images are missing; skipped"));
  if (other > 0) log_line(log_text("warning: ", path, ": ignored ", other, " members that are neither .jpg nor attributes.txt"));
  return c.finish(set_name);
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

bool celebahq_half(const std::string& set_name, int64_t id) {
  if (set_name == "celebahq") return id % 2 == 0;
  if (set_name == "celebahq-judge") return id % 2 != 0;
  return true;
}

LabelledFaces load_labelled_faces(const std::string& spec, int64_t limit, uint64_t seed) {
  std::string path = spec, kind;
  const std::map<std::string, std::string> named = {{"utkface", "data/utkface-64.tar"},
                                                    {"smiles", "data/smiles-64.tar"},
                                                    {"celebahq", "data/celebahq-64.tar"},
                                                    {"celebahq-judge", "data/celebahq-64.tar"},
                                                    {"celebahq-dev", "data/celebahq-256-dev.tar"}};
  if (named.count(spec)) path = (shared_root() / named.at(spec)).string();
  const std::string file = fs::path(path).filename().string();
  auto has = [&](const char* s) { return file.find(s) != std::string::npos; };
  if (has("utk") || has("UTK")) kind = "utkface";
  else if (has("smile") || has("SMILE")) kind = "smiles";
  else if (has("celebahq") || has("CelebA")) kind = named.count(spec) ? spec : "celebahq-all";
  else fail(spec, "unknown labelled face set (use utkface, smiles, celebahq, celebahq-judge, celebahq-dev, or a path "
                  "to one of their .tar archives)");
  if (!fs::exists(path))
    fail(path, "labelled face archive not found (" + kind + ": from faceedit's shared data, " +
                   (named.count(spec) ? named.at(spec) : std::string("data/")) + "; set FACEEDIT_SHARED to its root)");
  LabelledFaces all;
  if (kind == "utkface") all = read_utkface(path);
  else if (kind == "smiles") all = read_smiles(path);
  else all = read_celebahq(path, kind, [&](int64_t id) { return celebahq_half(kind, id); });
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
