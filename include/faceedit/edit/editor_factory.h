// faceedit — one way to open any editor: an EditorSpec names the method and what it needs, and
// open_editor() checks it against the generator and returns the edit::Editor.
//
//   edit::EditorSpec spec;
//   spec.method = "interfacegan";  spec.boundary = "smiling.safetensors";
//   auto editor = edit::open_editor(spec, g);                         // g: shared_ptr<Generator>
//   auto step = edit::parse_edit("method=pfsf,attr=smile,strength=1.5");   // the same keys
//   auto smile = edit::parse_edit("smile=+1", defaults);                   // or ATTRIBUTE=STRENGTH
//   auto walker = edit::open_editor(step.editor, g);
//
// The keys of a spec live in one table, editor_keys(): the CLI registers them as options (--boundary,
// --condition, ...) and parse_edit_step() reads "key=value,key=value" with the same setters, so the
// two forms cannot drift. Attribute names go through models::canonical_attribute (any case, aliases).
// Errors are faceedit::Error naming the key or file at fault ("method pfsf: needs attr ...").
//
// Thread-safety: open_editor() loads files; the editors it returns are immutable (see editor.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faceedit/edit/editor.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"

namespace faceedit::edit {

struct EditorSpec {
  std::string method = "interfacegan";  // interfacegan, transformer, l2m, pfsf
  std::string boundary;                 // interfacegan: .safetensors from `faceedit boundary`, or an official .npy
  std::string editor_file;              // transformer, l2m: the file `faceedit train-editor` wrote
  std::vector<std::string> conditions;  // interfacegan: boundaries the edit must not move along
  std::optional<models::LatentSpace> space;  // none: the boundary's or editor's own, pfsf: the generator's default
  std::string layers;                   // wplus: e.g. 0-7
  std::string distance = "relative";    // interfacegan: relative (step alpha) or absolute (end at alpha)
  std::string attribute;                // canonical CelebA name; interfacegan: overrides the boundary's
  std::vector<std::string> classifiers;  // pfsf: supervision classifiers (empty: models::kDefaultGuide)
  double truncation = 1.0;              // of Z codes (W/W+ codes were truncated when mapped)
  // pfsf: the walk's budget, step and crossing threshold (edit::WalkParams).
  int walk_steps = 60;
  double step_length = 0.25, threshold = 0.5;
  std::vector<std::string> preserve;  // columns the walk keeps (empty: male, young, eyeglasses, mustache,
                                      // wearing_hat where the classifier has them, else every other column)
};

// One edit of a sequence: an editor and its strength (+ which judge column measures it, for eval).
struct EditStep {
  EditorSpec editor;
  double strength = 1.0;
  std::string judge_target;
};

// One key of a spec: `key` in "key=value" specs, `flag` as the CLI's long option (without "--").
// list keys take several values (CLI: comma-separated; spec: joined by '+') and append.
struct EditorKey {
  std::string key, flag, help;
  bool list = false;
  std::function<void(EditStep&, const std::string& value)> set;
};
const std::vector<EditorKey>& editor_keys();

// "method=interfacegan,boundary=smiling.safetensors,conditions=male.safetensors+young.safetensors,strength=1.5"
// on top of `base`. Unknown keys, malformed pairs and bad numbers are errors naming the spec.
EditStep parse_edit_step(const std::string& spec, EditStep base = {});

// The one edit grammar of every command, the server and the API: "ATTRIBUTE=STRENGTH" (smile=+1;
// the other keys from `defaults`) or a full key=value spec as parse_edit_step() reads it
// (method=interfacegan,boundary=B,strength=2): the left side of the first '=' says which.
EditStep parse_edit(const std::string& text, EditStep defaults = {});

// A key naming everything that shapes the editor a spec opens (equal keys: the same editor).
std::string spec_key(const EditorSpec& spec);

// The strengths a slider offers per method (sign: direction): InterFaceGAN's unit is a distance
// along the boundary normal, the others' the method's own unit.
struct StrengthRange {
  double min, max;
};
StrengthRange strength_range(const std::string& method);

// Opens the editor of spec.method, checked against g (space, dimension, W+ layers, attribute).
// pfsf walks through g and keeps identity through `identity` (null: our default guide's embedding);
// the editor holds g, so a generator personalized in place is what it walks.
std::unique_ptr<Editor> open_editor(const EditorSpec& spec, std::shared_ptr<const models::Generator> g,
                                    std::shared_ptr<models::IdentityEmbedder> identity = nullptr);

// Our supervision classifier(s), combined (specs as models::open_classifier takes them; empty: the
// default guide), moved to `device`.
std::shared_ptr<models::AttributeClassifier> open_supervision(const std::vector<std::string>& specs, torch::Device device);

}  // namespace faceedit::edit
