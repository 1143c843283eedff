// faceedit — `faceedit train-editor` as one library call: a learned editor (Latent Transformer or
// L2M, train_editor.h) for one attribute of a generator, with what it needs made on the way.
//
//   train::LearnedEditorJob job;  job.method = "transformer";  job.attribute = "smiling";
//   job.classifiers = {"celebahq"};
//   auto report = train::train_learned_editor(g, "dcgan-celeba32", job, "smiling.safetensors");
//
// The transformer needs a latent classifier: job.latent_classifier (a trained file), else the one
// an interrupted run of the same output trained (OUT.ckpt/latent-classifier.safetensors, with
// train.resume), else one trained here on job.samples (a `faceedit sample` directory) or on
// job.lc_samples latents sampled and scored by the supervision classifiers. L2M trains through
// the generator and the supervision classifiers. Either way the report gains the model, the
// classifiers, the latent classifier's source and a held-out flip rate on job.heldout faces of
// their own seed (seeds::kEditorHeldoutSeed), written into the editor file once.
//
// Errors (faceedit::Error naming the setting or file): an unknown method, an output that is not a
// .safetensors in an existing directory, a space the generator lacks or the method cannot edit,
// --layers outside W+, an attribute the classifiers lack, samples of another model or space.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/models/generator.h"
#include "faceedit/train/train_editor.h"

namespace faceedit::train {

struct LearnedEditorJob {
  std::string method;                    // "transformer" or "l2m"
  std::string attribute;
  models::LatentSpace space = models::LatentSpace::Z;
  std::string layers;                    // transformer in W+: layers with a map, e.g. "0-7" ("": all)
  std::vector<std::string> classifiers;  // supervision classifiers (edit::open_supervision specs)
  std::string latent_classifier;         // transformer: a trained latent classifier file
  std::string samples;                   // transformer: train the latent classifier on this sample directory
  int64_t lc_samples = 20000;            // transformer otherwise: latents sampled and scored to train one
  int lc_epochs = 10;
  int64_t heldout = 256;                 // held-out faces judged by the supervision for the report (0: none)
  TrainEditorParams train = train_editor_default_params();
};

nlohmann::json train_learned_editor(std::shared_ptr<models::Generator> g, const std::string& model_name, LearnedEditorJob job,
                                    const std::string& out_path);

}  // namespace faceedit::train
