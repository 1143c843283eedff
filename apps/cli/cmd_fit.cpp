// `faceedit fit MODEL -o PACK`: every editor for a generator, calibrated (fit/fit.h); prints the
// job's JSON summary. Rerun the same command after an interruption: it continues.
#include <iostream>

#include "commands.h"
#include "faceedit/distributed.h"
#include "faceedit/error.h"
#include "faceedit/fit/fit.h"

namespace faceedit::cli {

void add_fit_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand(
      "fit",
      "Fit every editor to a generator: scored samples, InterFaceGAN (+ conditional) boundaries for 40 attributes and pose, "
      "Latent Transformers, L2M, SeFa and GANSpace directions, calibrated strengths; writes PACK/pack.json and report.html");
  struct Options {
    fit::FitParams p;
    std::string out, shard;
    std::vector<std::string> attributes = {"all"}, learned;
    bool quiet = false, no_pose = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("model", o->p.model, "generator (file or known name, e.g. dcgan-celeba32)")->required();
  cmd->add_option("-o,--output", o->out, "pack directory (created; an existing one of the same job is resumed)")->required();
  cmd->add_option("--n", o->p.n, "scored samples for the boundaries and the latent classifier")
      ->capture_default_str()->check(CLI::Range(int64_t{100}, int64_t{100000000}));
  attribute_option(cmd->add_option("--attributes", o->attributes, "all (the guide's 40 and pose) or a comma-separated list")
                       ->delimiter(',')->capture_default_str());
  cmd->add_option("--methods", o->p.methods, "from interfacegan, conditional, transformer, l2m, sefa, ganspace")
      ->delimiter(',')->capture_default_str();
  attribute_option(cmd->add_option("--learned-attributes", o->learned, "attributes that get transformer/l2m editors (default: every attribute but pose)")
                       ->delimiter(','));
  cmd->add_option("--guide", o->p.guide, "the classifier that scores samples and calibrates (never a judge)")->capture_default_str();
  cmd->add_flag("--no-pose", o->no_pose, "no yaw/pitch scores and boundaries (pose needs a face detection per sample)");
  cmd->add_option("--editor-steps", o->p.editor_steps, "training steps per transformer / l2m editor")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  cmd->add_option("--lc-epochs", o->p.lc_epochs, "latent classifier epochs")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--calibration-n", o->p.calibration_n, "held-out faces per calibration probe")
      ->capture_default_str()->check(CLI::Range(int64_t{10}, int64_t{100000}));
  cmd->add_option("--directions", o->p.directions, "directions per unsupervised method (sefa, ganspace)")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{64}));
  cmd->add_option("--seed", o->p.seed, "seed of the samples")->capture_default_str();
  cmd->add_option("--truncation", o->p.truncation, "truncation psi of samples and edits")->capture_default_str()->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--synthesis-size", o->p.synthesis_size,
                  "score samples on images synthesised only up to the first resolution >= this (a StyleGAN2 above it "
                  "stops early); 0: full images")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{4096}));
  cmd->add_option("--batch", o->p.batch, "images per forward pass")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--shard", o->shard, "K/N: only task K's share of N (job arrays without MPI); a run without --shard completes the pack");
  cmd->add_flag("--quiet,-q", o->quiet, "no progress lines");
  cmd->callback([o, &global] {
    stop_cleanly_on_signals();
    auto& p = o->p;
    p.device = parse_device(global.device);
    p.progress = !o->quiet;
    p.share = job_share(o->shard);
    p.pose = !o->no_pose;
    p.attributes = o->attributes == std::vector<std::string>{"all"} ? std::vector<std::string>{} : o->attributes;
    p.learned_attributes = o->learned;
    const auto summary = fit::fit_pack(p, o->out);
    std::cout << summary.dump() << "\n";
  });
}

}  // namespace faceedit::cli
