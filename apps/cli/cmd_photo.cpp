// faceedit photo: parse, call pipeline::edit_photo, print (the pipeline lives in pipeline/photo.h).
#include <cmath>
#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/error.h"
#include "faceedit/eval/photo_metrics.h"
#include "faceedit/io/image.h"
#include "faceedit/models/model_files.h"
#include "faceedit/pipeline/photo.h"
#include "faceedit/pipeline/photo_batch.h"
#include "faceedit/distributed.h"
#include "faceedit/runtime.h"

namespace faceedit::cli {

namespace {

struct PhotoOptions {
  std::string input, output, model = "dcgan-celeba32", keep, cache = "default", batch, shard, pack;
  bool method_given = false;  // --method on the command line (else a pack picks each attribute's best)
  std::vector<std::string> edits;
  edit::EditStep step;  // the one-attribute form (--attr, --strength) and every edit's defaults
  bool flip = false, personalize = false, no_personalize = false;
  pipeline::PhotoParams params;
};

std::vector<pipeline::PhotoEdit> photo_edits(const PhotoOptions& o, const models::Generator& g) {
  std::vector<pipeline::PhotoEdit> edits;
  if (!o.pack.empty()) {
    for (const auto& step : pack_steps(o.pack, o.edits, o.step, o.method_given, g)) edits.push_back({step.editor, step.strength, o.flip});
    return edits;
  }
  for (const auto& e : o.edits) {
    const auto step = edit::parse_edit(e, o.step);
    edits.push_back({step.editor, step.strength, o.flip});
  }
  if (edits.empty()) edits.push_back({o.step.editor, o.step.strength, o.flip});  // the one-attribute form
  return edits;
}

pipeline::PhotoParams photo_params(const PhotoOptions& o) {
  auto params = o.params;
  params.personalize = o.no_personalize ? pipeline::Personalize::Never : o.personalize ? pipeline::Personalize::Always : pipeline::Personalize::Auto;
  if (o.cache != "none") params.cache_dir = o.cache == "default" ? cache_dir() / "photos" : std::filesystem::path(o.cache);
  return params;
}

// --batch: one line per photo on stdout (with its timings), then batch.json's summary.
void run_photo_batch(const PhotoOptions& o, const GlobalOptions& global) {
  if (!o.keep.empty()) fail("--keep-intermediates", "is for one photo; a batch writes each photo's record beside it");
  stop_cleanly_on_signals();  // Ctrl-C stops between photos; rerun to continue
  const auto photos = pipeline::list_batch_photos(o.batch);
  std::shared_ptr<models::Generator> g = models::open_generator(o.model, parse_device(global.device));
  pipeline::PhotoBatchParams p;
  p.edits = photo_edits(o, *g);
  p.photo = photo_params(o);
  p.share = job_share(o.shard);
  eval::PhotoMeasurer measurer(p.photo, g->device());
  p.measure = measurer.callback();
  const std::string who = p.share.label().empty() ? "photo" : "photo " + p.share.label();
  auto r = pipeline::edit_photo_batch(photos, g, o.model, p, o.output, [&](const pipeline::PhotoBatchItem& item) {
    nlohmann::json line = {{"photo", item.photo}, {"index", item.index}};
    if (item.skipped) line["skipped"] = "edited before";
    if (!item.error.empty()) line["error"] = item.error;
    if (item.result) line.update({{"timings", item.result->timings}, {"cache_hit", item.result->cache_hit}});
    std::cerr << who << ": " << item.index + 1 << "/" << photos.size() << " " << item.photo
              << (item.skipped ? " (edited before)" : item.error.empty() ? "" : ": " + item.error) << "\n";
    std::cout << line.dump() << std::endl;
  });
  if (!r.merged) return;
  std::cout << nlohmann::json({{"output", o.output}, {"batch", o.output + "/batch.json"}, {"edited", r.json["edited"]},
                               {"failed", r.json["failed"]}}).dump() << std::endl;
}

void run_photo(const PhotoOptions& o, const GlobalOptions& global) {
  if (!o.batch.empty()) {
    if (!o.input.empty()) fail("photo", "give either one photo or --batch DIR|LIST, not both");
    return run_photo_batch(o, global);
  }
  if (o.input.empty()) fail("photo", "give a photo (or --batch DIR|LIST)");
  if (!o.shard.empty()) fail("--shard", "is for --batch");
  const auto params = photo_params(o);
  const cv::Mat photo = io::read_image(o.input);
  std::shared_ptr<models::Generator> g = models::open_generator(o.model, parse_device(global.device));
  const auto edits = photo_edits(o, *g);
  const auto print_stage = [](const pipeline::PhotoStage& s) {
    auto line = s.info.is_object() ? s.info : nlohmann::json{{"info", s.info}};
    line["stage"] = s.name;
    line["seconds"] = s.seconds;
    std::cout << line.dump() << std::endl;
  };
  eval::PhotoMeasurer measurer(params, g->device());
  const auto result = pipeline::edit_photo(photo, o.input, g, o.model, edits, params, print_stage, o.keep, measurer.callback());
  for (const auto& e : result.edits)
    if (!e.note.empty()) std::cerr << "note: " << o.input << ": " << e.note << "\n";
  io::write_image(o.output, result.photo);
  auto summary = result.to_json();
  summary.update({{"input", o.input}, {"output", o.output}, {"model", o.model}});
  std::cout << summary.dump() << std::endl;
}

}  // namespace

void add_photo_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("photo", "Edit attributes of the face in a photo: align, invert, personalize, walk (PFSF) or edit, fuse back");
  auto o = std::make_shared<PhotoOptions>();
  o->step.editor.method = "pfsf";
  auto& p = o->params;
  cmd->add_option("input", o->input, "photo (JPEG, PNG, ...) with exactly one face");
  cmd->add_option("-o,--output", o->output, "edited photo (same size as the input); with --batch, the output directory")->required();
  cmd->add_option("--batch", o->batch,
                  "edit many photos: a directory of images or a list file (one path a line) -> OUTDIR/<name> + <name>.json "
                  "and OUTDIR/batch.json; resumable; shared by MPI ranks (mpirun -n N)");
  cmd->add_option("--shard", o->shard, "with --batch: K/N, edit only task K's share of N (job arrays); a run without --shard merges");
  add_editor_options(cmd, o->step, {"judge-target"});
  cmd->add_option("--edit", o->edits, "an edit, in order: ATTRIBUTE=STRENGTH (e.g. smiling=+1; method etc. from the options) or key=value pairs (repeat --edit)")
      ->allow_extra_args(false);
  cmd->add_flag("--flip", o->flip, "move the face to the other side of each attribute (the sign of the strengths is ignored)");
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  add_pack_option(cmd, o->pack);
  add_photo_options(cmd, p);
  cmd->add_flag("--personalize", o->personalize, "personalize for other methods too");
  cmd->add_flag("--no-personalize", o->no_personalize, "skip personalization");
  cmd->add_option("--cache", o->cache, "where photo preparations (alignment, inversion, personalization) are kept for instant re-edits: "
                                       "a directory, default (the model cache's photos/) or none")->capture_default_str();
  cmd->add_option("--keep-intermediates", o->keep, "directory for the aligned crop, reconstruction, edit, mask, before/after, walks, delta");
  cmd->callback([o, cmd, &global] {
    o->method_given = cmd->count("--method") > 0;
    use_pack_model(cmd, o->pack, o->model);
    run_photo(*o, global);
  });
}

}  // namespace faceedit::cli
