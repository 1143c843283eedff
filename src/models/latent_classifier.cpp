#include "faceedit/models/latent_classifier.h"
#include "faceedit/io/json_checks.h"

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

namespace nn = torch::nn;

nlohmann::json LatentClassifierConfig::to_json() const {
  return {{"space", space}, {"latent_dim", latent_dim}, {"num_ws", num_ws}, {"hidden", hidden}, {"columns", columns}};
}

LatentClassifierConfig LatentClassifierConfig::from_json(const nlohmann::json& j, const std::string& what) {
  io::check_json_numbers(j, what);
  LatentClassifierConfig c;
  try {
    c.space = latent_space_from_json(j.at("space"), what);
    c.latent_dim = j.at("latent_dim").get<int64_t>();
    c.num_ws = j.at("num_ws").get<int64_t>();
    c.hidden = j.at("hidden").get<std::vector<int64_t>>();
    c.columns = j.at("columns").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    fail(what, std::string("bad latent classifier config: ") + e.what());
  }
  if (c.latent_dim < 1 || c.hidden.size() != 2 || c.columns.empty() || c.num_ws < 0 || (c.space == LatentSpace::WPlus) != (c.num_ws > 0))
    fail(what, "latent classifier config is inconsistent: " + c.to_json().dump());
  return c;
}

LatentClassifierImpl::LatentClassifierImpl(LatentClassifierConfig config) : config_(std::move(config)) {
  fc1 = register_module("fc1", nn::Linear(config_.input_features(), config_.hidden[0]));
  fc2 = register_module("fc2", nn::Linear(config_.hidden[0], config_.hidden[1]));
  fc3 = register_module("fc3", nn::Linear(config_.hidden[1], static_cast<int64_t>(config_.columns.size())));
}

torch::Tensor LatentClassifierImpl::forward(const torch::Tensor& latents) {
  const bool plus = config_.num_ws > 0;
  const bool ok = plus ? latents.dim() == 3 && latents.size(1) == config_.num_ws && latents.size(2) == config_.latent_dim
                       : latents.dim() == 2 && latents.size(1) == config_.latent_dim;
  if (!ok)
    fail("latent classifier (" + to_string(config_.space) + ")",
         "expects latents " +
             (plus ? "[N, " + std::to_string(config_.num_ws) + ", " + std::to_string(config_.latent_dim) + "]"
                   : "[N, " + std::to_string(config_.latent_dim) + "]") +
             ", got " + c10::str(latents.sizes()));
  auto x = latents.flatten(1);
  x = torch::leaky_relu(fc1->forward(x), 0.2);
  x = torch::leaky_relu(fc2->forward(x), 0.2);
  return fc3->forward(x);
}

int64_t LatentClassifierImpl::column(const std::string& name) const {
  for (size_t i = 0; i < config_.columns.size(); ++i)
    if (config_.columns[i] == name) return static_cast<int64_t>(i);
  std::string names;
  for (const auto& c : config_.columns) names += (names.empty() ? "" : ", ") + c;
  fail("latent classifier", "has no attribute '" + name + "' (it has: " + names + ")");
}

void LatentClassifierImpl::save(const std::string& path, const nlohmann::json& report) const {
  save_module(path, *this, "latent-classifier", config_.to_json(), report);
}

LatentClassifier load_latent_classifier(const std::string& path) {
  io::SafetensorsReader file(path);
  const nlohmann::json j = read_config(file, "latent-classifier", "latent classifier");
  LatentClassifier lc(LatentClassifierConfig::from_json(j, path));
  auto targets = module_tensors(*lc);
  load_tensors(file, targets, "the latent classifier config in its metadata");
  lc->eval();
  return lc;
}

}  // namespace faceedit::models
