#include <iostream>

#include "commands.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/model_files.h"
#include "faceedit/train/train_latent_classifier.h"

namespace faceedit::cli {

void add_train_latent_classifier_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand(
      "train-latent-classifier",
      "Train a latent classifier (3 FC layers) on sampled latents scored by an image classifier");
  struct Options {
    std::string model, classifier = models::kDefaultGuide, samples, out, space = "z";
    train::SampleScoresParams sample;
    train::TrainLatentClassifierParams train = train::train_latent_classifier_default_params();
  };
  auto o = std::make_shared<Options>();
  auto* model = cmd->add_option("--model", o->model, "generator (file or known name)");
  auto* classifier =
      cmd->add_option("--classifier", o->classifier, "image classifier scoring the samples (default: celebahq, the 40 CelebA attributes; utkface, smiles, a file)");
  cmd->add_option("--samples", o->samples, "train on a `faceedit sample` directory (space z or w) instead of sampling")
      ->excludes(model)
      ->excludes(classifier);
  cmd->add_option("-o,--output", o->out, "latent classifier to write (.safetensors)")->required();
  cmd->add_option("--n", o->sample.n, "samples")->capture_default_str()->check(CLI::Range(int64_t{2}, int64_t{100000000}));
  cmd->add_option("--space", o->space, "z, w or wplus")->capture_default_str();
  cmd->add_option("--truncation", o->sample.truncation, "truncation psi of the samples")->capture_default_str();
  cmd->add_option("--seed", o->sample.seed, "sampling seed")->capture_default_str();
  cmd->add_option("--epochs", o->train.epochs, "training epochs")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->callback([o, &global] {
    o->sample.space = models::parse_latent_space(o->space);
    if (!o->samples.empty()) {
      auto set = edit::load_samples(o->samples);
      const bool w = o->sample.space == models::LatentSpace::W;
      if (o->sample.space == models::LatentSpace::WPlus)
        fail("--space " + o->space, "a sample directory holds z and (StyleGAN2) w only");
      if (w && !set.w.defined()) fail(o->samples, "has no w latents (a model without W)");
      train::LatentScores data{o->sample.space, w ? set.w : set.z, set.scores, set.columns};
      auto report = train::train_latent_classifier(data, o->train, o->out);
      report["samples_dir"] = o->samples;
      report["model"] = set.manifest.value("model", "");
      report["classifiers"] = set.manifest.value("classifiers", nlohmann::json::array());
      std::cerr << "wrote " << o->out << "\n";
      std::cout << report.dump() << "\n";
      return;
    }
    if (o->model.empty() || o->classifier.empty()) fail("train-latent-classifier", "give --model and --classifier, or --samples DIR");
    auto device = parse_device(global.device);
    auto g = models::open_generator(o->model, device);
    auto clf = models::open_classifier(o->classifier);
    clf->to(device);
    auto data = train::sample_and_score(*g, *clf, o->sample);
    auto report = train::train_latent_classifier(data, o->train, o->out);
    report["model"] = o->model;
    report["classifier"] = o->classifier;
    std::cerr << "wrote " << o->out << "\n";
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
