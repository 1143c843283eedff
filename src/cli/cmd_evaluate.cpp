#include <fstream>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/error.h"
#include "faceedit/eval/edit_sweep.h"
#include "faceedit/eval/html_report.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/model_files.h"

namespace faceedit::cli {

void add_evaluate_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("evaluate", "Edit held-out samples to flip an attribute at a sweep of strengths; judge the results");
  struct Options {
    std::string model = "dcgan-celeba32", alphas = "0:3:7", output, judge_target;
    int64_t n = 500;
    uint64_t seed = 1000000;
    EditorOptions editor;
    models::JudgePanelSpec judges = models::judge_panel_default_spec();
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  cmd->add_option("--n", o->n, "held-out samples")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000}));
  cmd->add_option("--seed", o->seed, "seed of the held-out samples (keep it apart from the training samples' seed)")->capture_default_str();
  cmd->add_option("--alpha", o->alphas, "strengths (magnitudes; each face moves towards its other side)")->capture_default_str();
  cmd->add_option("--judge-target", o->judge_target, "the judges' column for the attribute (default: the attribute's name)");
  cmd->add_option("--judge", o->judges.attributes, "attribute judges")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "JSON results (a sweep grid PNG is written beside it)")->required();
  add_editor_options(cmd, o->editor);
  cmd->callback([o, &global] {
    const auto device = parse_device(global.device);
    auto g = models::open_generator(o->model, device);
    auto editor = make_editor(o->editor, *g);
    auto judges = models::open_judge_panel(o->judges);
    judges.attributes->to(device);
    torch::Tensor codes;
    {
      torch::NoGradGuard no_grad;
      codes = codes_from_z(*g, g->sample_z(o->n, o->seed), editor->space(), o->editor.truncation);
    }
    eval::SweepParams sp;
    sp.alphas = edit::parse_alphas(o->alphas);
    sp.judge_target = o->judge_target;
    sp.truncation = o->editor.truncation;
    auto result = eval::evaluate_sweep(*g, *editor, codes, judges, sp);
    const std::filesystem::path out(o->output);
    const std::string grid = (out.parent_path() / (out.stem().string() + ".png")).string();
    io::write_image(grid, result.grid);
    result.json["grid_png"] = grid;
    result.json["model"] = o->model;
    result.json["seed"] = o->seed;
    const std::string text = result.json.dump(2);
    io::write_file_atomic(o->output, text.data(), text.size());
    std::cout << result.json.dump() << "\n";
  });
}

void add_report_command(CLI::App& app, const GlobalOptions&) {
  auto* cmd = app.add_subcommand("report", "Self-contained HTML report of `faceedit evaluate` results: plots, tables, sweep grids");
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto title = std::make_shared<std::string>("faceedit editing report");
  cmd->add_option("results", *inputs, "JSON files written by `faceedit evaluate`")->required();
  cmd->add_option("-o,--output", *out, "HTML file")->required();
  cmd->add_option("--title", *title, "page title")->capture_default_str();
  cmd->callback([inputs, out, title] {
    std::vector<nlohmann::json> sweeps;
    for (const auto& f : *inputs) {
      std::ifstream in(f);
      if (!in) fail(f, "cannot open");
      auto j = nlohmann::json::parse(in, nullptr, false);
      if (j.is_discarded()) fail(f, "not valid JSON");
      if (!j.contains("metrics") || !j.contains("editor")) fail(f, "not a `faceedit evaluate` result (no metrics/editor)");
      sweeps.push_back(j);
    }
    eval::write_sweep_report(*out, *title, sweeps);
    std::cout << "wrote " << *out << "\n";
  });
}

}  // namespace faceedit::cli
