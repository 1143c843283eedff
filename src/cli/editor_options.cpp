#include "editor_options.h"

#include "commands.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "faceedit/edit/boundary.h"
#include "faceedit/edit/interfacegan.h"
#include "faceedit/edit/l2m.h"
#include "faceedit/edit/latent_transformer.h"
#include "faceedit/edit/pfsf_walk.h"
#include "faceedit/models/classifier_features.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/judges.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"

namespace faceedit::cli {

void add_editor_options(CLI::App* cmd, EditorOptions& o) {
  cmd->add_option("--method", o.method, "editing method: interfacegan, transformer, l2m or pfsf")->capture_default_str();
  cmd->add_option("--editor", o.editor, "transformer, l2m: editor file from `faceedit train-editor`");
  cmd->add_option("--boundary", o.boundary, "interfacegan: boundary (.safetensors from `faceedit boundary`, or an official .npy)");
  cmd->add_option("--condition", o.conditions, "interfacegan: boundaries the edit must not move along (comma-separated)")
      ->delimiter(',');
  cmd->add_option("--space", o.space, "latent space edited: z, w or wplus (default: the boundary's)");
  cmd->add_option("--layers", o.layers, "wplus: layers edited, e.g. 0-7 (default: all)");
  cmd->add_option("--distance", o.distance, "relative (step alpha) or absolute (end at distance alpha)")->capture_default_str();
  attribute_option(cmd->add_option("--attr", o.attribute, "attribute name, CelebA's or an alias such as smile, glasses (default: the boundary's)"));
  cmd->add_option("--truncation", o.truncation, "truncation psi")->capture_default_str()->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--classifier", o.classifiers, "pfsf: supervision classifier(s) (default: celebahq, our 40-attribute guide)")
      ->delimiter(',');
}

std::shared_ptr<models::AttributeClassifier> open_supervision(const std::vector<std::string>& specs, torch::Device device) {
  const std::vector<std::string> use = specs.empty() ? std::vector<std::string>{models::kDefaultGuide} : specs;
  std::vector<std::unique_ptr<models::AttributeClassifier>> parts;
  for (const auto& s : use) parts.push_back(models::open_classifier(s));
  std::shared_ptr<models::AttributeClassifier> clf =
      parts.size() == 1 ? std::shared_ptr<models::AttributeClassifier>(std::move(parts[0]))
                        : std::make_shared<models::CombinedClassifier>(std::move(parts));
  clf->to(device);
  return clf;
}

// Learned editors carry their space and dimension: they must match the generator and --space.
static std::unique_ptr<edit::Editor> make_learned_editor(const EditorOptions& o, const models::Generator& g) {
  if (o.editor.empty()) fail("--method " + o.method, "needs --editor FILE (from `faceedit train-editor`)");
  if (!o.boundary.empty() || !o.conditions.empty()) fail("--method " + o.method, "takes --editor, not --boundary/--condition");
  if (o.distance != "relative") fail("--distance", "is for interfacegan; learned editors' strength is their own");
  std::unique_ptr<edit::Editor> editor;
  int64_t dim = 0, num_ws = 0;
  if (o.method == "transformer") {
    auto t = edit::load_latent_transformer(o.editor);
    if (!o.layers.empty()) {
      if (t->space() != models::LatentSpace::WPlus) fail("--layers", "only W+ edits can be restricted to layers (this editor edits " + models::to_string(t->space()) + ")");
      t = edit::load_latent_transformer(o.editor, edit::parse_layers(o.layers, g.num_ws()));
    }
    dim = t->net()->config().latent_dim;
    num_ws = t->net()->config().num_ws;
    t->to(g.device());
    editor = std::move(t);
  } else {
    if (!o.layers.empty()) fail("--layers", "l2m edits whole z or w codes");
    auto l = edit::load_l2m(o.editor);
    dim = l->net()->config().latent_dim;
    l->to(g.device());
    editor = std::move(l);
  }
  const auto space = editor->space();
  if (!o.space.empty() && models::parse_latent_space(o.space) != space)
    fail(o.editor, "edits " + models::to_string(space) + " codes, not " + o.space + " (omit --space)");
  if (!g.has_space(space)) fail(o.editor, "edits " + models::to_string(space) + " codes; the " + g.arch() + " generator has none");
  const int64_t want = space == models::LatentSpace::Z ? g.z_dim() : g.w_dim();
  if (dim != want || (space == models::LatentSpace::WPlus && num_ws != g.num_ws()))
    fail(o.editor, "has latent dimension " + std::to_string(dim) + ", expected " + std::to_string(want) +
                       " (an editor must come from the same model)");
  if (!o.attribute.empty() && models::canonical_attribute(o.attribute) != models::canonical_attribute(editor->attribute()))
    fail(o.editor, "edits '" + editor->attribute() + "', not '" + o.attribute + "'");
  return editor;
}

// PFSF's walk on generated codes: the supervision classifier guides it; identity is kept through
// the pooled features of our guide classifier (never the judges').
static std::unique_ptr<edit::Editor> make_pfsf_editor(const EditorOptions& o, const models::Generator& g) {
  if (o.attribute.empty()) fail("--method pfsf", "needs --attr (a column of the supervision classifier, e.g. smiling)");
  if (!o.boundary.empty() || !o.editor.empty() || !o.conditions.empty())
    fail("--method pfsf", "walks with the supervision classifier; it takes no --boundary, --editor or --condition");
  edit::PfsfEditorParams p;
  p.attribute = models::canonical_attribute(o.attribute);
  p.space = o.space.empty() ? pipeline::default_inversion_space(g) : models::parse_latent_space(o.space);
  if (!g.has_space(p.space)) fail("--space " + o.space, "the " + g.arch() + " generator has no such latent space");
  p.walk.truncation = o.truncation;
  auto supervision = open_supervision(o.classifiers, g.device());
  supervision->column(p.attribute);  // an unknown attribute fails here, listing the columns
  const auto guide_path = models::trained_classifier_path(models::kDefaultGuide);
  struct OwnedEmbedder {
    std::unique_ptr<models::FaceClassifier> net;
    std::unique_ptr<models::ClassifierEmbedder> embedder;
  };
  auto owned = std::make_shared<OwnedEmbedder>();
  owned->net = models::load_face_classifier(guide_path.string());
  owned->net->to(g.device());
  owned->embedder = std::make_unique<models::ClassifierEmbedder>(*owned->net);
  std::shared_ptr<models::IdentityEmbedder> identity(owned, owned->embedder.get());
  // Borrowed, not owned: the caller keeps g alive (see make_editor's contract).
  std::shared_ptr<const models::Generator> borrowed(std::shared_ptr<void>(), &g);
  return std::make_unique<edit::PfsfEditor>(borrowed, supervision, p, identity);
}

std::unique_ptr<edit::Editor> make_editor(const EditorOptions& o, const models::Generator& g) {
  if (o.method == "transformer" || o.method == "l2m") return make_learned_editor(o, g);
  if (o.method == "pfsf") return make_pfsf_editor(o, g);
  if (o.method != "interfacegan") fail("--method " + o.method, "unknown editing method (available: interfacegan, transformer, l2m, pfsf)");
  if (!o.editor.empty()) fail("--method interfacegan", "takes --boundary, not --editor");
  if (o.boundary.empty()) fail("--method interfacegan", "needs --boundary");
  auto primary = edit::load_boundary(o.boundary);
  edit::InterFaceGANParams p;
  p.source = o.boundary;
  p.attribute = models::canonical_attribute(o.attribute.empty() ? primary.attribute : o.attribute);
  const std::string space = !o.space.empty() ? o.space : !primary.space.empty() ? primary.space : "z";
  p.space = models::parse_latent_space(space);
  if (!g.has_space(p.space)) fail("--space " + space, "the " + g.arch() + " generator has no such latent space");
  if (primary.space == "z" && p.space != models::LatentSpace::Z)
    fail(o.boundary, "is a Z-space boundary; it cannot edit " + space + " codes");
  if (primary.space == "w" && p.space == models::LatentSpace::Z)
    fail(o.boundary, "is a W-space boundary; it cannot edit z codes (use --space w or wplus)");
  const int64_t dim = p.space == models::LatentSpace::Z ? g.z_dim() : g.w_dim();
  edit::check_dimension(primary, dim, o.boundary);
  edit::Boundary used = primary;
  if (!o.conditions.empty()) {
    std::vector<edit::Boundary> conds;
    for (const auto& c : o.conditions) {
      conds.push_back(edit::load_boundary(c));
      edit::check_dimension(conds.back(), dim, c);
      p.conditions.push_back(models::canonical_attribute(conds.back().attribute));
    }
    used = edit::condition_boundary(primary, conds);
  }
  p.normal = used.normal;
  p.offset = used.offset;
  p.num_ws = g.num_ws();
  if (!o.layers.empty()) {
    if (p.space != models::LatentSpace::WPlus) fail("--layers", "only W+ edits can be restricted to layers (use --space wplus)");
    p.layers = edit::parse_layers(o.layers, g.num_ws());
  }
  p.distance = edit::parse_distance_mode(o.distance);
  return std::make_unique<edit::InterFaceGANEditor>(p);
}

torch::Tensor codes_from_z(const models::Generator& g, const torch::Tensor& z, models::LatentSpace space, double truncation) {
  if (space == models::LatentSpace::Z) return z;
  auto wplus = g.map(z, truncation);
  return space == models::LatentSpace::W ? wplus.select(1, 0).contiguous() : wplus;
}

void write_evaluation(const std::string& output, nlohmann::json json, const cv::Mat& grid) {
  const std::filesystem::path out(output);
  const std::string grid_png = (out.parent_path() / (out.stem().string() + ".png")).string();
  io::write_image(grid_png, grid);
  json["grid_png"] = grid_png;
  const std::string text = json.dump(2);
  io::write_file_atomic(output, text.data(), text.size());
  std::cout << json.dump() << "\n";
}

torch::Tensor images_of(const models::Generator& g, const torch::Tensor& codes, models::LatentSpace space, double truncation) {
  return g.generate(codes, space, space == models::LatentSpace::Z ? truncation : 1.0);
}

}  // namespace faceedit::cli
