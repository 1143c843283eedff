#include <fstream>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/io/json_file.h"
#include "faceedit/distributed.h"
#include "faceedit/error.h"
#include "faceedit/seeds.h"
#include "faceedit/eval/edit_sequence.h"
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
    std::string model = "dcgan-celeba32", alphas = "0:3:7", output, shard, pack;
    int64_t n = 500, batch = 50;
    uint64_t seed = seeds::kEvaluationSeed;
    edit::EditStep step;
    models::JudgePanelSpec judges = models::judge_panel_default_spec();
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  cmd->add_option("--n", o->n, "held-out samples")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000}));
  cmd->add_option("--seed", o->seed, "seed of the held-out samples (keep it apart from the training samples' seed)")->capture_default_str();
  cmd->add_option("--alpha", o->alphas, "strengths (magnitudes; each face moves towards its other side)")->capture_default_str();
  cmd->add_option("--judge", o->judges.attributes, "attribute judges (repeat: --judge a --judge b)")->capture_default_str()->allow_extra_args(false);
  cmd->add_option("-o,--output", o->output, "JSON results (a sweep grid PNG is written beside it)")->required();
  add_editor_options(cmd, o->step, {"strength"});
  cmd->add_option("--pack", o->pack, "an editor pack from `faceedit fit`: --attr's editor (--method's, else the pack's best), "
                                     "--alpha in calibrated units (1: the attribute flips on the median face)");
  cmd->add_option("--batch", o->batch, "faces per block (generated and judged together; the unit shared among processes)")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--shard", o->shard,
                  "K/N: judge only task K's share of N (job arrays without MPI); a run without --shard then merges");
  cmd->callback([o, cmd, &global] {
    stop_cleanly_on_signals();
    use_pack_model(cmd, o->pack, o->model);
    const auto device = parse_device(global.device);
    std::shared_ptr<models::Generator> g = models::open_generator(o->model, device);
    double pack_scale = 1.0;
    nlohmann::json pack_info;
    if (!o->pack.empty()) {
      const auto pack = edit::load_pack(o->pack);
      edit::check_pack_model(pack, *g);
      if (o->step.editor.attribute.empty()) fail("--pack " + o->pack, "give --attr (the attribute whose editor to evaluate)");
      const auto& e = pack.find(o->step.editor.attribute, cmd->count("--method") > 0 ? o->step.editor.method : "");
      o->step.editor = edit::pack_editor_spec(e);
      pack_scale = e.scale;
      pack_info = {{"dir", o->pack}, {"method", e.method}, {"scale", e.scale}, {"unit", e.unit}, {"alphas", edit::parse_alphas(o->alphas)}};
    }
    auto editor = edit::open_editor(o->step.editor, g);
    auto judges = models::open_judge_panel(o->judges);
    judges.attributes->to(device);
    const auto codes = g->sample_codes(o->n, o->seed, editor->space(), o->step.editor.truncation);
    eval::SweepParams sp;
    sp.alphas = edit::parse_alphas(o->alphas);
    for (auto& a : sp.alphas) a *= pack_scale;  // pack units -> the method's own
    sp.judge_target = o->step.judge_target;
    sp.truncation = o->step.editor.truncation;
    // Blocks of faces are kept beside the output until it is written: an interrupted run (or the
    // tasks of a job array, or the ranks of an MPI job) resumes from them.
    sp.share = job_share(o->shard);
    sp.batch = o->batch;
    sp.work_dir = o->output + ".work";
    auto result = eval::evaluate_sweep(*g, *editor, codes, judges, sp);
    if (!result.merged) return;  // another process merges
    result.json["model"] = o->model;
    result.json["seed"] = o->seed;
    if (!pack_info.is_null()) result.json["pack"] = pack_info;
    write_evaluation(o->output, result.json, result.grid);
    std::error_code ec;
    std::filesystem::remove_all(sp.work_dir, ec);
  });
}

