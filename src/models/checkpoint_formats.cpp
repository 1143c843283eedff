#include "faceedit/models/checkpoint_formats.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "faceedit/error.h"
#include "faceedit/io/json_file.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/model_files.h"
#include "faceedit/models/stylegan2.h"
#include "faceedit/runtime.h"

namespace faceedit::models {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// "<stem>-<size>-<mtime>" of a file: what a cached conversion of it is keyed by.
std::string version_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(path, "no such file");
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory, not a checkpoint");
  return fs::path(path).filename().string() + "-" + std::to_string(st.st_size) + "-" +
         std::to_string(static_cast<long long>(st.st_mtime));
}

fs::path cache_path(const std::string& key, const std::string& ext) {
  const fs::path dir = cache_dir();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir.string(), "cannot create the model cache directory: " + ec.message());
  return dir / (key + ext);
}

// The converter's output for `args` (converted once: the cache file appears atomically).
std::string converted(const std::string& source, const std::string& key, const std::vector<std::string>& args) {
  const fs::path out = cache_path(key, ".safetensors");
  if (!fs::exists(out)) {
    std::vector<std::string> all = {source, out.string()};
    all.insert(all.end(), args.begin(), args.end());
    run_python_tool("faceedit_convert.py", all, source);
  }
  return out.string();
}

std::string arch_of(const std::string& safetensors) {
  io::SafetensorsReader file(safetensors);
  auto it = file.metadata().find("faceedit.arch");
  return it == file.metadata().end() ? std::string() : it->second;
}

}  // namespace

bool is_torch_checkpoint(const std::string& path) {
  return ends_with(path, ".pt") || ends_with(path, ".pth") || ends_with(path, ".pth.tar") || ends_with(path, ".ckpt");
}

nlohmann::json inspect_checkpoint(const std::string& path) {
  if (ends_with(path, ".safetensors")) {
    io::SafetensorsReader file(path);
    nlohmann::json out = {{"file", path}, {"format", "faceedit"}, {"tensors", file.entries().size()}};
    for (const auto& [k, v] : file.metadata()) {
      if (k == "faceedit.config") {
        auto j = nlohmann::json::parse(v, nullptr, false);
        out["config"] = j.is_discarded() ? nlohmann::json(v) : j;
      } else if (k.rfind("faceedit.", 0) == 0) {
        out[k.substr(9)] = v;
      }
    }
    return out;
  }
  const fs::path json = cache_path(version_key(path) + "-inspect", ".json");
  if (!fs::exists(json)) run_python_tool("faceedit_convert.py", {"--inspect", path, json.string()}, path);
  return io::read_json_file(json, "a checkpoint inspection (delete it to inspect the checkpoint again)");
}

bool is_psp_encoder(const std::string& path) {
  if (is_torch_checkpoint(path)) return true;
  return ends_with(path, ".safetensors") && fs::exists(path) && arch_of(path) == "psp-encoder";
}

std::string resolve_psp_encoder(const std::string& spec) {
  if (!is_torch_checkpoint(spec)) return spec;
  return converted(spec, version_key(spec) + "-E", {"--network", "E"});
}

std::string resolve_latent_classifier(const std::string& spec) {
  if (!is_torch_checkpoint(spec)) return spec;
  return converted(spec, version_key(spec), {});
}

std::string resolve_latent_transformer(const std::string& spec, const std::string& classifier) {
  if (!is_torch_checkpoint(spec)) return spec;
  std::string lc = classifier;
  if (lc.empty()) {
    const fs::path dir = fs::path(spec).parent_path();
    for (const fs::path& p : {dir / "latent_classifier_epoch_20.pth", dir / ".." / ".." / "models" / "latent_classifier_epoch_20.pth"})
      if (fs::exists(p)) {
        lc = p.string();
        break;
      }
    if (lc.empty())
      fail(spec, "a Latent Transformer tnet file needs its latent classifier: none found beside it or in ../../models/ "
                 "(give classifier=latent_classifier_epoch_20.pth)");
  }
  return converted(spec, version_key(spec) + "-with-" + version_key(lc), {"--classifier", lc});
}

void set_truncation_mean(Generator& g, const std::string& latents_file) {
  auto* sg = dynamic_cast<StyleGAN2*>(&g);
  if (sg == nullptr) fail("--truncation-mean", "the " + g.arch() + " generator has no average W to replace");
  io::SafetensorsReader file(latents_file);
  if (!file.contains("latents")) fail(latents_file, "has no tensor named 'latents'");
  auto mean = file.load("latents");
  if (mean.numel() != g.w_dim() || (mean.dim() == 2 && mean.size(0) != 1) || mean.dim() > 2)
    fail(latents_file, "latents of shape " + c10::str(mean.sizes()) + " are not one W code [1, " + std::to_string(g.w_dim()) + "]");
  if (!torch::isfinite(mean).all().item<bool>()) fail(latents_file, "the mean latent has NaN or infinite values");
  torch::NoGradGuard no_grad;
  sg->w_avg().copy_(mean.reshape({-1}));
}

}  // namespace faceedit::models
