#include "faceedit/models/weights.h"

#include "faceedit/error.h"

namespace faceedit::models {

torch::OrderedDict<std::string, torch::Tensor> module_tensors(const torch::nn::Module& module) {
  auto all = module.named_parameters();
  for (const auto& b : module.named_buffers()) all.insert(b.key(), b.value());
  return all;
}

void load_tensors(const io::SafetensorsReader& file, torch::OrderedDict<std::string, torch::Tensor>& targets,
                  const std::string& context) {
  const std::string& path = file.path();
  torch::NoGradGuard no_grad;
  for (auto& item : targets) {
    const std::string& name = item.key();
    if (!file.contains(name)) fail(path, "missing tensor '" + name + "' required by " + context);
    const auto& e = file.entry(name);
    if (e.shape != item.value().sizes().vec())
      fail(path, "tensor '" + name + "' has shape " + c10::str(c10::IntArrayRef(e.shape)) + " but " + context +
                     " needs " + c10::str(item.value().sizes()));
    item.value().copy_(file.load(name));
  }
  for (const auto& e : file.entries())
    if (!targets.contains(e.name)) fail(path, "unexpected tensor '" + e.name + "' (file and " + context + " disagree)");
}

void require_arch(const io::SafetensorsReader& file, const std::string& arch, const std::string& description) {
  const auto& meta = file.metadata();
  auto it = meta.find("faceedit.arch");
  if (it == meta.end() || it->second != arch)
    fail(file.path(), "not a faceedit " + description + " file (metadata faceedit.arch is '" +
                          (it == meta.end() ? std::string("missing") : it->second) + "')");
}

nlohmann::json read_config(const io::SafetensorsReader& file, const std::string& arch, const std::string& description) {
  require_arch(file, arch, description);
  auto cfg = file.metadata().find("faceedit.config");
  if (cfg == file.metadata().end()) fail(file.path(), "metadata has no faceedit.config");
  auto j = nlohmann::json::parse(cfg->second, nullptr, false);
  if (j.is_discarded()) fail(file.path(), "faceedit.config is not valid JSON");
  return j;
}

void save_module(const std::string& path, const torch::nn::Module& module, const std::string& arch,
                 const nlohmann::json& config, const nlohmann::json& training_report, bool half) {
  io::NamedTensors tensors;
  for (const auto& t : module_tensors(module)) {
    auto v = t.value().detach().to(torch::kCPU);
    tensors.emplace_back(t.key(), half && v.is_floating_point() ? v.to(torch::kFloat16) : v);
  }
  std::map<std::string, std::string> meta = {
      {"faceedit.arch", arch}, {"faceedit.format_version", "1"}, {"faceedit.config", config.dump()}};
  if (!training_report.is_null()) meta["faceedit.training"] = training_report.dump();
  io::write_safetensors(path, tensors, meta);
}

}  // namespace faceedit::models
