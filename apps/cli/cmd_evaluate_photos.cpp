// faceedit evaluate-photos: edit photos with the photo pipeline and judge them in-process
// (eval/photo_eval.h); the result is an input of `faceedit report`.
#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/error.h"
#include "faceedit/eval/photo_eval.h"
#include "faceedit/models/model_files.h"
#include "faceedit/runtime.h"

namespace faceedit::cli {

void add_evaluate_photos_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("evaluate-photos", "Edit photos with the photo pipeline and judge the results in-process (no JPEG round trip)");
  struct Options {
    std::vector<std::string> photos;
    std::string model = "dcgan-celeba32", output, cache = "default", direction = "flip";
    edit::EditStep step;
    bool flip = false;
    eval::PhotoEvalParams eval;
    models::JudgePanelSpec judges = models::judge_panel_default_spec();
  };
  auto o = std::make_shared<Options>();
  o->step.editor.method = "pfsf";
  cmd->add_option("photos", o->photos, "photos, one face each")->required();
  add_editor_options(cmd, o->step, {"judge-target"});
  cmd->add_flag("--flip", o->flip, "move each face to the other side of the attribute (the sign of --strength is ignored)");
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  cmd->add_option("--label", o->eval.label, "the method's name in the report (default: METHOD (photos))");
  cmd->add_option("--direction", o->direction, "judged change: flip (each face's label), raise or lower")->capture_default_str()
      ->check(CLI::IsMember({"flip", "raise", "lower"}));
  add_photo_options(cmd, o->eval.photo, {"judge-identity"});  // the judges below measure identity
  cmd->add_option("--cache", o->cache, "photo preparation cache: a directory, default or none")->capture_default_str();
  cmd->add_option("--judge", o->judges.attributes, "attribute judges (repeat: --judge a --judge b)")->capture_default_str()->allow_extra_args(false);
  cmd->add_option("-o,--output", o->output, "JSON results (a before/after grid PNG is written beside it)")->required();
  cmd->callback([o, &global] {
    const auto device = parse_device(global.device);
    auto& p = o->eval;
    p.edits = {{o->step.editor, o->step.strength, o->flip}};
    p.photo.identity_judge = "none";  // the judges below measure identity
    if (o->cache != "none") p.photo.cache_dir = o->cache == "default" ? cache_dir() / "photos" : std::filesystem::path(o->cache);
    p.direction = o->direction == "raise" ? 1 : o->direction == "lower" ? -1 : 0;
    std::shared_ptr<models::Generator> g = models::open_generator(o->model, device);
    auto judges = models::open_judge_panel(o->judges);
    judges.attributes->to(device);
    auto r = eval::evaluate_photo_edits(o->photos, g, o->model, judges, p,
                                        [&](size_t i, const std::string& path, const pipeline::PhotoResult* res, const std::string& err) {
                                          std::cerr << "evaluate-photos: " << i + 1 << "/" << o->photos.size() << " " << path
                                                    << (res ? (res->cache_hit ? " (from the cache)" : "") : ": " + err) << "\n";
                                        });
    r.json["model"] = o->model;
    write_evaluation(o->output, r.json, r.grid);
  });
}

}  // namespace faceedit::cli
