// TorchScript networks with a faceedit metadata file (see face_analysis.h for the format).
#include <c10/core/GradMode.h>
#include <torch/script.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "faceedit/io/json_file.h"
#include "faceedit/error.h"
#include "faceedit/models/face_analysis.h"

namespace faceedit::models {

namespace fs = std::filesystem;

namespace {

// The last backbone outputs per backbone ID (+ input section): networks that declare the same
// "backbone" (face_analysis.h) reuse them when handed the very same image batch. The batch is
// recognised by its storage and version counter; holding a reference to it keeps the storage
// alive, so its address cannot be reused by another batch while the entry exists.
struct BackboneCache {
  std::mutex mutex;
  struct Entry {
    torch::Tensor images;
    int64_t version = -1;
    torch::IValue raw;
  };
  std::map<std::string, Entry> entries;

  static bool same_batch(const Entry& e, const torch::Tensor& images) {
    return e.images.defined() && e.version == static_cast<int64_t>(images._version()) &&
           e.images.data_ptr() == images.data_ptr() && e.images.sizes() == images.sizes() &&
           e.images.strides() == images.strides() && e.images.dtype() == images.dtype() &&
           e.images.device() == images.device();
  }
};

BackboneCache& backbone_cache() {
  static auto* cache = new BackboneCache;  // never destroyed: CUDA may be gone at exit
  return *cache;
}

struct ScriptedNetwork {
  std::string path;
  nlohmann::json meta;
  InputSpec input;
  torch::jit::Module module;
  std::string backbone;  // "" or the shared-backbone key (ID + input section)

  torch::IValue forward(const std::string& method, torch::IValue x) {
    try {
      return method.empty() ? module.forward({std::move(x)}) : module.get_method(method)({std::move(x)});
    } catch (const c10::Error& e) {
      fail(path, std::string("forward pass failed: ") + e.what_without_backtrace());
    }
  }

  torch::IValue backbone_outputs(const torch::Tensor& images) {
    // With autograd on, a shared graph would be freed by the first backward: run it afresh.
    if (c10::GradMode::is_enabled()) return forward("backbone", input.prepare(images));
    auto& cache = backbone_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto& entry = cache.entries[backbone];
    if (!BackboneCache::same_batch(entry, images)) {
      entry = {};  // drop the old batch before computing the new one
      torch::IValue raw = forward("backbone", input.prepare(images));
      entry.images = images;
      entry.version = static_cast<int64_t>(images._version());
      entry.raw = raw;
    }
    return entry.raw;
  }

  torch::Tensor run(const torch::Tensor& images) {
    torch::IValue out = backbone.empty() ? forward("", input.prepare(images))
                                         : forward("head", backbone_outputs(images));
    if (!out.isTensor()) fail(path, "forward() must return one tensor (see face_analysis.h)");
    return out.toTensor();
  }
};

ScriptedNetwork open_network(const std::string& path, const std::string& expected_kind) {
  ScriptedNetwork net;
  net.path = path;
  if (!fs::exists(path)) fail(path, "no such TorchScript file");
  const fs::path meta_path = fs::path(path).replace_extension(".json");
  if (!fs::exists(meta_path)) fail(meta_path.string(), "metadata file missing (every TorchScript network needs its .json beside it)");
  net.meta = io::read_json_file(meta_path, "a TorchScript network's metadata");
  if (net.meta.value("format", "") != "faceedit.torchscript/1")
    fail(meta_path.string(), "\"format\" must be \"faceedit.torchscript/1\"");
  const std::string kind = net.meta.value("kind", "");
  if (kind != expected_kind)
    fail(meta_path.string(), "is a '" + kind + "' network, but a '" + expected_kind + "' network is needed here");
  if (!net.meta.contains("input")) fail(meta_path.string(), "no \"input\" section");
  net.input = InputSpec::from_json(net.meta["input"], meta_path.string());
  try {
    net.module = torch::jit::load(path);
  } catch (const c10::Error& e) {
    fail(path, std::string("not a loadable TorchScript file: ") + e.what_without_backtrace());
  }
  net.module.eval();
  if (net.meta.contains("backbone")) {
    if (!net.meta["backbone"].is_string()) fail(meta_path.string(), "\"backbone\" must be a string");
    if (!net.module.find_method("backbone") || !net.module.find_method("head"))
      fail(path, "declares a shared \"backbone\" but has no backbone() and head() methods");
    net.backbone = net.meta["backbone"].get<std::string>() + "\n" + net.meta["input"].dump();
  }
  return net;
}

std::string display_name(const ScriptedNetwork& net) {
  return net.meta.value("name", fs::path(net.path).stem().string());
}

// One forward pass on a blank batch: a mismatch between network and metadata surfaces at load
// time with the file's name, not in the middle of an editing job.
torch::Tensor trial_output(ScriptedNetwork& net) {
  torch::NoGradGuard no_grad;
  return net.run(torch::zeros({2, 3, net.input.height, net.input.width}));
}

ColumnKind parse_column_kind(const std::string& s, const std::string& what) {
  if (s == "probability") return ColumnKind::Probability;
  if (s == "years") return ColumnKind::Years;
  if (s == "value") return ColumnKind::Value;
  fail(what, "output kind '" + s + "' is not probability, years or value");
}

class ScriptedClassifier : public AttributeClassifier {
 public:
  explicit ScriptedClassifier(ScriptedNetwork net) : net_(std::move(net)) {
    const std::string meta_path = fs::path(net_.path).replace_extension(".json").string();
    if (!net_.meta.contains("outputs") || !net_.meta["outputs"].is_array() || net_.meta["outputs"].empty())
      fail(meta_path, "an attributes network needs a non-empty \"outputs\" list");
    for (const auto& o : net_.meta["outputs"]) {
      if (!o.contains("name") || !o["name"].is_string()) fail(meta_path, "every output needs a \"name\"");
      columns_.push_back({o["name"].get<std::string>(), parse_column_kind(o.value("kind", "probability"), meta_path)});
    }
    auto out = trial_output(net_);
    if (out.dim() != 2 || out.size(0) != 2 || out.size(1) != static_cast<int64_t>(columns_.size()))
      fail(net_.path, "returns " + c10::str(out.sizes()) + " but its metadata lists " +
                          std::to_string(columns_.size()) + " outputs (expected [N, " +
                          std::to_string(columns_.size()) + "])");
  }
  std::string name() const override { return display_name(net_); }
  const std::vector<AttributeColumn>& columns() const override { return columns_; }
  torch::Tensor predict(const torch::Tensor& images) override { return net_.run(images); }
  void to(torch::Device device) override { net_.module.to(device); }

