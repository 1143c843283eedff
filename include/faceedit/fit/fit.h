// faceedit — `faceedit fit`: from any face generator to an editor pack (edit/pack.h) with calibrated
// strengths, in one resumable job.
//
// Stages, each writing its own files into the pack directory (atomically; a stage item whose file
// exists is skipped, so kill -9 anywhere and the same call continues with identical results):
//   samples/        n latents scored by the guide (40 attributes) and, with `pose`, yaw and pitch
//                   (edit/sampling.h: the sample job, shared among processes shard by shard)
//   interfacegan/   a boundary (linear SVM on the extreme 2%) per attribute, pose included
//   conditional/    per attribute whose scores correlate (|r| >= 0.3) with others on the samples:
//                   its boundary projected orthogonal to the (at most two) most correlated ones
//   transformer/    the 40-attribute latent classifier, then a Latent Transformer per learned attribute
//   l2m/            an L2M editor per learned attribute (through the generator and the guide)
//   sefa/ ganspace/ unsupervised directions: SeFa (eigenvectors of A^T A, A the first
//                   modulation/projection weights with unit rows, Shen & Zhou 2021) and GANSpace
//                   (principal components of sampled W; for a model without W, of its first layer's
//                   output, which is linear in z: the right singular vectors of that layer's weight)
//   calibration/    per editor: the native strength at which the guide's label flips on half of the
//                   held-out faces (each moved towards its other side), found by doubling and bisection
//                   on `calibration_n` faces of their own seed (the guide's verdicts only); then target
//                   change, identity (the judges' embedding) and the other attributes' preservation
//                   measured at pack strengths 1 and 2
//   sweeps/         a sweep grid per editor at pack strengths -2..2
//   pack.json, report.html   written last, by the merging process
// Work items of every stage are shared among processes as the sample job's shards (distributed.h):
// MPI ranks wait for each other between stages; a --shard K/N task does its share of every stage
// whose inputs exist and stops; a run without --shard completes what is missing and merges.
//
//   fit::FitParams p;  p.model = "dcgan-celeba32";  p.n = 20000;
//   auto summary = fit::fit_pack(p, "packs/dcgan");   // then edit::load_pack("packs/dcgan")
//
// `faceedit fit-attribute` (fit_attribute below) adds an attribute no classifier has to a pack, from
// labelled photos (k per side, k the smaller folder's count; the first k by name of the larger),
// each aligned as the photo pipeline aligns it and framed as the pack's generator draws faces. Two
// scorers:
//   head     (default) a linear SVM on the pack's guide's pooled features of the photos' crops (a new
//            head on the guide, the photos' only use): it scores `samples` generated faces, InterFaceGAN's
//            boundary is trained on those scores (the extreme 2% per side), and the head is the verdict
//            of the calibration (strength 1: its label flips on the median held-out face). No inversion.
//   latents  each photo inverted into the pack's latent space (cached per photo, keyed by its bytes,
//            the model and the inversion settings), a linear SVM on the latents is the direction, and
//            its own label the calibration's verdict.
// Either direction becomes an `interfacegan` editor of NAME.
//   fit::FitAttributeParams a;  a.name = "freckles";  a.positive = "pos/";  a.negative = "neg/";
//   fit::fit_attribute(a, "packs/dcgan");             // then `--edit freckles=+1`
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/distributed.h"

namespace faceedit::fit {

struct FitParams {
  std::string model = "dcgan-celeba32";  // file or known name
  int64_t n = 20000;                      // scored samples
  uint64_t seed = 0;                      // of the samples
  double truncation = 1.0;
  // "all" (empty): every guide attribute, plus yaw and pitch with `pose`. Else canonical names.
  std::vector<std::string> attributes;
  std::vector<std::string> methods = {"interfacegan", "conditional", "transformer", "sefa", "ganspace"};
  // Attributes that get learned editors (transformer, l2m); empty: every attribute but pose.
  std::vector<std::string> learned_attributes;
  std::string guide = "celebahq";
  bool pose = true;
  int64_t editor_steps = 1000;     // transformer / l2m training steps
  int lc_epochs = 10;              // latent classifier
  int64_t calibration_n = 100;     // held-out faces per calibration probe
  int64_t directions = 5;          // per unsupervised method
  int64_t batch = 64;
  // Samples are scored on images synthesised up to the first resolution >= this (the guide's input
  // size): a 1024-px StyleGAN2 stops at its 64-px block (edit/sampling.h). 0: full images.
  // Calibration always judges full images.
  int64_t synthesis_size = 64;
  bool progress = true;
  torch::Device device = torch::kCPU;
  WorkShare share;
};

// Runs (or resumes) the job into `dir`. Returns a summary {"dir", "editors", "stages": {name:
// {"seconds", "items"}}, "complete"}; complete = false in a --shard task (or an MPI rank) that did
// only its share. Errors are faceedit::Error naming the stage and file; SIGINT stops between items.
nlohmann::json fit_pack(const FitParams& params, const std::string& dir);

// The unsupervised directions of a generator's first layer (exposed for tests): unit rows [k, dim].
// SeFa: top-k eigenvectors of A^T A, A = the weights mapping the latent to the first layer (its
// rows normalised), sorted by eigenvalue.
torch::Tensor sefa_directions(const torch::Tensor& weight_rows, int64_t k);
// GANSpace: top-k principal components of `latents` [N, dim] (rows centred), by explained variance.
torch::Tensor pca_directions(const torch::Tensor& latents, int64_t k);

// Strength at which `rate(alpha)` (non-decreasing in alpha >= 0) reaches `target`: doubling from
// `start` up to `max_alpha`, then `iterations` bisection steps and a linear interpolation between
// the last bracket. Returns {alpha, reached}; probes are recorded through rate's own side effects.
struct Crossing {
  double alpha = 0;
  bool reached = false;
};
Crossing find_crossing(const std::function<double(double)>& rate, double target, double start, double max_alpha,
                       int iterations);

struct FitAttributeParams {
  std::string name;                   // the attribute (canonical_attribute() applies); a file name too
  std::string positive, negative;     // folders of photos (jpg, jpeg, png, bmp, webp), >= 5 each
  bool replace = false;               // replace the pack's editors of NAME (else refused)
  std::string scorer = "head";        // "head" or "latents" (above)
  int64_t samples = 20000;            // head: generated faces it scores for the boundary
  int inversion_steps = 300, starts = 4;  // the photo pipeline's inversion (pipeline/invert.h)
  int crop = 256;                     // aligned crop size before the generator's resolution
  std::string latents_cache;          // "": PACK/fit-attribute/latents
  int64_t calibration_n = 100;        // held-out faces of the calibration
  bool progress = true;
  torch::Device device = torch::kCPU;
};

// Learns NAME's direction from the photos and adds it to the pack at `pack_dir` (pack.json rewritten
// atomically, last). Returns {"pack", "attribute", "file", "photos_per_side", "svm": {train and
// validation accuracy}, "calibration", "seconds"}. Bad input is a faceedit::Error naming the file or
// folder, found before any inversion: a missing folder or one with fewer than 5 photos, a name the
// pack has (without replace), a pack made for another model; a photo without exactly one face names
// the photo. Nothing in pack.json changes on error.
nlohmann::json fit_attribute(const FitAttributeParams& params, const std::string& pack_dir);

}  // namespace faceedit::fit
