#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/io/json_checks.h"
#include "faceedit/io/json_file.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "faceedit/distributed.h"
#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/model_files.h"
#include "faceedit/progress.h"

namespace faceedit::edit {

namespace fs = std::filesystem;

ProbabilityColumns probability_columns(const models::AttributeClassifier& clf) {
  ProbabilityColumns out;
  const auto& cols = clf.columns();
  for (size_t i = 0; i < cols.size(); ++i)
    // Probabilities and plain values (the pose score's yaw and pitch, NaN where no face is found);
    // a boundary only ranks a column, so its scale does not matter.
    if (cols[i].kind == models::ColumnKind::Probability || cols[i].kind == models::ColumnKind::Value) {
      out.index.push_back(static_cast<int64_t>(i));
      out.names.push_back(cols[i].name);
    }
  if (out.index.empty()) fail("classifier " + clf.name(), "has no probability or value columns to score samples with");
  return out;
}

ScoredBatch generate_and_score(const models::Generator& g, models::AttributeClassifier& clf,
                               const ProbabilityColumns& columns, const torch::Tensor& z, double truncation,
                               int64_t synthesis_size) {
  torch::NoGradGuard no_grad;
  ScoredBatch out;
  out.codes = g.map(z.to(g.device()), truncation);
  auto images = synthesis_size > 0 ? g.synthesize_preview(out.codes, synthesis_size, models::NoiseMode::Const)
                                   : g.synthesize(out.codes, models::NoiseMode::Const);
  auto idx = torch::tensor(columns.index, torch::kLong).to(images.device());
  out.scores = clf.predict(images).index_select(1, idx);
  return out;
}

SampleJobParams sample_job_default_params() { return {}; }

std::string shard_file_name(int64_t index) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "shard-%05lld.safetensors", static_cast<long long>(index));
  return buf;
}

namespace {

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=+,") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int64_t shard_count(int64_t n, int64_t k) { return (n + k - 1) / k; }

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}


nlohmann::ordered_json make_manifest(const SampleJobParams& p, const models::Generator& g,
                                     const std::vector<std::string>& columns) {
  nlohmann::ordered_json m;
  m["format"] = kSamplesFormat;
  m["model"] = p.model_spec;
  m["arch"] = g.arch();
  m["n"] = p.n;
  m["seed"] = p.seed;
  m["truncation"] = p.truncation;
  m["shard_size"] = p.shard_size;
  m["spaces"] = g.w_dim() > 0 ? std::vector<std::string>{"z", "w"} : std::vector<std::string>{"z"};
  m["classifiers"] = p.classifier_specs;
  m["columns"] = columns;
  m["z_dim"] = g.z_dim();
  m["w_dim"] = g.w_dim();
  if (g.stops_early(p.synthesis_size))
    m["synthesis_resolution"] = g.preview_resolution(p.synthesis_size);
  return m;
}

// Numbers checked before any integer field is read (found by fuzzing).
nlohmann::json read_manifest(const fs::path& path) { return io::read_json_file(path, "a samples manifest"); }

// Throws naming the first field of `expected` that `existing` lacks or holds differently.
void check_manifest(const nlohmann::json& existing, const nlohmann::ordered_json& expected, const fs::path& path) {
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    const nlohmann::json want = nlohmann::json::parse(it.value().dump());
    if (!existing.contains(it.key()))
      fail(path.string(), "has no field '" + it.key() + "' (not a sample directory of this version?); use a new -o directory");
    if (existing.at(it.key()) != want)
      fail(path.string(), "this directory was sampled with " + it.key() + " = " + existing.at(it.key()).dump() +
                              ", not " + want.dump() + "; rerun with the original parameters to resume, or use a new -o directory");
  }
}

// Temp files (io::AtomicFile names them "<target>.tmp-<pid>") of the shards this process owns, and
// of the manifest when it is the one writing it: other processes of the job may be writing theirs.
void remove_stray_temp_files(const fs::path& dir, const WorkShare& share, bool verbose) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    bool ours = share.merges() && name.rfind("manifest.json.tmp-", 0) == 0;
    if (name.rfind("shard-", 0) == 0 && name.find(".safetensors.tmp-") != std::string::npos) {
      try {
        ours = share.owns(std::stoll(name.substr(6)));
      } catch (const std::exception&) {
        ours = false;
      }
    }
    if (!ours) continue;
    std::error_code ec;
    fs::remove(e.path(), ec);
    if (verbose) log_line(log_text("sample: removed ", name, " (left by an interrupted run)"));
  }
}

