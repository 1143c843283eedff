// faceedit train-l2mgan: parse, load the labelled faces, call train::train_l2mgan, write the sheets
// and editor snapshots it hands back.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/progress.h"
#include "faceedit/train/face_datasets.h"
#include "faceedit/train/train_l2mgan.h"

namespace faceedit::cli {

namespace fs = std::filesystem;

namespace {

struct TrainL2MGanOptions {
  std::string data = "celebahq", out, attributes = "smiling,male,young,eyeglasses,mustache";
  double max_minutes = 0;
  int64_t sheet_faces = 8;
  bool restart = false, half = false, no_mirror = false;
  train::TrainL2MGanParams train;
};

std::vector<std::string> split_attributes(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(models::canonical_attribute(item));
  if (out.empty()) fail("--attributes", "names no attribute");
  return out;
}

// Fixed faces for the sheets: the first n of a seed-fixed permutation, alternating with and
// without the first attribute so both directions show.
torch::Tensor sheet_indices(const train::LabelledFaces& faces, const std::string& attribute, int64_t n) {
  auto gen = at::detail::createCPUGenerator(20260);
  auto perm = torch::randperm(faces.size(), gen, torch::kInt64);
  const auto& label = faces.labels.at(attribute);
  std::vector<int64_t> pos, neg;
  for (int64_t i = 0; i < perm.size(0) && static_cast<int64_t>(pos.size() + neg.size()) < 4 * n; ++i) {
    const int64_t k = perm[i].item<int64_t>();
    (label[k].item<int64_t>() > 0 ? pos : neg).push_back(k);
  }
  std::vector<int64_t> out;
  for (size_t i = 0; static_cast<int64_t>(out.size()) < n && (i < pos.size() || i < neg.size()); ++i) {
    if (i < pos.size()) out.push_back(pos[i]);
    if (static_cast<int64_t>(out.size()) < n && i < neg.size()) out.push_back(neg[i]);
  }
  return torch::tensor(out, torch::kInt64);
}

}  // namespace

void add_train_l2mgan_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("train-l2mgan",
                                 "Train an L2M-GAN face editor (encoder, AdaIN decoder, style factorisation, per-domain "
                                 "D) end to end on labelled CelebA-HQ faces; output: the editor for `photo --method l2m-gan`");
  auto o = std::make_shared<TrainL2MGanOptions>();
  auto& t = o->train;
  auto& m = t.model;
  cmd->add_option("--data", o->data, "labelled faces (train/face_datasets.h: celebahq = the guide's half of the ids)")
      ->capture_default_str();
  cmd->add_option("--attributes", o->attributes, "attributes to edit, comma-separated (CelebA names)")->capture_default_str();
  cmd->add_option("--width", m.width, "generator channels at full size (doubling per halving)")->capture_default_str();
  cmd->add_option("--max-width", m.max_width, "generator channel cap")->capture_default_str();
  cmd->add_option("--downs", m.downs, "generator halvings (64 px, 3: 8x8 content)")->capture_default_str();
  cmd->add_option("--bottleneck", m.bottleneck, "residual blocks at the content size, each side")->capture_default_str();
  cmd->add_option("--style-width", m.style_width, "style encoder and D channels at full size")->capture_default_str();
  cmd->add_option("--style-max-width", m.style_max_width, "style encoder and D channel cap")->capture_default_str();
  cmd->add_option("--style-dim", m.style_dim, "style code size")->capture_default_str();
  cmd->add_option("--relevant", m.relevant,
                  "the relevant part: learned (the paper's T1/T2 MLPs, image-space critics) or labelled (attribute "
                  "codes in the style, a latent adversary on the content: Fader Networks' recipe)")
      ->capture_default_str()
      ->check(CLI::IsMember({"learned", "labelled"}));
  cmd->add_option("--lambda-attr", t.lambda_attr, "labelled: weight of the style head's attribute logits")->capture_default_str();
  cmd->add_option("--lambda-lat", t.lambda_lat, "labelled: latent adversary weight")->capture_default_str();
  cmd->add_option("--clr", t.c_lr, "labelled: the latent adversary's learning rate")->capture_default_str();
  cmd->add_option("--lat-ramp-kimg", t.lat_ramp_kimg, "labelled: the latent adversary's weight ramps in over this many kimg")
      ->capture_default_str();
  cmd->add_option("--guide", t.guide, "the fixed attribute critic: a trained classifier set name or .safetensors (never a judge)")
      ->capture_default_str();
  cmd->add_option("--batch", t.batch, "images per step")->capture_default_str();
  cmd->add_option("--kimg", t.kimg, "length of the run in thousands of images")->capture_default_str();
  cmd->add_option("--lr", t.lr, "G and E learning rate")->capture_default_str();
  cmd->add_option("--dlr", t.d_lr, "D learning rate")->capture_default_str();
  cmd->add_option("--lambda-adv", t.lambda_adv, "adversarial weight")->capture_default_str();
  cmd->add_option("--critic-pool", t.critic_pool, "pixels per side of the low-pass the critic sees (1: none)")
      ->check(CLI::Range(1, 16))->capture_default_str();
  cmd->add_option("--edit-after-kimg", t.edit_after_kimg, "reconstruction-only warm-up, thousands of images")
      ->check(CLI::Range(0.0, 1e6))->capture_default_str();
  cmd->add_option("--lambda-dcls", t.lambda_dcls, "D's attribute head: its weight on the reals' labels and on the edit")
      ->capture_default_str();
  cmd->add_option("--d-pretrain-kimg", t.d_pretrain_kimg, "D's attribute head trained alone on the reals first (thousands of images)")
      ->check(CLI::Range(0.0, 1e6))->capture_default_str();
  cmd->add_option("--lambda-cls", t.lambda_cls, "guide critic weight (target attribute)")->capture_default_str();
  cmd->add_option("--lambda-keep", t.lambda_keep, "guide critic weight (other attributes unchanged)")->capture_default_str();
  cmd->add_option("--lambda-rec", t.lambda_rec, "reconstruction weight")->capture_default_str();
  cmd->add_option("--lambda-pres", t.lambda_pres, "low-frequency preservation weight (edit vs reconstruction)")->capture_default_str();
  cmd->add_option("--pres-pool", t.pres_pool, "pixels per side pooled by the preservation term")->capture_default_str();
  cmd->add_option("--lambda-orth", t.lambda_orth, "orthogonality weight")->capture_default_str();
  cmd->add_option("--lambda-sty", t.lambda_sty, "irrelevant-part consistency weight")->capture_default_str();
  cmd->add_option("--lambda-cyc", t.lambda_cyc, "cycle weight (0: skipped)")->capture_default_str();
  cmd->add_option("--gamma", t.r1_gamma, "R1 weight")->capture_default_str();
  cmd->add_option("--augment", t.augment, "DiffAugment for D: color,translation,cutout (any subset) or none")->capture_default_str();
  cmd->add_option("--ema-beta", t.ema_beta, "EMA decay of the output editor")->capture_default_str();
  cmd->add_flag("--no-mirror", o->no_mirror, "no random horizontal flips");
  cmd->add_option("--seed", t.seed, "seed of the initialisation and of every step's randomness")->capture_default_str();
  cmd->add_option("--snapshot-kimg", t.snapshot_kimg,
                  "kimg between snapshots: OUT.snapshots/sheet-kimgNNNNN.N.png (fixed faces: input | reconstruction | "
                  "edit per attribute) and editor-kimgNNNNN.N.safetensors")
      ->capture_default_str();
  cmd->add_option("--sheet-faces", o->sheet_faces, "faces in each sheet")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--checkpoint-every", t.checkpoint_every, "steps between checkpoints (OUT.ckpt/); 0: none")->capture_default_str();
  cmd->add_option("--stop-after-step", t.stop_after_step, "checkpoint after this step and stop (tests of resume)");
  cmd->add_flag("--restart", o->restart, "ignore OUT.ckpt/ and start over");
  cmd->add_flag("--half", o->half, "write the editor in float16");
  cmd->add_option("--max-minutes", o->max_minutes, "end the run early after this many minutes (0: no limit)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("-o,--output", o->out, "the editor to write (.safetensors)");
  cmd->callback([o, &global] {
    stop_cleanly_on_signals();
    if (o->out.empty() || fs::path(o->out).extension() != ".safetensors") fail("train-l2mgan", "give -o FILE.safetensors");
    const auto out_dir = fs::path(o->out).parent_path();
    if (!out_dir.empty() && !fs::is_directory(out_dir)) fail("-o " + o->out, "directory " + out_dir.string() + " does not exist");
    auto p = o->train;
    p.model.attributes = split_attributes(o->attributes);
    p.model.validate("train-l2mgan");
    p.max_seconds = o->max_minutes * 60.0;
    p.mirror = !o->no_mirror, p.resume = !o->restart;
    p.device = parse_device(global.device);
    log_line("train-l2mgan: loading " + o->data);
    const auto faces = train::load_labelled_faces(o->data);
    for (const auto& a : p.model.attributes)
      if (!faces.labels.count(a)) fail("--attributes", o->data + " has no label '" + a + "'");
    const auto idx = sheet_indices(faces, p.model.attributes[0], o->sheet_faces);
    auto sheet_images = train::to_model_range(faces.images.index_select(0, idx)).to(p.device);
    std::vector<torch::Tensor> cols;
    for (const auto& a : p.model.attributes) cols.push_back(faces.labels.at(a).index_select(0, idx));
    auto sheet_labels = torch::stack(cols, 1);
    const fs::path snapshots = o->out + ".snapshots";
    fs::create_directories(snapshots);
    const int cols_per_row = static_cast<int>(2 + p.model.attributes.size());
    p.on_snapshot = [=](models::L2MGan& ema, double kimg) {
      char stem[64];
      std::snprintf(stem, sizeof stem, "kimg%07.1f", kimg);
      auto sheet = train::l2mgan_sheet(ema, sheet_images, sheet_labels).cpu();
      io::write_image((snapshots / ("sheet-" + std::string(stem) + ".png")).string(), io::make_grid(sheet, cols_per_row, 2, 2));
      ema.save((snapshots / ("editor-" + std::string(stem) + ".safetensors")).string(), {{"kimg", kimg}});
    };
    const auto report = train::train_l2mgan(p, faces, o->out);
    if (o->half) models::L2MGan::load(o->out)->save(o->out, report, true);
    std::cout << nlohmann::json{{"output", o->out}, {"kimg", report["kimg"]}, {"seconds", report["seconds"]},
                                {"snapshots", snapshots.string()}}
                     .dump()
              << "\n";
  });
}

}  // namespace faceedit::cli
