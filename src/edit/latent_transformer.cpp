#include "faceedit/edit/latent_transformer.h"
#include "faceedit/io/json_checks.h"

#include <algorithm>

#include "faceedit/models/weights.h"
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"

namespace faceedit::edit {

namespace nn = torch::nn;

nlohmann::json LatentTransformerConfig::to_json() const {
  return {{"attribute", attribute}, {"space", space}, {"latent_dim", latent_dim}, {"num_ws", num_ws}, {"layers", layers}};
}

LatentTransformerConfig LatentTransformerConfig::from_json(const nlohmann::json& j, const std::string& what) {
  io::check_json_numbers(j, what);
  LatentTransformerConfig c;
  try {
    c.attribute = j.at("attribute").get<std::string>();
    c.space = models::latent_space_from_json(j.at("space"), what);
    c.latent_dim = j.at("latent_dim").get<int64_t>();
    c.num_ws = j.at("num_ws").get<int64_t>();
    c.layers = j.at("layers").get<std::vector<int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    fail(what, std::string("bad latent transformer config: ") + e.what());
  }
  if (c.latent_dim < 1 || c.num_ws < 0 || (c.space == models::LatentSpace::WPlus) != (c.num_ws > 0) || (c.space != models::LatentSpace::WPlus && !c.layers.empty()))
    fail(what, "latent transformer config is inconsistent: " + c.to_json().dump());
  std::sort(c.layers.begin(), c.layers.end());
  c.layers.erase(std::unique(c.layers.begin(), c.layers.end()), c.layers.end());
  for (auto l : c.layers)
    if (l < 0 || l >= c.num_ws) fail(what, "layer " + std::to_string(l) + " is out of 0.." + std::to_string(c.num_ws - 1));
  return c;
}

std::vector<int64_t> LatentTransformerConfig::mapped_layers() const {
  if (space != models::LatentSpace::WPlus) return {0};
  if (!layers.empty()) return layers;
  std::vector<int64_t> all(static_cast<size_t>(num_ws));
  for (int64_t l = 0; l < num_ws; ++l) all[static_cast<size_t>(l)] = l;
  return all;
}


LatentTransformerNetImpl::LatentTransformerNetImpl(LatentTransformerConfig config) : config_(std::move(config)) {
  config_ = LatentTransformerConfig::from_json(config_.to_json(), "latent transformer");  // validates, sorts layers
  maps = register_module("maps", nn::ModuleList());
  for (size_t i = 0; i < config_.mapped_layers().size(); ++i) maps->push_back(nn::Linear(config_.latent_dim, config_.latent_dim));
}

void LatentTransformerNetImpl::check_shape(const torch::Tensor& x) const {
  const bool plus = config_.num_ws > 0;
  const bool ok = plus ? x.dim() == 3 && x.size(1) == config_.num_ws && x.size(2) == config_.latent_dim
                       : x.dim() == 2 && x.size(1) == config_.latent_dim;
  if (!ok)
    fail("latent transformer (" + config_.attribute + ", " + models::to_string(config_.space) + ")",
         "expects latents " +
             (plus ? "[N, " + std::to_string(config_.num_ws) + ", " + std::to_string(config_.latent_dim) + "]"
                   : "[N, " + std::to_string(config_.latent_dim) + "]") +
             ", got " + c10::str(x.sizes()) + " (an editor must come from the same model and space)");
}

torch::Tensor LatentTransformerNetImpl::direction(const torch::Tensor& latents) {
  check_shape(latents);
  if (config_.num_ws == 0) return maps->ptr<nn::LinearImpl>(0)->forward(latents);
  const auto mapped = config_.mapped_layers();
  std::vector<torch::Tensor> per_layer;
  for (int64_t l = 0; l < config_.num_ws; ++l) {
    auto it = std::find(mapped.begin(), mapped.end(), l);
    per_layer.push_back(it == mapped.end() ? torch::zeros_like(latents.select(1, l))
                                           : maps->ptr<nn::LinearImpl>(it - mapped.begin())->forward(latents.select(1, l)));
  }
  return torch::stack(per_layer, 1);
}

torch::Tensor LatentTransformerNetImpl::forward(const torch::Tensor& latents, const torch::Tensor& alpha,
                                                const std::vector<int64_t>& only) {
  check_shape(latents);
  if (alpha.dim() != 1 || alpha.size(0) != latents.size(0))
    fail("latent transformer edit", "needs one strength per latent (" + std::to_string(latents.size(0)) + ")");
  auto a = alpha.to(latents.options()).view({-1, 1});
  if (config_.num_ws == 0) return latents + a * maps->ptr<nn::LinearImpl>(0)->forward(latents);
  const auto mapped = config_.mapped_layers();
  const auto& edited = only.empty() ? mapped : only;
  // Unedited layers are the input's own tensors, so they stay bit-identical.
  std::vector<torch::Tensor> per_layer;
  for (int64_t l = 0; l < config_.num_ws; ++l) {
    auto w = latents.select(1, l);
    auto it = std::find(mapped.begin(), mapped.end(), l);
    const bool edit_it = it != mapped.end() && std::find(edited.begin(), edited.end(), l) != edited.end();
    per_layer.push_back(edit_it ? w + a * maps->ptr<nn::LinearImpl>(it - mapped.begin())->forward(w) : w);
  }
  return torch::stack(per_layer, 1);
}

LatentTransformerEditor::LatentTransformerEditor(LatentTransformerNet net, models::LatentClassifier classifier,
                                                 std::vector<int64_t> layers, std::string source)
    : net_(std::move(net)), classifier_(std::move(classifier)), layers_(std::move(layers)), source_(std::move(source)) {
  const auto& c = net_->config();
  const auto& lc = classifier_->config();
  const std::string what = "latent transformer " + (source_.empty() ? c.attribute : source_);
  if (lc.space != c.space || lc.latent_dim != c.latent_dim || lc.num_ws != c.num_ws)
    fail(what, "its latent classifier is for " + models::to_string(lc.space) + " codes of dimension " + std::to_string(lc.latent_dim) +
                   ", the transformer for " + models::to_string(c.space) + " codes of dimension " + std::to_string(c.latent_dim));
  column_ = classifier_->column(c.attribute);
  std::sort(layers_.begin(), layers_.end());
  layers_.erase(std::unique(layers_.begin(), layers_.end()), layers_.end());
  if (!layers_.empty() && c.space != models::LatentSpace::WPlus) fail("layers", "only W+ edits can be restricted to layers (use space wplus)");
  const auto mapped = c.mapped_layers();
  for (auto l : layers_)
    if (std::find(mapped.begin(), mapped.end(), l) == mapped.end())
      fail("layers", "layer " + std::to_string(l) + " has no trained map in " + what);
  net_->eval();
  classifier_->eval();
}

torch::Tensor LatentTransformerEditor::edit(const torch::Tensor& latents, const torch::Tensor& alpha) const {
  return net_.ptr()->forward(latents, alpha, layers_);
}

torch::Tensor LatentTransformerEditor::probability(const torch::Tensor& latents) const {
  return classifier_.ptr()->predict(latents).select(1, column_);
}

torch::Tensor LatentTransformerEditor::flip_sign(const torch::Tensor& latents) const {
  auto p = probability(latents);
  return torch::where(p > 0.5, torch::full_like(p, -1.0), torch::full_like(p, 1.0));
}

nlohmann::json LatentTransformerEditor::describe() const {
  const auto& c = net_->config();
  return {{"method", "transformer"}, {"attribute", c.attribute}, {"space", c.space}, {"dim", c.latent_dim},
          {"trained_layers", c.space == models::LatentSpace::WPlus ? nlohmann::json(c.mapped_layers()) : nlohmann::json::array()},
          {"layers", layers_}, {"editor", source_}};
}

namespace {
// The file's one module: the maps under "transformer.", the classifier under "classifier.".
struct Bundle : nn::Module {
  Bundle(const LatentTransformerNet& net, const models::LatentClassifier& lc) {
    register_module("transformer", net.ptr());
    register_module("classifier", lc.ptr());
  }
};
constexpr const char* kArch = "latent-transformer";
}  // namespace

void LatentTransformerEditor::to(torch::Device device) {
  net_->to(device);
  classifier_->to(device);
}

void LatentTransformerEditor::save(const std::string& path, const nlohmann::json& report) const {
  const nlohmann::json config = {{"transformer", net_->config().to_json()}, {"classifier", classifier_->config().to_json()}};
  models::save_module(path, Bundle(net_, classifier_), kArch, config, report);
}

std::unique_ptr<LatentTransformerEditor> load_latent_transformer(const std::string& path, std::vector<int64_t> layers) {
  io::SafetensorsReader file(path);
  const nlohmann::json j = models::read_config(file, kArch, "latent transformer");
  if (!j.contains("transformer") || !j.contains("classifier")) fail(path, "latent transformer config lacks transformer/classifier");
  LatentTransformerNet net(LatentTransformerConfig::from_json(j["transformer"], path));
  // The Latent Transformer's released editors edit only the first 11 W+ layers at inference (its
  // test.py); their converted files record that cut as the default.
  if (layers.empty() && j["transformer"].contains("official_edit_layers"))
    layers = j["transformer"]["official_edit_layers"].get<std::vector<int64_t>>();
  models::LatentClassifier lc(models::LatentClassifierConfig::from_json(j["classifier"], path));
  Bundle bundle(net, lc);
  auto targets = models::module_tensors(bundle);
  models::load_tensors(file, targets, "the latent transformer config in its metadata");
  return std::make_unique<LatentTransformerEditor>(net, lc, std::move(layers), path);
}

}  // namespace faceedit::edit
