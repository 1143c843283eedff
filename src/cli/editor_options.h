// Options shared by the commands that edit (edit, evaluate): which editor, which latents.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "faceedit/edit/editor.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"

namespace faceedit::cli {

struct EditorOptions {
  std::string method = "interfacegan";   // interfacegan, transformer, l2m, pfsf
  std::string boundary;                 // interfacegan: .safetensors or official .npy
  std::string editor;                   // transformer, l2m: the file `faceedit train-editor` wrote
  std::vector<std::string> conditions;  // interfacegan: boundaries to stay orthogonal to
  std::string space;                    // z, w, wplus ("" : the boundary's own space, else z)
  std::string layers;                   // wplus: e.g. 0-7 (transformer: a subset of its trained layers)
  std::string distance = "relative";
  std::string attribute;                // overrides the boundary's attribute name; pfsf: the target
  std::vector<std::string> classifiers;  // pfsf: supervision classifier specs (default: smiles, utkface)
  double truncation = 1.0;
};

void add_editor_options(CLI::App* cmd, EditorOptions& o);

// Our supervision classifier(s), combined: specs as models::open_classifier takes them (default:
// smiles and utkface), moved to `device`.
std::shared_ptr<models::AttributeClassifier> open_supervision(const std::vector<std::string>& specs, torch::Device device);

// One editor written as a single argument, for commands that take several (evaluate-sequence):
// "method=interfacegan,boundary=smiling.safetensors,conditions=male.safetensors+young.safetensors,strength=1.5".
// Keys are the long options of add_editor_options (method, boundary, editor, conditions [joined by
// '+'], space, layers, distance, attr, truncation) plus `strength` and `judge-target`, which go to
// the returned extras. Unknown keys and malformed pairs are errors naming the spec.
struct EditorSpec {
  EditorOptions options;
  double strength = 1.0;
  std::string judge_target;
};
EditorSpec parse_editor_spec(const std::string& spec);

// The editor of o.method, checked against the generator (space, dimension, W+ layers); errors name
// the option or file at fault. Editors may borrow `g` (pfsf walks through it): keep g alive while
// the editor is used.
std::unique_ptr<edit::Editor> make_editor(const EditorOptions& o, const models::Generator& g);

// z latents -> codes of `space` (W/W+ through the mapping with the truncation of `o`).
torch::Tensor codes_from_z(const models::Generator& g, const torch::Tensor& z, models::LatentSpace space, double truncation);

// Writes an evaluation result: `grid` as OUTPUT-stem.png beside `output` (its path goes into
// json["grid_png"]), the JSON atomically to `output`, and one JSON line to stdout.
void write_evaluation(const std::string& output, nlohmann::json json, const cv::Mat& grid);

// Images of codes in `space` (Z codes get the truncation; W/W+ codes were truncated when mapped).
torch::Tensor images_of(const models::Generator& g, const torch::Tensor& codes, models::LatentSpace space, double truncation);

}  // namespace faceedit::cli
