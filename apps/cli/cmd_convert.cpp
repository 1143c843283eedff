#include <iostream>

#include "commands.h"
#include "faceedit/models/model_files.h"

namespace faceedit::cli {

void add_convert_command(CLI::App& app, const GlobalOptions&) {
  auto* cmd = app.add_subcommand(
      "convert", "Convert a third-party checkpoint (stylegan2-ada-pytorch .pkl, the DCGAN .pt, rosinality .pt, pSp/e4e .pt, "
                 "Latent Transformer .pth/.pth.tar) to safetensors");
  auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  cmd->add_option("input", *in, "checkpoint to convert")->required();
  cmd->add_option("output", *out, "output .safetensors")->required();
  auto network = std::make_shared<std::string>("G_ema");
  cmd->add_option("--network", *network,
                  "which network: G_ema, G (not averaged) or D (its discriminator) of a stylegan2-ada pickle or a rosinality "
                  "checkpoint; E: a pSp/e4e checkpoint's encoder")
      ->check(CLI::IsMember({"G_ema", "G", "D", "E"}));
  auto classifier = std::make_shared<std::string>();
  cmd->add_option("--classifier", *classifier, "a Latent Transformer tnet file's latent classifier (latent_classifier_epoch_20.pth)");
  cmd->callback([in, out, network, classifier] {
    if (!classifier->empty())
      models::run_python_tool("faceedit_convert.py", {*in, *out, "--network", *network, "--classifier", *classifier}, *in);
    else
      models::convert_checkpoint(*in, *out, *network);
    std::cout << "wrote " << *out << "\n";
  });
}

}  // namespace faceedit::cli