template <typename T>
T field(const nlohmann::json& m, const char* key, const fs::path& path) {
  try {
    return m.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(path.string(), std::string("missing or malformed field '") + key + "'");
  }
}

}  // namespace

std::string sample_command(const nlohmann::json& m, const std::string& dir) {
  std::ostringstream cmd;
  cmd << "faceedit sample --model " << shell_quote(m.value("model", std::string("?"))) << " --n " << m.value("n", int64_t{0});
  for (const auto& c : m.value("classifiers", std::vector<std::string>{})) cmd << " --classifier " << shell_quote(c);
  cmd << " --seed " << m.value("seed", uint64_t{0}) << " --truncation " << nlohmann::json(m.value("truncation", 1.0)).dump()
      << " --shard-size " << m.value("shard_size", int64_t{0});
  if (m.contains("synthesis_resolution")) cmd << " --synthesis-size " << m.value("synthesis_resolution", int64_t{0});
  cmd << " -o " << shell_quote(dir);
  return cmd.str();
}

nlohmann::json run_sample_job(const SampleJobParams& p, const std::string& dir_str) {
  if (p.n < 1) fail("n " + std::to_string(p.n), "need at least 1 sample");
  if (p.shard_size < 1) fail("shard-size " + std::to_string(p.shard_size), "must be positive");
  if (p.batch < 1) fail("batch " + std::to_string(p.batch), "must be positive");
  if (!std::isfinite(p.truncation)) fail("truncation", "must be a finite number");
  if (p.classifier_specs.empty()) fail("classifier", "give at least one classifier to score the samples");
  if (dir_str.empty()) fail("-o", "give the sample directory");
  const fs::path dir(dir_str);

  auto g = models::open_generator(p.model_spec, p.device);
  std::vector<std::unique_ptr<models::AttributeClassifier>> parts;
  for (const auto& spec : p.classifier_specs) {
    parts.push_back(models::open_classifier(spec));
    parts.back()->to(p.device);
  }
  models::CombinedClassifier clf(std::move(parts));
  const auto columns = probability_columns(clf);
  const auto manifest = make_manifest(p, *g, columns.names);

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) fail(dir_str, "cannot create the sample directory" + (ec ? ": " + ec.message() : ""));
  const WorkShare& share = p.share;
  const std::string who = share.label().empty() ? "sample" : "sample " + share.label();
  JobLock lock(dir, share, "faceedit sample");
  const fs::path manifest_path = dir / "manifest.json";
  // One writer of the manifest in an MPI job (rank 0, before the others read it); tasks of an
  // array may race to write it, each atomically and with the same bytes.
  const auto write_or_check_manifest = [&] {
    if (fs::exists(manifest_path)) {
      check_manifest(read_manifest(manifest_path), manifest, manifest_path);
    } else {
      const std::string text = manifest.dump(2) + "\n";
      io::write_file_atomic(manifest_path, text.data(), text.size());
    }
  };
  share.claim_job(write_or_check_manifest);
  remove_stray_temp_files(dir, share, p.progress);

  const int64_t shards = shard_count(p.n, p.shard_size);
  const auto shard_samples = [&](int64_t i) { return std::min(p.n, (i + 1) * p.shard_size) - i * p.shard_size; };
  std::vector<bool> done(static_cast<size_t>(shards));
  int64_t mine = 0, done_samples = 0, skipped = 0, todo = 0;  // this process's share
  for (int64_t i = 0; i < shards; ++i) {
    if (!share.owns(i)) continue;
    mine += shard_samples(i);
    if ((done[static_cast<size_t>(i)] = fs::exists(dir / shard_file_name(i)))) {
      done_samples += shard_samples(i);
      ++skipped;
    } else {
      ++todo;
    }
  }
  if (p.progress && skipped > 0)
    log_line(log_text(who, ": resuming ", dir_str, ": ", skipped, " of ", skipped + todo, " shards already complete"));

  clear_stop();
  torch::NoGradGuard no_grad;
  // All N latents from the generator's own seeded stream; each shard takes its rows.
  const torch::Tensor z_all = todo == 0 ? torch::Tensor() : g->sample_z(p.n, p.seed).to(torch::kCPU);
  Progress progress(who, mine, "samples", p.progress);
  progress.update(done_samples);
  int64_t written = 0, written_samples = 0;
  for (int64_t i = 0; i < shards; ++i) {
    if (!share.owns(i) || done[static_cast<size_t>(i)]) continue;
    const int64_t first = i * p.shard_size, k = std::min(p.n, first + p.shard_size) - first;
    std::vector<torch::Tensor> ws, scores;
    for (int64_t b = 0; b < k; b += p.batch) {
      if (stop_requested())
        fail(dir_str, "interrupted at " + std::to_string(done_samples) + " of " + std::to_string(mine) +
                          " samples (complete shards are kept); rerun the same command to resume");
      const int64_t m = std::min(p.batch, k - b);
      auto batch = generate_and_score(*g, clf, columns, z_all.narrow(0, first + b, m), p.truncation, p.synthesis_size);
      if (g->w_dim() > 0) ws.push_back(batch.codes.select(1, 0).to(torch::kCPU));
      scores.push_back(batch.scores.to(torch::kCPU, torch::kFloat32));
      done_samples += m;
      progress.update(done_samples);
    }
    io::NamedTensors tensors = {{"z", z_all.narrow(0, first, k).contiguous()}};
    if (g->w_dim() > 0) tensors.emplace_back("w", torch::cat(ws));
    tensors.emplace_back("scores", torch::cat(scores));
    io::write_safetensors((dir / shard_file_name(i)).string(), tensors,
                          {{"faceedit.format", kSamplesFormat}, {"faceedit.first_index", std::to_string(first)}});
    ++written;
    written_samples += k;
    if (p.progress)
      log_line(log_text(who, ": wrote ", shard_file_name(i), " (samples ", first, "-", first + k - 1, ")"));
  }
  const double secs = progress.elapsed_seconds();
  progress.finish();
  share.wait_for_all();  // every rank's shards are written before rank 0 reports the whole
  int64_t complete = 0;
  for (int64_t i = 0; i < shards; ++i) complete += fs::exists(dir / shard_file_name(i)) ? 1 : 0;
  if (share.shard && p.progress)
    log_line(log_text(who, ": done; ", complete, " of ", shards, " shards complete",
                      complete < shards ? " (the other tasks, or a run without --shard, write the rest)" : ""));
  return {{"dir", dir_str},
          {"processes", share.count},
          {"shards_complete", complete},
          {"n", p.n},
          {"shards", shards},
          {"shards_written", written},
          {"shards_skipped", skipped},
          {"samples_written", written_samples},
          {"seconds", secs},
          {"samples_per_s", written_samples / std::max(secs, 1e-9)},
          {"columns", columns.names}};
}

