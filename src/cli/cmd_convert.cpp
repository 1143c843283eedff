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
  auto network = std::make_shared<std::string>("G_ema");
  cmd->add_option("--network", *network, "which network of a stylegan2-ada-pytorch pickle: G_ema, G (not averaged) or D (its discriminator)")
      ->check(CLI::IsMember({"G_ema", "G", "D"}));
  cmd->callback([in, out, network] {
    models::convert_checkpoint(*in, *out, *network);
    std::cout << "wrote " << *out << "\n";
  });
}

}  // namespace faceedit::cli