void add_evaluate_sequence_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("evaluate-sequence",
                                 "Apply edits one after another (e.g. smile, then age) to held-out samples; judge each stage");
  struct Options {
    std::string model = "dcgan-celeba32", output;
    std::vector<std::string> steps;
    int64_t n = 500;
    uint64_t seed = seeds::kEvaluationSeed;
    double truncation = 1.0;
    models::JudgePanelSpec judges = models::judge_panel_default_spec();
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  cmd->add_option("--step", o->steps,
                  "an edit, in order, as key=value pairs (the editor options' names): method=interfacegan,boundary=B"
                  "[,conditions=C1+C2][,strength=S], method=transformer|l2m,editor=E[,strength=S] or method=pfsf,attr=A (repeat --step)")
      ->required();
  cmd->add_option("--n", o->n, "held-out samples")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000}));
  cmd->add_option("--seed", o->seed, "seed of the held-out samples")->capture_default_str();
  cmd->add_option("--truncation", o->truncation, "truncation psi")->capture_default_str()->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--judge", o->judges.attributes, "attribute judges (repeat: --judge a --judge b)")->capture_default_str()->allow_extra_args(false);
  cmd->add_option("-o,--output", o->output, "JSON results (a grid PNG of the stages is written beside it)")->required();
  cmd->callback([o, &global] {
    const auto device = parse_device(global.device);
    std::shared_ptr<models::Generator> g = models::open_generator(o->model, device);
    std::vector<std::unique_ptr<edit::Editor>> editors;
    std::vector<eval::SequenceStep> steps;
    for (const auto& text : o->steps) {
      auto step = edit::parse_edit_step(text);
      step.editor.truncation = o->truncation;
      editors.push_back(edit::open_editor(step.editor, g));
      steps.push_back({editors.back().get(), step.strength, step.judge_target});
    }
    auto judges = models::open_judge_panel(o->judges);
    judges.attributes->to(device);
    const auto codes = g->sample_codes(o->n, o->seed, steps[0].editor->space(), o->truncation);
    eval::SequenceParams sp;
    sp.truncation = o->truncation;
    auto result = eval::evaluate_sequence(*g, steps, codes, judges, sp);
    result.json["model"] = o->model;
    result.json["seed"] = o->seed;
    write_evaluation(o->output, result.json, result.grid);
  });
}

void add_report_command(CLI::App& app, const GlobalOptions&) {
  auto* cmd = app.add_subcommand("report", "Self-contained HTML report of `faceedit evaluate` results: plots, tables, sweep grids");
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto title = std::make_shared<std::string>("faceedit editing report");
  auto matched = std::make_shared<std::vector<double>>(std::vector<double>{0.5, 0.8});
  cmd->add_option("results", *inputs, "JSON files written by `faceedit evaluate` and `faceedit evaluate-sequence`")->required();
  cmd->add_option("--match", *matched, "target change rates at which the editors are compared side by side")
      ->capture_default_str()->delimiter(',');
  cmd->add_option("-o,--output", *out, "HTML file")->required();
  cmd->add_option("--title", *title, "page title")->capture_default_str();
  cmd->callback([inputs, out, title, matched] {
    std::vector<nlohmann::json> sweeps;
    for (const auto& f : *inputs) {
      const auto j = io::read_json_file(f, "a `faceedit evaluate` result");
      const bool sweep = j.contains("metrics") && j.contains("editor"), sequence = j.contains("steps") && j.contains("after");
      if (!sweep && !sequence) fail(f, "not a `faceedit evaluate` or `evaluate-sequence` result");
      sweeps.push_back(j);
    }
    for (double t : *matched)
      if (!(t > 0 && t <= 1)) fail("--match", "target change rates must lie in (0, 1]");
    eval::write_sweep_report(*out, *title, sweeps, *matched);
    std::cout << "wrote " << *out << "\n";
  });
}

}  // namespace faceedit::cli
