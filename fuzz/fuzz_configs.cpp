// The configs that model and editor files carry in their safetensors metadata: any JSON a file
// could hold is checked by each from_json (a refusal is a faceedit::Error, never a JSON library
// exception, a crash or an absurd allocation).
#include <nlohmann/json.hpp>

#include "faceedit/edit/l2m.h"
#include "faceedit/edit/latent_transformer.h"
#include "faceedit/error.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/latent_classifier.h"
#include "faceedit/models/stylegan2.h"

namespace {
template <class F>
void refused_cleanly(F f) {
  try {
    f();
  } catch (const faceedit::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  refused_cleanly([&] { (void)faceedit::models::StyleGAN2Config::from_json(j, "fuzz"); });
  refused_cleanly([&] { (void)faceedit::models::FaceClassifierConfig::from_json(j, "fuzz"); });
  refused_cleanly([&] { (void)faceedit::models::LatentClassifierConfig::from_json(j, "fuzz"); });
  refused_cleanly([&] { (void)faceedit::models::InputSpec::from_json(j, "fuzz"); });
  refused_cleanly([&] { (void)faceedit::edit::L2MConfig::from_json(j, "fuzz"); });
  refused_cleanly([&] { (void)faceedit::edit::LatentTransformerConfig::from_json(j, "fuzz"); });
  return 0;
}
