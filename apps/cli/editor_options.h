// Options shared by the commands that edit (edit, evaluate, photo): the editor keys of
// edit::editor_keys() as CLI options, and the helpers those commands share.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <set>
#include <string>

#include "faceedit/edit/editor_factory.h"
#include "faceedit/edit/pack.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/photo.h"

namespace faceedit::cli {

// Registers every key of edit::editor_keys() (except `skip`) as --flag on `cmd`, writing into
// `step` through the table's setters (so a CLI option and a key=value spec mean the same thing).
void add_editor_options(CLI::App* cmd, edit::EditStep& step, const std::set<std::string>& skip = {});

// The photo pipeline's settings (pipeline::PhotoParams) as options, one table for photo, video, serve
// and evaluate-photos: the same names, help and ranges everywhere (`skip`: keys a command sets itself).
void add_photo_options(CLI::App* cmd, pipeline::PhotoParams& p, const std::set<std::string>& skip = {});

// --pack PACK (edit/pack.h): edits in calibrated strengths, each attribute's editor from the pack.
void add_pack_option(CLI::App* cmd, std::string& pack_dir);
// With --pack: the model is the pack's unless --model was given (then it must be the pack's model).
void use_pack_model(const CLI::App* cmd, const std::string& pack_dir, std::string& model);
// The steps of `edits` ("ATTRIBUTE=STRENGTH", pack units) through the pack; with no edits, the
// one-attribute form `one` (--attr, --strength). The method is the one given with --method, else
// the pack's best for each attribute. Checks that the pack was made for `g`.
std::vector<edit::EditStep> pack_steps(const std::string& pack_dir, const std::vector<std::string>& edits, const edit::EditStep& one,
                                       bool method_given, const models::Generator& g);

// Writes an evaluation result: `grid` as OUTPUT-stem.png beside `output` (its path goes into
// json["grid_png"]), the JSON atomically to `output`, and one JSON line to stdout.
void write_evaluation(const std::string& output, nlohmann::json json, const cv::Mat& grid);

}  // namespace faceedit::cli
