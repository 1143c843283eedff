#include <filesystem>
#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/edit/sampling.h"
#include "faceedit/error.h"
#include "faceedit/seeds.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/model_files.h"
#include "faceedit/train/train_editor.h"
#include "faceedit/train/train_latent_classifier.h"

namespace faceedit::cli {

namespace fs = std::filesystem;

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
    if (o->method != "transformer" && o->method != "l2m") fail("--method " + o->method, "unknown learned editor (transformer or l2m)");
    if (fs::path(o->out).extension() != ".safetensors") fail("-o " + o->out, "give -o FILE.safetensors");
    const auto out_dir = fs::path(o->out).parent_path();
    if (!out_dir.empty() && !fs::is_directory(out_dir)) fail("-o " + o->out, "directory " + out_dir.string() + " does not exist");
    const auto device = parse_device(global.device);
    auto g = models::open_generator(o->model, device);
    const auto space = models::parse_latent_space(o->space);
    if (!g->has_space(space)) fail("--space " + o->space, "the " + g->arch() + " generator has no such latent space");
    const int64_t dim = space == models::LatentSpace::Z ? g->z_dim() : g->w_dim();
    auto clf = edit::open_supervision(o->classifiers, device);
    if (!clf->has_column(o->attr)) clf->column(o->attr);  // throws listing the columns

    nlohmann::json report, lc_source;
    // The file is written once, with the full report: held-out figures included.
    const auto finalize = [&](const edit::Editor& editor, nlohmann::json& r) {
      r["model"] = o->model;
      r["classifiers"] = o->classifiers;
      if (!lc_source.is_null()) r["latent_classifier"] = lc_source;
      if (o->heldout > 0)
        r["heldout"] = train::heldout_flip_rate(editor, *g, *clf, o->attr, o->heldout, seeds::kEditorHeldoutSeed, 1.0, o->train.truncation);
    };
    if (o->method == "transformer") {
      models::LatentClassifier lc{nullptr};
      const fs::path ckpt = o->out + ".ckpt";
      const std::string lc_path = (ckpt / "latent-classifier.safetensors").string();
      if (!o->latent_classifier.empty()) {
        lc = models::load_latent_classifier(o->latent_classifier);
        lc_source = o->latent_classifier;
      } else if (o->train.resume && fs::exists(lc_path)) {
        lc = models::load_latent_classifier(lc_path);  // trained by the interrupted run
        lc_source = {{"trained_on_the_fly", true}, {"resumed", true}};
      } else {
        train::LatentScores data;
        if (!o->samples.empty()) {
          if (space == models::LatentSpace::WPlus) fail("--samples", "a sample directory holds z and w codes, not wplus");
          auto set = edit::load_samples(o->samples);
          if (space == models::LatentSpace::W && !set.w.defined()) fail(o->samples, "has no w latents (a model without W)");
          if ((space == models::LatentSpace::W ? set.w : set.z).size(1) != dim)
            fail(o->samples, "holds latents of another model (dimension " +
                                 std::to_string((space == models::LatentSpace::W ? set.w : set.z).size(1)) + ", expected " +
                                 std::to_string(dim) + ")");
          data = {o->space, space == models::LatentSpace::W ? set.w : set.z, set.scores, set.columns};
          lc_source = {{"trained_on_the_fly", true}, {"samples", o->samples}};
        } else {
          train::SampleScoresParams sp;
          sp.n = o->lc_samples;
          sp.space = o->space;
          sp.truncation = o->train.truncation;
          sp.seed = seeds::kLatentClassifierSampleSeed + o->train.seed;  // apart from training batches and held-out faces
          data = train::sample_and_score(*g, *clf, sp);
          lc_source = {{"trained_on_the_fly", true}, {"sampled", o->lc_samples}};
        }
        auto lp = train::train_latent_classifier_default_params();
        lp.epochs = o->lc_epochs;
        fs::create_directories(ckpt);
        lc_source["training"] = train::train_latent_classifier(data, lp, lc_path);
        lc = models::load_latent_classifier(lc_path);
      }
      edit::LatentTransformerConfig cfg;
      cfg.attribute = o->attr;
      cfg.space = o->space;
      cfg.latent_dim = dim;
      cfg.num_ws = space == models::LatentSpace::WPlus ? g->num_ws() : 0;
      if (!o->layers.empty()) {
        if (space != models::LatentSpace::WPlus) fail("--layers", "only W+ edits can be restricted to layers (use --space wplus)");
        cfg.layers = edit::parse_layers(o->layers, g->num_ws());
      }
      lc->to(device);
      o->train.finalize = finalize;
      report = train::train_latent_transformer(lc, train::generator_sampler(*g, space, o->train.truncation), cfg, o->train, o->out);
    } else {
      if (space == models::LatentSpace::WPlus) fail("--space wplus", "l2m edits z or w codes");
      if (!o->layers.empty()) fail("--layers", "l2m edits whole z or w codes; --layers is for the transformer in wplus");
      if (!o->latent_classifier.empty() || !o->samples.empty()) fail("--method l2m", "trains through the generator: no latent classifier");
      edit::L2MConfig cfg;
      cfg.attribute = o->attr;
      cfg.space = o->space;
      cfg.latent_dim = dim;
      cfg.hidden = o->train.hidden;
      o->train.finalize = finalize;
      report = train::train_l2m(*g, *clf, cfg, o->train, o->out);
    }
    std::cerr << "wrote " << o->out << "\n";
    if (!export_official->empty())
      models::run_python_tool("faceedit_convert.py", {"--export-official", o->out, *export_official}, o->out);
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