 private:
  ScriptedNetwork net_;
  std::vector<AttributeColumn> columns_;
};

class ScriptedEmbedder : public IdentityEmbedder {
 public:
  explicit ScriptedEmbedder(ScriptedNetwork net) : net_(std::move(net)) {
    auto out = trial_output(net_);
    if (out.dim() != 2 || out.size(0) != 2) fail(net_.path, "returns " + c10::str(out.sizes()) + ", expected [N, D]");
    dim_ = out.size(1);
    if (net_.meta.contains("embedding_dim") && net_.meta["embedding_dim"].get<int64_t>() != dim_)
      fail(net_.path, "returns " + std::to_string(dim_) + "-d embeddings but its metadata says " +
                          std::to_string(net_.meta["embedding_dim"].get<int64_t>()));
  }
  std::string name() const override { return display_name(net_); }
  int64_t dim() const override { return dim_; }
  torch::Tensor embed(const torch::Tensor& images) override {
    return torch::nn::functional::normalize(net_.run(images).flatten(1),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-12));
  }
  void to(torch::Device device) override { net_.module.to(device); }

 private:
  ScriptedNetwork net_;
  int64_t dim_ = 0;
};

class ScriptedSegmenter : public PortraitSegmenter {
 public:
  explicit ScriptedSegmenter(ScriptedNetwork net) : net_(std::move(net)) {
    auto out = trial_output(net_);
    if (out.dim() != 4 || out.size(0) != 2 || out.size(1) != 1)
      fail(net_.path, "returns " + c10::str(out.sizes()) + ", expected a mask [N, 1, h, w]");
  }
  std::string name() const override { return display_name(net_); }
  torch::Tensor segment(const torch::Tensor& images) override {
    auto mask = net_.run(images);
    return resize_images(mask, images.size(2), images.size(3)).clamp(0.0, 1.0);
  }
  void to(torch::Device device) override { net_.module.to(device); }

 private:
  ScriptedNetwork net_;
};

}  // namespace

std::unique_ptr<AttributeClassifier> load_attribute_classifier(const std::string& path) {
  return std::make_unique<ScriptedClassifier>(open_network(path, "attributes"));
}

std::unique_ptr<IdentityEmbedder> load_identity_embedder(const std::string& path) {
  return std::make_unique<ScriptedEmbedder>(open_network(path, "embedding"));
}

std::unique_ptr<PortraitSegmenter> load_portrait_segmenter(const std::string& path) {
  return std::make_unique<ScriptedSegmenter>(open_network(path, "segmentation"));
}

}  // namespace faceedit::models