SampleSet load_samples(const std::string& dir_str) {
  const fs::path dir(dir_str);
  const fs::path mpath = dir / "manifest.json";
  if (!fs::is_directory(dir)) fail(dir_str, "no such sample directory");
  if (!fs::exists(mpath)) fail(dir_str, "has no manifest.json: not a directory made by `faceedit sample`");
  SampleSet set;
  set.manifest = read_manifest(mpath);
  const auto& m = set.manifest;
  const auto format = field<std::string>(m, "format", mpath);
  if (format != kSamplesFormat) fail(mpath.string(), "format '" + format + "' is not " + kSamplesFormat);
  const auto n = field<int64_t>(m, "n", mpath), k = field<int64_t>(m, "shard_size", mpath);
  const auto z_dim = field<int64_t>(m, "z_dim", mpath), w_dim = field<int64_t>(m, "w_dim", mpath);
  const auto spaces = field<std::vector<std::string>>(m, "spaces", mpath);
  set.columns = field<std::vector<std::string>>(m, "columns", mpath);
  if (n < 1 || k < 1 || z_dim < 1 || w_dim < 0) fail(mpath.string(), "n, shard_size, z_dim or w_dim out of range");
  const bool has_w = std::find(spaces.begin(), spaces.end(), "w") != spaces.end();
  if (has_w && w_dim < 1) fail(mpath.string(), "lists space w but w_dim is 0");

  const int64_t shards = shard_count(n, k);
  int64_t present = 0;
  std::string first_missing;
  for (int64_t i = 0; i < shards; ++i) {
    if (fs::exists(dir / shard_file_name(i))) ++present;
    else if (first_missing.empty()) first_missing = shard_file_name(i);
  }
  if (present < shards)
    fail(dir_str, "has " + std::to_string(present) + " of " + std::to_string(shards) + " shards; finish with `" +
                      sample_command(m, dir_str) + "` (first missing: " + first_missing + ")");

  std::vector<torch::Tensor> zs, ws, scores;
  const int64_t c = static_cast<int64_t>(set.columns.size());
  for (int64_t i = 0; i < shards; ++i) {
    const std::string path = (dir / shard_file_name(i)).string();
    io::SafetensorsReader file(path);
    const int64_t first = i * k, rows = std::min(n, first + k) - first;
    auto expect = [&](const std::string& name, std::vector<int64_t> shape) {
      if (!file.contains(name)) fail(path, "has no tensor '" + name + "'");
      if (file.entry(name).shape != shape)
        fail(path, "tensor '" + name + "' has shape " + shape_string(file.entry(name).shape) + ", expected " +
                       shape_string(shape) + " from manifest.json");
      return file.load(name);
    };
    auto it = file.metadata().find("faceedit.first_index");
    if (it == file.metadata().end() || it->second != std::to_string(first))
      fail(path, "metadata faceedit.first_index is " + (it == file.metadata().end() ? std::string("absent") : it->second) +
                     ", expected " + std::to_string(first));
    zs.push_back(expect("z", {rows, z_dim}));
    if (has_w) ws.push_back(expect("w", {rows, w_dim}));
    scores.push_back(expect("scores", {rows, c}));
  }
  set.z = torch::cat(zs);
  if (has_w) set.w = torch::cat(ws);
  set.scores = torch::cat(scores);
  return set;
}

