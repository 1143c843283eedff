// faceedit video: parse, call eval::edit_and_measure_video, print (the pipeline lives in pipeline/video.h).
#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/models/model_files.h"
#include "faceedit/eval/video_eval.h"
#include "faceedit/runtime.h"

namespace faceedit::cli {

namespace {

struct VideoOptions {
  std::string input, output, model = "dcgan-celeba32", work = "default", report, pack;
  bool method_given = false;
  std::vector<std::string> edits;
  edit::EditStep step;
  bool flip = false, no_flow = false, cold = false, no_sbs = false, no_measure = false;
  pipeline::VideoParams params;
};

void run_video(const VideoOptions& o, const GlobalOptions& global) {
  std::shared_ptr<models::Generator> g = models::open_generator(o.model, parse_device(global.device));
  std::vector<pipeline::PhotoEdit> edits;
  if (!o.pack.empty()) {
    for (const auto& step : pack_steps(o.pack, o.edits, o.step, o.method_given, *g)) edits.push_back({step.editor, step.strength, o.flip});
  } else {
    for (const auto& e : o.edits) {
      const auto step = edit::parse_edit(e, o.step);
      edits.push_back({step.editor, step.strength, o.flip});
    }
    if (edits.empty()) edits.push_back({o.step.editor, o.step.strength, o.flip});
  }
  auto p = o.params;
  p.track.optical_flow = !o.no_flow;
  p.warm_start = !o.cold;
  p.side_by_side = !o.no_sbs;
  if (o.work != "none") p.work_dir = o.work == "default" ? cache_dir() / "videos" : std::filesystem::path(o.work);
  const std::filesystem::path output(o.output);
  const std::filesystem::path report = o.report.empty() ? output.parent_path() / (output.stem().string() + ".json") : std::filesystem::path(o.report);
  stop_cleanly_on_signals();
  auto r = eval::edit_and_measure_video(o.input, output, g, o.model, edits, p, !o.no_measure);
  auto j = r.to_json();
  j.update({{"input_path", o.input}, {"model", o.model}});
  const std::string text = j.dump(1);
  io::write_file_atomic(report, text.data(), text.size());
  auto line = r.summary;
  line.update({{"outputs", j["outputs"]}, {"report", report.string()}, {"encoding", r.encoding}});
  std::cout << line.dump() << std::endl;
}

}  // namespace

void add_video_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("video", "Edit the face through a video: stable alignment, warm-started inversion, per-frame edit, fusion; "
                                          "writes OUT, OUT.side-by-side and OUT.json");
  auto o = std::make_shared<VideoOptions>();
  o->step.editor.method = "pfsf";
  auto& p = o->params;
  cmd->add_option("input", o->input, "video (anything OpenCV's FFmpeg backend reads)")->required();
  cmd->add_option("-o,--output", o->output, "edited video (the input's size, frame rate and frame count; audio carried over with ffmpeg)")->required();
  add_editor_options(cmd, o->step, {"judge-target"});
  cmd->add_option("--edit", o->edits, "an edit, in order: ATTRIBUTE=STRENGTH (e.g. smiling=+1) or key=value pairs (repeat --edit)")
      ->allow_extra_args(false);
  cmd->add_flag("--flip", o->flip, "move the face to the other side of each attribute, as judged on the first frame with a face");
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  add_pack_option(cmd, o->pack);
  add_photo_options(cmd, p.photo, {"judge-identity"});
  cmd->add_option("--warm-steps", p.warm_steps, "inversion steps of a frame started from the previous frame's latent")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_flag("--cold", o->cold, "invert every frame from scratch (no warm start)");
  cmd->add_option("--personalize-frames", p.personalize_frames, "personalize one generator on this many keyframes (0: none)")
      ->capture_default_str()->check(CLI::Range(0, 64));
  cmd->add_option("--walk", p.walk, "PFSF: first (the first face's walk for every frame) or each (a walk per frame)")
      ->capture_default_str()->check(CLI::IsMember({"first", "each"}));
  cmd->add_flag("--no-flow", o->no_flow, "no Lucas-Kanade refinement of the landmarks");
  cmd->add_option("--landmark-sigma", p.track.landmark_sigma, "Gaussian smoothing of the landmarks over time, frames (0: none)")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--quad-sigma", p.track.quad_sigma, "Gaussian smoothing of the crops' centre and axes over time, frames (0: none)")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--latent-sigma", p.latent_sigma, "Gaussian smoothing of the edit offsets (l2m-gan: its image change) over time, frames (0: none)")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--mask-sigma", p.mask_sigma, "Gaussian smoothing of the fusion masks over time, frames (0: none)")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--max-frames", p.max_frames, "edit only the first N frames (0: all)")->capture_default_str()->check(CLI::Range(0, 10000000));
  cmd->add_flag("--no-side-by-side", o->no_sbs, "skip OUT.side-by-side");
  cmd->add_flag("--no-measure", o->no_measure, "skip the judges (identity, flicker, background, target change)");
  cmd->add_option("--work-dir", o->work, "where per-frame results are kept to resume and re-edit: a directory, default (the model cache's "
                                         "videos/) or none")->capture_default_str();
  cmd->add_option("--report", o->report, "the per-frame JSON (default: OUT with .json)");
  cmd->callback([o, cmd, &global] {
    o->method_given = cmd->count("--method") > 0;
    use_pack_model(cmd, o->pack, o->model);
    run_video(*o, global);
  });
}

}  // namespace faceedit::cli
