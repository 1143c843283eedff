#include <filesystem>
#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/error.h"
#include "faceedit/eval/edit_sweep.h"
#include "faceedit/io/image.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/model_files.h"

namespace faceedit::cli {

void add_edit_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("edit", "Edit faces from seeds or latents at a sweep of strengths; writes a grid and the edited latents");
  struct Options {
    std::string model = "dcgan-celeba32", seeds, latents, latents_space = "z", alphas = "-3:3:7", output;
    edit::EditStep step;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  auto* seeds = cmd->add_option("--seeds", o->seeds, "seeds, e.g. 0-7");
  auto* latents = cmd->add_option("--latents", o->latents, "safetensors with key 'latents' (e.g. a generate grid's .latents file)");
  seeds->excludes(latents);
  cmd->add_option("--latents-space", o->latents_space, "space of --latents: z, w or wplus")->capture_default_str();
  cmd->add_option("--alpha", o->alphas, "strengths: start:stop:count or a,b,c")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "sweep grid image (rows: faces, columns: strengths)")->required();
  add_editor_options(cmd, o->step, {"strength", "judge-target"});
  cmd->callback([o, &global] {
    if (o->seeds.empty() == o->latents.empty()) fail("edit", "give --seeds or --latents");
    const auto alphas = edit::parse_alphas(o->alphas);
    std::shared_ptr<models::Generator> g = models::open_generator(o->model, parse_device(global.device));
    auto editor = edit::open_editor(o->step.editor, g);
    const auto space = editor->space();
    torch::NoGradGuard no_grad;
    torch::Tensor codes;
    if (!o->seeds.empty()) {
      std::vector<torch::Tensor> z;
      for (auto s : parse_seeds(o->seeds)) z.push_back(g->sample_z(1, s));
      codes = g->codes_from_z(torch::cat(z), space, o->step.editor.truncation);
    } else {
      io::SafetensorsReader file(o->latents);
      if (!file.contains("latents")) fail(o->latents, "has no tensor named 'latents'");
      auto lat = file.load("latents").to(g->device());
      const auto from = models::parse_latent_space(o->latents_space);
      g->check_latents(lat, from, o->latents);
      if (from == space) codes = lat;
      else if (from == models::LatentSpace::Z) codes = g->codes_from_z(lat, space, o->step.editor.truncation);
      else if (from == models::LatentSpace::W && space == models::LatentSpace::WPlus)
        codes = lat.unsqueeze(1).repeat({1, g->num_ws(), 1});
      else fail(o->latents, models::to_string(from) + " latents cannot be edited in " + models::to_string(space));
    }
    if (codes.size(0) > 1000) fail("edit", "at most 1000 faces per sweep grid");
    auto images = eval::sweep_images(*g, *editor, codes, alphas, o->step.editor.truncation);
    const int scale = std::max<int>(1, static_cast<int>((128 + g->resolution() - 1) / g->resolution()));
    io::write_image(o->output, io::make_grid(images.cpu(), static_cast<int>(alphas.size()), 2, scale));
    // The edited codes, row-major like the grid: [faces * strengths, ...].
    std::vector<torch::Tensor> edited;
    auto a = torch::tensor(alphas, torch::kFloat).to(codes.device());
    for (int64_t i = 0; i < codes.size(0); ++i)
      edited.push_back(editor->edit(codes.narrow(0, i, 1).repeat_interleave(a.size(0), 0), a));
    const std::string lat_path =
        (std::filesystem::path(o->output).parent_path() / (std::filesystem::path(o->output).stem().string() + ".latents.safetensors")).string();
    io::write_safetensors(lat_path, {{"latents", torch::cat(edited).cpu()}, {"alphas", a.cpu()}},
                          {{"faceedit.model", o->model}, {"faceedit.space", models::to_string(space)},
                           {"faceedit.editor", editor->describe().dump()}});
    std::cout << nlohmann::json{{"grid", o->output}, {"latents", lat_path}, {"faces", codes.size(0)},
                                {"alphas", alphas}, {"editor", editor->describe()}}.dump() << "\n";
  });
}

}  // namespace faceedit::cli
