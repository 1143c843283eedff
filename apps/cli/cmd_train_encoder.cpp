#include <iostream>

#include "commands.h"
#include "faceedit/models/model_files.h"
#include "faceedit/pipeline/photo.h"
#include "faceedit/train/train_encoder.h"

namespace faceedit::cli {

void add_train_encoder_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand(
      "train-encoder",
      "Train an image -> latent encoder for a generator (Z for the DCGAN, W+ for StyleGAN2): `photo --encoder` "
      "starts its inversion there, or uses it alone with --inversion-steps 0");
  struct Options {
    std::string model = "dcgan-celeba32", out, guide = "celebahq";
    train::TrainEncoderParams train;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  cmd->add_option("-o,--output", o->out, "encoder to write (.safetensors); OUT.ckpt/ beside it while training")->required();
  cmd->add_option("--steps", o->train.steps, "training steps")->capture_default_str()->check(CLI::Range(1, 10000000));
  cmd->add_option("--batch", o->train.batch, "faces per step")->capture_default_str()->check(CLI::Range(2, 4096));
  cmd->add_option("--real-fraction", o->train.real_fraction, "share of real faces per step (the rest: generated pairs)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--lr", o->train.learning_rate, "Adam learning rate (warm-up, then cosine decay)")
      ->capture_default_str()->check(CLI::Range(1e-8, 1.0));
  cmd->add_option("--feature-weight", o->train.feature_weight, "weight of the guide's feature distance on real faces")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--latent-weight", o->train.latent_weight, "weight of the latent MSE on generated pairs")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--truncation", o->train.truncation, "truncation psi of the generated pairs (StyleGAN2)")
      ->capture_default_str()->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--reals", o->train.reals, "labelled face set of the real faces (celebahq: its even half)")->capture_default_str();
  cmd->add_option("--real-limit", o->train.real_limit, "use a seed-fixed subset of that many real faces (0: all)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{100000000}));
  cmd->add_option("--eval-n", o->train.eval_n, "held-out celebahq-dev faces measured at the end (0: none)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1000}));
  cmd->add_option("--guide", o->guide, "classifier whose features compare real faces (celebahq, a file, or none)")
      ->capture_default_str();
  cmd->add_option("--seed", o->train.seed, "seed of the draws and of the initial weights")->capture_default_str();
  cmd->add_option("--checkpoint-every", o->train.checkpoint_every, "steps between checkpoints")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->callback([o, &global] {
    const auto device = parse_device(global.device);
    auto g = models::open_generator(o->model, device);
    pipeline::PhotoParams guide_params;
    guide_params.guide = o->guide;
    const auto guide = pipeline::open_inversion_guide(guide_params, device);
    auto report = train::train_encoder(*g, guide.features.get(), o->train, o->out);
    report["model"] = o->model;
    report["guide"] = o->guide;
    std::cerr << "wrote " << o->out << "\n";
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