BoundarySamples read_boundary_samples(const std::string& dir, std::optional<models::LatentSpace> space) {
  using models::LatentSpace;
  auto set = load_samples(dir);
  BoundarySamples out;
  out.dir = dir;
  out.space = space ? *space : set.w.defined() ? LatentSpace::W : LatentSpace::Z;
  if (out.space == LatentSpace::WPlus) fail("space 'wplus'", "samples hold z or w latents");
  if (out.space == LatentSpace::W && !set.w.defined())
    fail((fs::path(dir) / "manifest.json").string(), "no latents of space 'w' (the samples have: z)");
  out.latents = out.space == LatentSpace::W ? set.w : set.z;
  out.scores = set.scores;
  out.columns = set.columns;
  out.manifest = set.manifest;
  return out;
}

ScoredRows scored_rows(const torch::Tensor& latents, const torch::Tensor& scores) {
  auto keep = torch::isfinite(scores).nonzero().flatten();
  if (keep.numel() == scores.numel()) return {latents, scores, 0};
  return {latents.index_select(0, keep), scores.index_select(0, keep), scores.numel() - keep.numel()};
}

torch::Tensor score_column(const BoundarySamples& samples, const std::string& attribute) {
  const auto want = models::canonical_attribute(attribute);
  auto it = std::find_if(samples.columns.begin(), samples.columns.end(),
                         [&](const std::string& c) { return c == attribute || models::canonical_attribute(c) == want; });
  if (it == samples.columns.end()) {
    std::string have;
    for (const auto& c : samples.columns) have += (have.empty() ? "" : ", ") + c;
    fail("attribute '" + attribute + "'", "not a score column of " + samples.dir + " (columns: " + have + ")");
  }
  return samples.scores.select(1, it - samples.columns.begin()).contiguous();
}

}  // namespace faceedit::edit
