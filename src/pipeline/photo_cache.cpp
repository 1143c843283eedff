// The photo cache's key and its size bound (pipeline/photo.h).
#include <filesystem>

#include "faceedit/models/judges.h"
#include "faceedit/pipeline/photo.h"
#include "faceedit/pipeline/video.h"
#include "faceedit/error.h"
#include "faceedit/io/content_hash.h"

#include <fstream>

namespace faceedit::pipeline {

namespace fs = std::filesystem;

namespace {

using io::fnv1a;
const auto& hex = io::hex64;

uint64_t dir_bytes(const fs::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) n += e.file_size(ec);
  return n;
}

// Every setting that shapes a preparation (alignment, inversion, mask).
nlohmann::json preparation_settings(const std::string& model_name, const models::Generator& g, const PhotoParams& p,
                                    models::LatentSpace space) {
  std::string guide_file = p.guide;
  if (p.guide != "none") guide_file = models::guide_file(p.guide);
  std::error_code ec;
  const auto guide_size = fs::exists(guide_file, ec) ? fs::file_size(guide_file, ec) : 0;
  const nlohmann::json settings = {{"v", kPhotoCacheVersion},          {"model", model_name},     {"config", g.config()},
                                   {"crop", p.crop},              {"zoom", p.zoom},          {"shift", p.shift},
                                   {"steps", p.inversion_steps},  {"starts", p.starts},      {"space", models::to_string(space)},
                                   {"guide", guide_file},         {"guide_bytes", guide_size}, {"perceptual", p.perceptual},
                                   {"segmenter", p.segmenter}};
  if (p.encoder.empty()) return settings;  // keys of preparations without an encoder stay as they were
  auto with_encoder = settings;
  with_encoder["encoder"] = p.encoder;
  with_encoder["encoder_bytes"] = fs::exists(p.encoder, ec) ? fs::file_size(p.encoder, ec) : 0;
  return with_encoder;
}

}  // namespace

std::string photo_cache_key(const cv::Mat& photo, const std::string& model_name, const models::Generator& g,
                            const PhotoParams& p, models::LatentSpace space) {
  io::ContentHash h;
  const int dims[3] = {photo.rows, photo.cols, photo.type()};
  h.add(dims, sizeof dims);
  for (int r = 0; r < photo.rows; ++r) h.add(photo.ptr(r), photo.cols * photo.elemSize());
  const std::string s = preparation_settings(model_name, g, p, space).dump();
  return hex(h.a) + hex(fnv1a(s.data(), s.size(), h.b));  // the settings in one stream: keys as before
}

namespace {

// The key of a video's bytes under these settings.
std::string video_key(const fs::path& input, const nlohmann::json& settings) {
  io::ContentHash h;
  h.add_file(input.string());
  const std::string s = settings.dump();
  return hex(h.a) + hex(fnv1a(s.data(), s.size(), h.b));
}

nlohmann::json track_settings(const VideoParams& p) {
  return {{"video_v", kVideoWorkVersion}, {"flow", p.track.optical_flow}, {"flow_tolerance", p.track.flow_tolerance},
          {"landmark_sigma", p.track.landmark_sigma}, {"quad_sigma", p.track.quad_sigma}, {"max_frames", p.max_frames}};
}

}  // namespace

std::string video_work_key(const fs::path& input, const std::string& model_name, const models::Generator& g, const VideoParams& p,
                           models::LatentSpace space) {
  auto settings = preparation_settings(model_name, g, p.photo, space);
  settings.update(track_settings(p));
  settings.update({{"warm_start", p.warm_start}, {"warm_steps", p.warm_steps}});
  return video_key(input, settings);
}

std::string image_editor_video_work_key(const fs::path& input, const std::string& method, const VideoParams& p) {
  auto settings = track_settings(p);
  settings.update({{"method", method}, {"crop", p.photo.crop}, {"zoom", p.photo.zoom}, {"shift", p.photo.shift}, {"segmenter", p.photo.segmenter}});
  return video_key(input, settings);
}

void evict_photo_cache(const fs::path& dir, uint64_t max_bytes) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  struct Entry {
    fs::path path;
    fs::file_time_type used;
    uint64_t bytes;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory(ec) || e.path().filename().string().find(".tmp") != std::string::npos) continue;
    const auto used = fs::last_write_time(e.path() / "prep.json", ec);
    entries.push_back({e.path(), ec ? fs::file_time_type::min() : used, dir_bytes(e.path())});
    total += entries.back().bytes;
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) { return x.used < y.used; });
  for (const auto& e : entries) {
    if (total <= max_bytes) break;
    fs::remove_all(e.path, ec);
    total -= e.bytes;
  }
}

}  // namespace faceedit::pipeline
