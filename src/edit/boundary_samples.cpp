#include "faceedit/edit/boundary_samples.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "faceedit/error.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/io/safetensors.h"

namespace faceedit::edit {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_manifest(const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail(path.string(), "cannot open (not a samples directory? it needs manifest.json)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) fail(path.string(), "not valid JSON");
  if (j.value("format", "") != "faceedit.samples/1")
    fail(path.string(), "format is not \"faceedit.samples/1\"");
  for (const char* key : {"n", "shard_size"})
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 1)
      fail(path.string(), std::string("'") + key + "' must be a positive integer");
  if (!j.contains("columns") || !j["columns"].is_array() || j["columns"].empty())
    fail(path.string(), "'columns' must be a non-empty list of attribute names");
  if (!j.contains("spaces") || !j["spaces"].is_array()) fail(path.string(), "'spaces' must be a list");
  return j;
}

std::string shard_name(int64_t i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "shard-%05lld.safetensors", static_cast<long long>(i));
  return buf;
}

}  // namespace

BoundarySamples read_boundary_samples(const std::string& dir, const std::string& space) {
  if (!fs::is_directory(dir)) fail(dir, "samples directory does not exist");
  const fs::path manifest_path = fs::path(dir) / "manifest.json";
  BoundarySamples out;
  out.dir = dir;
  out.manifest = read_manifest(manifest_path);
  const auto& m = out.manifest;
  std::vector<std::string> spaces;
  for (const auto& s : m["spaces"]) spaces.push_back(s.get<std::string>());
  const bool has_w = std::find(spaces.begin(), spaces.end(), "w") != spaces.end();
  out.space = !space.empty() ? space : has_w ? "w" : "z";
  if (std::find(spaces.begin(), spaces.end(), out.space) == spaces.end()) {
    std::string have;
    for (const auto& s : spaces) have += (have.empty() ? "" : ", ") + s;
    fail(manifest_path.string(), "no latents of space '" + out.space + "' (the samples have: " + have + ")");
  }
  for (const auto& c : m["columns"]) out.columns.push_back(c.get<std::string>());
  const int64_t n = m["n"].get<int64_t>(), shard_size = m["shard_size"].get<int64_t>();
  const int64_t num_shards = (n + shard_size - 1) / shard_size;
  const int64_t num_columns = static_cast<int64_t>(out.columns.size());
  const std::string dim_key = out.space + "_dim";
  int64_t dim = m.contains(dim_key) && m[dim_key].is_number_integer() ? m[dim_key].get<int64_t>() : -1;

  std::vector<torch::Tensor> latents, scores;
  int64_t rows = 0;
  for (int64_t i = 0; i < num_shards; ++i) {
    const std::string path = (fs::path(dir) / shard_name(i)).string();
    if (!fs::exists(path)) fail(path, "missing shard (the manifest promises " + std::to_string(num_shards) + ")");
    io::SafetensorsReader shard(path);
    if (!shard.contains(out.space)) fail(path, "has no '" + out.space + "' tensor");
    if (!shard.contains("scores")) fail(path, "has no 'scores' tensor");
    const auto& le = shard.entry(out.space);
    const auto& se = shard.entry("scores");
    const int64_t k = std::min(shard_size, n - rows);
    if (le.shape.size() != 2 || le.shape[0] != k || (dim > 0 && le.shape[1] != dim))
      fail(path, "'" + out.space + "' must be [" + std::to_string(k) + ", " + (dim > 0 ? std::to_string(dim) : "dim") + "]");
    dim = le.shape[1];  // later shards must agree with the first when the manifest gives no dimension
    if (se.shape.size() != 2 || se.shape[0] != k || se.shape[1] != num_columns)
      fail(path, "'scores' must be [" + std::to_string(k) + ", " + std::to_string(num_columns) + "] (one column per manifest column)");
    auto first = shard.metadata().find("faceedit.first_index");
    if (first != shard.metadata().end() && first->second != std::to_string(rows))
      fail(path, "faceedit.first_index is " + first->second + ", expected " + std::to_string(rows));
    latents.push_back(shard.load(out.space));
    scores.push_back(shard.load("scores"));
    rows += k;
  }
  out.latents = torch::cat(latents);
  out.scores = torch::cat(scores);
  return out;
}

ScoredRows scored_rows(const torch::Tensor& latents, const torch::Tensor& scores) {
  auto keep = torch::isfinite(scores).nonzero().flatten();
  if (keep.numel() == scores.numel()) return {latents, scores, 0};
  return {latents.index_select(0, keep), scores.index_select(0, keep), scores.numel() - keep.numel()};
}

torch::Tensor score_column(const BoundarySamples& samples, const std::string& attribute) {
  auto it = std::find(samples.columns.begin(), samples.columns.end(), attribute);
  if (it == samples.columns.end())
    it = std::find_if(samples.columns.begin(), samples.columns.end(),
                      [&](const std::string& c) { return models::canonical_attribute(c) == models::canonical_attribute(attribute); });
  if (it == samples.columns.end()) {
    std::string have;
    for (const auto& c : samples.columns) have += (have.empty() ? "" : ", ") + c;
    fail("attribute '" + attribute + "'", "not a score column of " + samples.dir + " (columns: " + have + ")");
  }
  return samples.scores.select(1, it - samples.columns.begin()).contiguous();
}

}  // namespace faceedit::edit
