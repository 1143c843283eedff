#include "editor_options.h"

#include <filesystem>
#include <iostream>
#include <sstream>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"

namespace faceedit::cli {

void add_editor_options(CLI::App* cmd, edit::EditStep& step, const std::set<std::string>& skip) {
  for (const auto& key : edit::editor_keys()) {
    if (skip.count(key.key)) continue;
    // CLI11 calls these once the command line parsed, in order; errors surface as faceedit::Error.
    if (key.list) {
      cmd->add_option_function<std::vector<std::string>>(
             "--" + key.flag, [&step, &key](const std::vector<std::string>& values) { for (const auto& v : values) key.set(step, v); },
             key.help + " (comma-separated)")
          ->delimiter(',');
    } else {
      auto* opt = cmd->add_option_function<std::string>("--" + key.flag, [&step, &key](const std::string& v) { key.set(step, v); }, key.help);
      // The command's own defaults (photo walks with pfsf, edit uses interfacegan) in its help.
      if (key.key == "method") opt->default_str(step.editor.method);
      if (key.key == "strength") opt->default_str(nlohmann::json(step.strength).dump());
      if (key.key == "truncation") opt->default_str(nlohmann::json(step.editor.truncation).dump());
    }
  }
}

void add_photo_options(CLI::App* cmd, pipeline::PhotoParams& p, const std::set<std::string>& skip) {
  const auto want = [&](const char* key) { return skip.count(key) == 0; };
  if (want("guide")) cmd->add_option("--guide", p.guide, "our classifier guiding inversion (features + identity): name, path or none")->capture_default_str();
  if (want("judge-identity")) cmd->add_option("--judge-identity", p.identity_judge, "identity judge for the metrics (none: skip)")->capture_default_str();
  if (want("perceptual")) cmd->add_option("--perceptual", p.perceptual, "LPIPS-like TorchScript forward(a, b) -> distances, instead of the guide's features");
  if (want("segmenter")) cmd->add_option("--segmenter", p.segmenter, "portrait segmenter (judge name or path; none: landmark hull only)")->capture_default_str();
  if (want("crop")) cmd->add_option("--crop", p.crop, "aligned crop size")->capture_default_str()->check(CLI::Range(32, 1024));
  if (want("zoom")) cmd->add_option("--zoom", p.zoom, "crop = FFHQ's quad scaled by this (default: the generator's framing)")->check(CLI::Range(0.2, 3.0));
  if (want("shift")) cmd->add_option("--shift", p.shift, "crop moved this fraction of its side towards the chin (default: the generator's)")->check(CLI::Range(-0.5, 0.5));
  if (want("inversion-steps"))
    cmd->add_option("--inversion-steps", p.inversion_steps, "inversion steps (0: the --encoder's code alone; video: of a cold start)")
        ->capture_default_str()->check(CLI::Range(0, 100000));
  if (want("encoder")) cmd->add_option("--encoder", p.encoder, "encoder: ours from `faceedit train-encoder`, or a pSp/e4e .pt: the inversion starts at its code (one start)");
  if (want("starts")) cmd->add_option("--starts", p.starts, "random starts of a Z inversion")->capture_default_str()->check(CLI::Range(1, 64));
  if (want("personalize-steps"))
    cmd->add_option("--personalize-steps", p.personalize_steps, "personalization steps (0: none)")->capture_default_str()->check(CLI::Range(0, 100000));
  if (want("poisson")) cmd->add_flag("--poisson", p.poisson, "Poisson (seamless) blending inside the mask");
  if (want("replace")) cmd->add_flag("--replace", p.replace, "paste the generator's face instead of adding its change to the photo's crop");
}

void write_evaluation(const std::string& output, nlohmann::json json, const cv::Mat& grid) {
  const std::filesystem::path out(output);
  const std::string grid_png = (out.parent_path() / (out.stem().string() + ".png")).string();
  io::write_image(grid_png, grid);
  json["grid_png"] = grid_png;
  const std::string text = json.dump(2);
  io::write_file_atomic(output, text.data(), text.size());
  std::cout << json.dump() << "\n";
}

void add_pack_option(CLI::App* cmd, std::string& pack_dir) {
  cmd->add_option("--pack", pack_dir,
                  "an editor pack from `faceedit fit` (its model by default): --edit ATTRIBUTE=STRENGTH in calibrated units "
                  "(1: the attribute flips on the median face), each attribute's best method unless --method says");
}

void use_pack_model(const CLI::App* cmd, const std::string& pack_dir, std::string& model) {
  if (pack_dir.empty()) return;
  const auto pack = edit::load_pack(pack_dir);
  if (cmd->count("--model") == 0) model = pack.model;
}

std::vector<edit::EditStep> pack_steps(const std::string& pack_dir, const std::vector<std::string>& edits, const edit::EditStep& one,
                                       bool method_given, const models::Generator& g) {
  const auto pack = edit::load_pack(pack_dir);
  edit::check_pack_model(pack, g);
  const std::string method = method_given ? one.editor.method : "";
  std::vector<edit::EditStep> steps;
  for (const auto& e : edits) steps.push_back(edit::pack_edit(pack, e, method));
  if (edits.empty()) {
    if (one.editor.attribute.empty()) fail("--pack " + pack_dir, "give --edit ATTRIBUTE=STRENGTH (or --attr and --strength)");
    std::ostringstream text;
    text << one.editor.attribute << "=" << one.strength;
    steps.push_back(edit::pack_edit(pack, text.str(), method));
  }
  return steps;
}

}  // namespace faceedit::cli
