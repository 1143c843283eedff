// faceedit — the checkpoints people hold besides NVIDIA's pickles: rosinality/stylegan2-pytorch `.pt`
// (g_ema, g, d), pSp and e4e encoders (with their rosinality decoder), and the Latent Transformer's
// released latent classifier and tnet_<n>.pth.tar transformers. docs/formats.md lists them.
//
// Every file is read by tools/faceedit_convert.py, which tells the format by content (never by
// name) and reads torch.save files with a restricted reader that executes nothing; the converted
// safetensors land in the model cache (cache_dir()), keyed by the source's size and mtime, so each
// file is converted once. Generators go through model_files.h (resolve_model / open_generator:
// `--model rosinality.pt`, `--model psp.pt` = its decoder); the functions here give the other parts.
//
//   auto info = faceedit::models::inspect_checkpoint("e4e_ffhq_encode.pt");  // {"format": "e4e", ...}
//   auto enc = faceedit::models::PspEncoder::load(faceedit::models::resolve_psp_encoder("e4e.pt"));
//   auto lt = faceedit::edit::load_latent_transformer(
//       faceedit::models::resolve_latent_transformer("tnet_15.pth.tar", "latent_classifier_epoch_20.pth"));
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/models/generator.h"

namespace faceedit::models {

// What a checkpoint is: {"format", "config" (inferred from the tensors), "tensors", "networks", ...}.
// A faceedit .safetensors file reports its metadata ({"format": "faceedit", "arch", ...}).
nlohmann::json inspect_checkpoint(const std::string& path);

// A pSp/e4e checkpoint's encoder as a faceedit "psp-encoder" file (a converted file is returned as is).
std::string resolve_psp_encoder(const std::string& spec);
// Whether `path` is a pSp/e4e encoder: a torch checkpoint (.pt/.pth) or a "psp-encoder" .safetensors.
bool is_psp_encoder(const std::string& path);

// The official latent classifier (latent_classifier_epoch_20.pth) as a "latent-classifier" file.
std::string resolve_latent_classifier(const std::string& spec);
// An official tnet_<n>.pth.tar with its latent classifier as a "latent-transformer" editor file.
// classifier empty: latent_classifier_epoch_20.pth beside the tnet file, or in ../../models/ (the
// official repository's layout: logs/<config>/tnet_<n>.pth.tar, models/latent_classifier_epoch_20.pth).
std::string resolve_latent_transformer(const std::string& spec, const std::string& classifier = "");
// Whether `path` is a torch checkpoint to convert (.pt, .pth, .pth.tar) rather than a faceedit file.
bool is_torch_checkpoint(const std::string& path);

// --truncation-mean: the average W a generator truncates towards, from a latents file (key
// `latents`, [1, w_dim] or [w_dim]), e.g. rosinality's `g_ema.mean_latent(4096)` saved once.
void set_truncation_mean(Generator& g, const std::string& latents_file);

}  // namespace faceedit::models
