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

}  // namespace faceedit::cli
