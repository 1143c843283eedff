#include "faceedit/train/learned_editor_job.h"

#include <filesystem>

#include "faceedit/edit/editor_factory.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/seeds.h"
#include "faceedit/train/train_latent_classifier.h"

namespace faceedit::train {

namespace fs = std::filesystem;

namespace {

// The transformer's latent classifier and where it came from (for the report).
std::pair<models::LatentClassifier, nlohmann::json> latent_classifier_for(const LearnedEditorJob& job, const models::Generator& g,
                                                                          models::AttributeClassifier& supervision, int64_t dim,
                                                                          const std::string& out_path) {
  if (!job.latent_classifier.empty()) return {models::load_latent_classifier(job.latent_classifier), job.latent_classifier};
  const fs::path ckpt = out_path + ".ckpt";
  const std::string lc_path = (ckpt / "latent-classifier.safetensors").string();
  if (job.train.resume && fs::exists(lc_path))  // trained by the interrupted run
    return {models::load_latent_classifier(lc_path), {{"trained_on_the_fly", true}, {"resumed", true}}};
  LatentScores data;
  nlohmann::json source;
  if (!job.samples.empty()) {
    if (job.space == models::LatentSpace::WPlus) fail("--samples", "a sample directory holds z and w codes, not wplus");
    auto set = edit::load_samples(job.samples);
    const bool w = job.space == models::LatentSpace::W;
    if (w && !set.w.defined()) fail(job.samples, "has no w latents (a model without W)");
    const auto& latents = w ? set.w : set.z;
    if (latents.size(1) != dim)
      fail(job.samples, "holds latents of another model (dimension " + std::to_string(latents.size(1)) + ", expected " + std::to_string(dim) + ")");
    data = {job.space, latents, set.scores, set.columns};
    source = {{"trained_on_the_fly", true}, {"samples", job.samples}};
  } else {
    SampleScoresParams sp;
    sp.n = job.lc_samples;
    sp.space = job.space;
    sp.truncation = job.train.truncation;
    sp.seed = seeds::kLatentClassifierSampleSeed + job.train.seed;  // apart from training batches and held-out faces
    data = sample_and_score(g, supervision, sp);
    source = {{"trained_on_the_fly", true}, {"sampled", job.lc_samples}};
  }
  auto lp = train_latent_classifier_default_params();
  lp.epochs = job.lc_epochs;
  fs::create_directories(ckpt);
  source["training"] = train_latent_classifier(data, lp, lc_path);
  return {models::load_latent_classifier(lc_path), source};
}

}  // namespace

nlohmann::json train_learned_editor(std::shared_ptr<models::Generator> g, const std::string& model_name, LearnedEditorJob job,
                                    const std::string& out_path) {
  if (job.method != "transformer" && job.method != "l2m") fail("--method " + job.method, "unknown learned editor (transformer or l2m)");
  if (fs::path(out_path).extension() != ".safetensors") fail("-o " + out_path, "give -o FILE.safetensors");
  const auto out_dir = fs::path(out_path).parent_path();
  if (!out_dir.empty() && !fs::is_directory(out_dir)) fail("-o " + out_path, "directory " + out_dir.string() + " does not exist");
  const std::string space_name = models::to_string(job.space);
  if (!g->has_space(job.space)) fail("--space " + space_name, "the " + g->arch() + " generator has no such latent space");
  if (job.method == "l2m") {
    if (job.space == models::LatentSpace::WPlus) fail("--space wplus", "l2m edits z or w codes");
    if (!job.layers.empty()) fail("--layers", "l2m edits whole z or w codes; --layers is for the transformer in wplus");
    if (!job.latent_classifier.empty() || !job.samples.empty()) fail("--method l2m", "trains through the generator: no latent classifier");
  } else if (!job.layers.empty() && job.space != models::LatentSpace::WPlus) {
    fail("--layers", "only W+ edits can be restricted to layers (use --space wplus)");
  }
  const int64_t dim = job.space == models::LatentSpace::Z ? g->z_dim() : g->w_dim();
  auto supervision = edit::open_supervision(job.classifiers, g->device());
  if (!supervision->has_column(job.attribute)) supervision->column(job.attribute);  // throws listing the columns

  nlohmann::json lc_source;
  // The file is written once, with the full report: held-out figures included.
  job.train.finalize = [&](const edit::Editor& editor, nlohmann::json& r) {
    r["model"] = model_name;
    r["classifiers"] = job.classifiers;
    if (!lc_source.is_null()) r["latent_classifier"] = lc_source;
    if (job.heldout > 0)
      r["heldout"] = heldout_flip_rate(editor, *g, *supervision, job.attribute, job.heldout, seeds::kEditorHeldoutSeed, 1.0, job.train.truncation);
  };
  if (job.method == "transformer") {
    auto [lc, source] = latent_classifier_for(job, *g, *supervision, dim, out_path);
    lc_source = source;
    edit::LatentTransformerConfig cfg;
    cfg.attribute = job.attribute;
    cfg.space = job.space;
    cfg.latent_dim = dim;
    cfg.num_ws = job.space == models::LatentSpace::WPlus ? g->num_ws() : 0;
    if (!job.layers.empty()) cfg.layers = edit::parse_layers(job.layers, g->num_ws());
    lc->to(g->device());
    return train_latent_transformer(lc, generator_sampler(*g, job.space, job.train.truncation), cfg, job.train, out_path);
  }
  edit::L2MConfig cfg;
  cfg.attribute = job.attribute;
  cfg.space = job.space;
  cfg.latent_dim = dim;
  cfg.hidden = job.train.hidden;
  return train_l2m(*g, *supervision, cfg, job.train, out_path);
}

}  // namespace faceedit::train
