#include "editor_options.h"

#include <filesystem>
#include <iostream>

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

void write_evaluation(const std::string& output, nlohmann::json json, const cv::Mat& grid) {
  const std::filesystem::path out(output);
  const std::string grid_png = (out.parent_path() / (out.stem().string() + ".png")).string();
  io::write_image(grid_png, grid);
  json["grid_png"] = grid_png;
  const std::string text = json.dump(2);
  io::write_file_atomic(output, text.data(), text.size());
  std::cout << json.dump() << "\n";
}

pipeline::PhotoEdit parse_photo_edit(const std::string& text, const edit::EditStep& defaults, bool flip) {
  const auto eq = text.find('=');
  const std::string left = eq == std::string::npos ? text : text.substr(0, eq);
  bool is_key = false;
  for (const auto& k : edit::editor_keys()) is_key = is_key || k.key == left;
  edit::EditStep step;
  if (is_key) {
    step = edit::parse_edit_step(text, defaults);
  } else {
    if (eq == std::string::npos) fail("--edit " + text, "write ATTRIBUTE=STRENGTH (e.g. smiling=+1) or key=value pairs");
    step = edit::parse_edit_step("attr=" + left + ",strength=" + text.substr(eq + 1), defaults);
  }
  return {step.editor, step.strength, flip};
}

}  // namespace faceedit::cli
