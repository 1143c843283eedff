// `faceedit sample`: the resumable sampling job (edit/sampling.h). Rerunning the same command after
// an interruption resumes it; the final line on stdout is a JSON summary.
#include <iostream>

#include "commands.h"
#include "faceedit/distributed.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/models/judges.h"

namespace faceedit::cli {

void add_sample_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand(
      "sample", "Sample latents, generate and score their images (resumable shards for InterFaceGAN boundaries)");
  struct Options {
    edit::SampleJobParams job = edit::sample_job_default_params();
    std::string out, shard;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model,-m", o->job.model_spec, "generator (file or known name)")->required();
  cmd->add_option("--n", o->job.n, "samples")->required()->check(CLI::Range(int64_t{1}, int64_t{1000000000}));
  cmd->add_option("--classifier", o->job.classifier_specs,
                  "image classifier scoring the samples (celebahq: our 40-attribute guide; celebahq-judge, utkface, "
                  "smiles, pose, a judge, a file); repeatable")
      ->default_val(std::vector<std::string>{models::kDefaultGuide});
  cmd->add_option("--seed", o->job.seed, "seed of the latents (numpy's stream)")->capture_default_str();
  cmd->add_option("--truncation", o->job.truncation, "truncation psi (1: none)")
      ->check(CLI::Range(-2.0, 2.0))
      ->capture_default_str();
  cmd->add_option("--shard-size", o->job.shard_size, "samples per shard file")
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}))
      ->capture_default_str();
  cmd->add_option("--batch", o->job.batch, "images per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  cmd->add_option("--synthesis-size", o->job.synthesis_size,
                  "score images synthesised only up to the first resolution >= this (a StyleGAN2 stops early: "
                  "64 = the guide's input size); 0: full")
      ->check(CLI::Range(int64_t{0}, int64_t{4096}))
      ->capture_default_str();
  cmd->add_option("-o,--output", o->out, "sample directory (created; an existing one is resumed)")->required();
  cmd->add_flag("--quiet,-q", o->quiet, "no progress lines");
  cmd->add_option("--shard", o->shard,
                  "K/N: compute only task K's share of N (job arrays without MPI; a run without --shard then "
                  "completes and reports)");
  cmd->callback([o, &global] {
    stop_cleanly_on_signals();
    o->job.device = parse_device(global.device);
    o->job.progress = !o->quiet;
    o->job.share = job_share(o->shard);
    auto summary = edit::run_sample_job(o->job, o->out);
    if (o->job.share.merges() || o->job.share.shard) std::cout << summary.dump() << "\n";  // one line per job or task
  });
}

}  // namespace faceedit::cli
