#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/error.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/model_files.h"
#include "faceedit/train/learned_editor_job.h"

namespace faceedit::cli {

void add_train_editor_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand(
      "train-editor",
      "Train a learned editor for one attribute: Latent Transformer (on a latent classifier) or L2M (through the generator)");
  struct Options {
    std::string method, model = "dcgan-celeba32", attr, latent_classifier, samples, space = "z", layers, out;
    std::vector<std::string> classifiers = {models::kDefaultGuide};
    int lc_epochs = 10;
    int64_t lc_samples = 20000, heldout = 256;
    train::TrainEditorParams train = train::train_editor_default_params();
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--method", o->method, "transformer or l2m")->required();
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  attribute_option(cmd->add_option("--attr", o->attr, "attribute to edit, e.g. smiling, male, young, eyeglasses")->required());
  cmd->add_option("--classifier", o->classifiers,
                  "our supervision classifier(s) (celebahq, utkface, smiles, a file): l2m trains through them; both methods report "
                  "the held-out flip rate by them")
      ->capture_default_str();
  auto* lc = cmd->add_option("--latent-classifier", o->latent_classifier, "transformer: a trained latent classifier (.safetensors)");
  cmd->add_option("--samples", o->samples, "transformer: train the latent classifier first on this `faceedit sample` directory")
      ->excludes(lc);
  cmd->add_option("--lc-samples", o->lc_samples,
                  "transformer without --latent-classifier/--samples: latents sampled and scored to train one")
      ->capture_default_str()->check(CLI::Range(int64_t{100}, int64_t{10000000}));
  cmd->add_option("--lc-epochs", o->lc_epochs, "epochs of that latent classifier")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--space", o->space, "latent space edited: z, w or wplus (transformer), z or w (l2m)")->capture_default_str();
  cmd->add_option("--layers", o->layers, "transformer, wplus: layers with a map, e.g. 0-7 (default: all)");
  cmd->add_option("--steps", o->train.steps, "training steps")->capture_default_str();
  cmd->add_option("--batch", o->train.batch, "latents per step")->capture_default_str();
  cmd->add_option("--lr", o->train.learning_rate, "Adam learning rate")->capture_default_str();
  cmd->add_option("--reconstruction-weight", o->train.reconstruction_weight,
                  "transformer: weight of MSE(w', w); lower lets edits move further")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--seed", o->train.seed, "seed of the initialisation and the training latents")->capture_default_str();
  cmd->add_option("--truncation", o->train.truncation, "truncation psi of the training latents (W/W+)")->capture_default_str()
      ->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--checkpoint-every", o->train.checkpoint_every, "steps between checkpoints (OUT.ckpt/); 0: none")
      ->capture_default_str();
  cmd->add_flag("--resume", o->train.resume, "continue from OUT.ckpt/ when it holds a checkpoint of the same settings");
  cmd->add_option("--heldout", o->heldout, "held-out faces judged by the supervision classifier for the report")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{100000}));
  cmd->add_option("-o,--output", o->out, "editor to write (.safetensors)")->required();
  auto export_official = std::make_shared<std::string>();
  cmd->add_option("--export-official", *export_official,
                  "transformer: also write it in the Latent Transformer's own format into this directory "
                  "(tnet_<n>.pth.tar + latent_classifier_epoch_20.pth; W+ editors of 512-d codes)");
  cmd->callback([o, export_official, &global] {
    stop_cleanly_on_signals();
    if (!export_official->empty() && o->method != "transformer") fail("--export-official", "is for --method transformer");
    train::LearnedEditorJob job;
    job.method = o->method;
    job.attribute = o->attr;
    job.space = models::parse_latent_space(o->space);
    job.layers = o->layers;
    job.classifiers = o->classifiers;
    job.latent_classifier = o->latent_classifier;
    job.samples = o->samples;
    job.lc_samples = o->lc_samples;
    job.lc_epochs = o->lc_epochs;
    job.heldout = o->heldout;
    job.train = o->train;
    const auto report = train::train_learned_editor(models::open_generator(o->model, parse_device(global.device)), o->model, job, o->out);
    std::cerr << "wrote " << o->out << "\n";
    if (!export_official->empty())
      models::run_python_tool("faceedit_convert.py", {"--export-official", o->out, *export_official}, o->out);
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
