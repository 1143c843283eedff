// faceedit train-gan: parse, call train::train_gan, write the snapshots it hands back.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/model_files.h"
#include "faceedit/progress.h"
#include "faceedit/runtime.h"
#include "faceedit/train/gan/train_gan.h"

namespace faceedit::cli {

namespace fs = std::filesystem;

namespace {

struct TrainGanOptions {
  std::string data, out, pack, init, init_d;
  int64_t resolution = 32, channel_base = 16384, channel_max = 512, w_dim = 512, mapping_layers = 2;
  int64_t grid = 64;
  double max_minutes = 0;
  bool restart = false, half = false, no_mirror = false;
  train::TrainGanParams train;
};

// --init: the networks, their configs and the resolution from a trained model.
void init_from(const TrainGanOptions& o, bool resolution_given, train::TrainGanParams& p) {
  if (models::is_converted_checkpoint(o.init)) {
    if (!o.init_d.empty()) fail("--init-d", "a network pickle brings its own D; --init-d goes with a .safetensors --init");
    p.init_generator = models::resolve_model(o.init, "G");
    p.init_generator_ema = models::resolve_model(o.init, "G_ema");
    p.init_discriminator = models::resolve_model(o.init, "D");
  } else {
    p.init_generator = models::resolve_model(o.init);
    p.init_discriminator = o.init_d;
  }
  const auto g = models::StyleGAN2::load(p.init_generator);
  p.generator = g->stylegan2_config();
  if (resolution_given && o.resolution != p.generator.img_resolution)
    fail("--resolution " + std::to_string(o.resolution), o.init + " generates " + std::to_string(p.generator.img_resolution) +
                                                              " px; train it at that resolution (or leave --resolution out)");
  p.resolution = p.generator.img_resolution;
  p.discriminator.img_resolution = p.resolution;
  if (!p.init_discriminator.empty()) p.discriminator = models::StyleGAN2Discriminator::load(p.init_discriminator)->config();
  if (p.discriminator.img_resolution != p.resolution)
    fail(p.init_discriminator, "judges " + std::to_string(p.discriminator.img_resolution) + " px images, the generator makes " +
                                   std::to_string(p.resolution));
}

}  // namespace

void add_train_gan_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("train-gan",
                                 "Train a StyleGAN2 face model (NVIDIA's loss, lazy R1, path length, G EMA, "
                                 "DiffAugment) on CelebA-HQ; output: G_ema as a faceedit StyleGAN2 file");
  auto o = std::make_shared<TrainGanOptions>();
  cmd->add_option("--data", o->data,
                  "training images: a CelebA-HQ archive (default: the shared data/celebahq-64.tar, all 27,900 faces) "
                  "or a .safetensors file with uint8 'images' [N, C, H, W]");
  cmd->add_option("--resolution", o->resolution, "image size trained at (box-downsampled from the data)")
      ->capture_default_str()->check(CLI::IsMember({8, 16, 32, 64, 128, 256, 512, 1024}));
  cmd->add_option("--channel-base", o->channel_base, "channels = min(channel_base / resolution, channel_max), G and D")
      ->capture_default_str()->check(CLI::Range(int64_t{16}, int64_t{1} << 20));
  cmd->add_option("--channel-max", o->channel_max, "see --channel-base")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--w-dim", o->w_dim, "dimension of Z and W")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--mapping-layers", o->mapping_layers, "mapping network depth")->capture_default_str()->check(CLI::Range(1, 16));
  cmd->add_option("--init", o->init,
                  "start from a trained StyleGAN2 instead of random weights: a stylegan2-ada-pytorch .pkl or known name "
                  "(its G, G_ema and D, as NVIDIA's --resume) or a faceedit StyleGAN2 file (G and G_ema); the networks' "
                  "configs and resolution come from it");
  cmd->add_option("--init-d", o->init_d, "with --init FILE.safetensors: a discriminator to start from (faceedit convert --network D)");
  cmd->add_option("--batch", o->train.batch, "images per step")->capture_default_str();
  cmd->add_option("--kimg", o->train.kimg, "length of the run in thousands of real images shown to D")->capture_default_str();
  cmd->add_option("--glr", o->train.g_lr, "G learning rate")->capture_default_str();
  cmd->add_option("--dlr", o->train.d_lr, "D learning rate")->capture_default_str();
  cmd->add_option("--gamma", o->train.r1_gamma, "R1 weight (default: NVIDIA's auto, 0.0002 resolution^2 / batch)");
  cmd->add_option("--pl-weight", o->train.pl_weight, "path-length regularisation weight (0: off)")->capture_default_str();
  cmd->add_option("--style-mixing", o->train.style_mixing, "style mixing probability")->capture_default_str();
  cmd->add_option("--augment", o->train.augment, "DiffAugment operations: color,translation,cutout (any subset) or none")
      ->capture_default_str();
  cmd->add_option("--ema-kimg", o->train.ema_kimg, "G_ema half-life in kimg (default: batch * 10 / 32)");
  cmd->add_flag("--no-mirror", o->no_mirror, "no random horizontal flips of the training images");
  cmd->add_option("--seed", o->train.seed, "seed of the initialisation and of every step's randomness")->capture_default_str();
  cmd->add_option("--snapshot-kimg", o->train.snapshot_kimg,
                  "kimg between snapshots: OUT.snapshots/grid-kimgNNNNN.N.png (fixed seeds) and g-ema-kimgNNNNN.N.safetensors")
      ->capture_default_str();
  cmd->add_option("--grid", o->grid, "faces in each snapshot grid (seeds 0..N-1, const noise)")->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--checkpoint-every", o->train.checkpoint_every, "steps between checkpoints (OUT.ckpt/); 0: none")
      ->capture_default_str();
  cmd->add_flag("--restart", o->restart, "ignore OUT.ckpt/ and start over (by default a run continues its checkpoint)");
  cmd->add_flag("--half", o->half, "write G_ema in float16 (half the size; loading widens it back)");
  cmd->add_option("--pack", o->pack,
                  "only write the training images at --resolution as uint8 'images' to this .safetensors file "
                  "(for machines without the archive readers: train-gan --data FILE reads it there)");
  cmd->add_option("--max-minutes", o->max_minutes, "end the run early after this many minutes (0: no limit)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("-o,--output", o->out, "G_ema to write (.safetensors)");
  auto* resolution_option = cmd->get_option("--resolution");
  cmd->callback([o, &global, resolution_option] {
    const bool cmd_resolution_given = resolution_option->count() > 0;
    stop_cleanly_on_signals();
    const std::string data = o->data.empty() ? (shared_root() / "data/celebahq-64.tar").string() : o->data;
    if (!o->pack.empty()) {
      const auto images = train::load_gan_images(data, o->resolution);
      io::write_safetensors(o->pack, {{"images", images}}, {{"faceedit.source", fs::path(data).filename().string()}});
      std::cout << nlohmann::json{{"output", o->pack}, {"images", images.size(0)}, {"resolution", o->resolution}}.dump() << "\n";
      return;
    }
    if (o->out.empty()) fail("train-gan", "give -o FILE.safetensors (the G_ema to write)");
    if (fs::path(o->out).extension() != ".safetensors") fail("-o " + o->out, "give -o FILE.safetensors");
    const auto out_dir = fs::path(o->out).parent_path();
    if (!out_dir.empty() && !fs::is_directory(out_dir)) fail("-o " + o->out, "directory " + out_dir.string() + " does not exist");
    auto p = train::train_gan_default_params(o->resolution, o->channel_base, o->channel_max, o->w_dim);
    auto& t = o->train;
    p.generator.mapping_layers = o->mapping_layers;
    p.data = data;
    p.max_seconds = o->max_minutes * 60.0;
    p.batch = t.batch, p.kimg = t.kimg, p.g_lr = t.g_lr, p.d_lr = t.d_lr, p.r1_gamma = t.r1_gamma;
    p.pl_weight = t.pl_weight, p.style_mixing = t.style_mixing, p.augment = t.augment, p.ema_kimg = t.ema_kimg;
    p.mirror = !o->no_mirror, p.seed = t.seed, p.snapshot_kimg = t.snapshot_kimg;
    p.checkpoint_every = t.checkpoint_every, p.resume = !o->restart;
    p.device = parse_device(global.device);
    if (!o->init.empty()) init_from(*o, cmd_resolution_given, p);
    else if (!o->init_d.empty()) fail("--init-d", "needs --init (the generator to start from)");
    const fs::path snapshots = o->out + ".snapshots";
    fs::create_directories(snapshots);
    const int64_t grid = o->grid;
    const bool half = o->half;
    p.on_snapshot = [snapshots, grid](const models::StyleGAN2& g_ema, double kimg) {
      char stem[64];
      std::snprintf(stem, sizeof stem, "kimg%07.1f", kimg);
      torch::NoGradGuard no_grad;
      auto z = g_ema.sample_z(grid, 0);  // numpy seed 0: the same faces in every snapshot
      auto images = g_ema.synthesize(g_ema.map(z), models::NoiseMode::Const).cpu();
      const int scale = images.size(2) < 64 ? static_cast<int>(64 / images.size(2)) : 1;
      io::write_image((snapshots / ("grid-" + std::string(stem) + ".png")).string(), io::make_grid(images, 0, 2, scale));
      g_ema.save((snapshots / ("g-ema-" + std::string(stem) + ".safetensors")).string(), {{"kimg", kimg}});
    };
    log_line("train-gan: loading " + p.data);
    const auto images = train::load_gan_images(p.data, p.resolution);
    const auto report = train::train_gan(p, images, o->out);
    if (half) {
      auto g = models::StyleGAN2::load(o->out);
      g->save(o->out, report, true);
    }
    std::cout << nlohmann::json{{"output", o->out}, {"kimg", report["kimg"]}, {"seconds", report["seconds"]},
                                {"snapshots", snapshots.string()}}
                     .dump()
              << "\n";
  });
}

}  // namespace faceedit::cli
