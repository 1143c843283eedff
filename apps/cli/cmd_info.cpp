#include <algorithm>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "faceedit/models/checkpoint_formats.h"
#include "faceedit/models/model_files.h"

namespace faceedit::cli {

void add_info_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("info", "Print a model's architecture, config, parameter count and latent spaces");
  auto model = std::make_shared<std::string>();
  cmd->add_option("model", *model, "model file or known name (e.g. dcgan-celeba32)")->required();
  cmd->callback([model, &global] {
    // Third-party checkpoints: the format found by content, the config inferred from the tensors,
    // the tensor count; then the generator's view when the file holds one.
    nlohmann::json found;
    if ((models::is_converted_checkpoint(*model) || models::is_torch_checkpoint(*model)) && std::filesystem::exists(*model)) {
      found = models::inspect_checkpoint(*model);
      const auto& nets = found.value("networks", nlohmann::json::array());
      if (std::find(nets.begin(), nets.end(), "G_ema") == nets.end()) {
        std::cout << found.dump(2) << "\n";
        return;
      }
    }
    auto g = models::open_generator(*model, parse_device(global.device));
    nlohmann::json spaces = nlohmann::json::array();
    for (auto s : {models::LatentSpace::Z, models::LatentSpace::W, models::LatentSpace::WPlus})
      if (g->has_space(s)) spaces.push_back(models::to_string(s));
    nlohmann::json out = {{"model", *model},
                          {"arch", g->arch()},
                          {"resolution", g->resolution()},
                          {"parameters", g->parameter_count()},
                          {"latent_spaces", spaces},
                          {"z_dim", g->z_dim()},
                          {"w_dim", g->w_dim()},
                          {"num_ws", g->num_ws()},
                          {"gflop_per_image", g->synthesis_gflop()},
                          {"config", g->config()}};
    if (!found.is_null()) out["checkpoint"] = found;
    std::cout << out.dump(2) << "\n";
  });
}

}  // namespace faceedit::cli
