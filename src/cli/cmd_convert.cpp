#include <iostream>

#include "commands.h"
#include "faceedit/models/model_files.h"

namespace faceedit::cli {

void add_convert_command(CLI::App& app, const GlobalOptions&) {
  auto* cmd = app.add_subcommand(
      "convert", "Convert a third-party checkpoint (stylegan2-ada-pytorch .pkl, the DCGAN .pt) to safetensors");
  auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  cmd->add_option("input", *in, "checkpoint to convert")->required();
  cmd->add_option("output", *out, "output .safetensors")->required();
  cmd->callback([in, out] {
    models::convert_checkpoint(*in, *out);
    std::cout << "wrote " << *out << "\n";
  });
}

}  // namespace faceedit::cli
