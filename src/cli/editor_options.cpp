#include "editor_options.h"

#include <algorithm>

#include "faceedit/edit/boundary.h"
#include "faceedit/edit/interfacegan.h"
#include "faceedit/edit/l2m.h"
#include "faceedit/edit/latent_transformer.h"
#include "faceedit/error.h"

namespace faceedit::cli {

void add_editor_options(CLI::App* cmd, EditorOptions& o) {
  cmd->add_option("--method", o.method, "editing method: interfacegan, transformer or l2m")->capture_default_str();
  cmd->add_option("--editor", o.editor, "transformer, l2m: editor file from `faceedit train-editor`");
  cmd->add_option("--boundary", o.boundary, "interfacegan: boundary (.safetensors from `faceedit boundary`, or an official .npy)");
  cmd->add_option("--condition", o.conditions, "interfacegan: boundaries the edit must not move along (comma-separated)")
      ->delimiter(',');
  cmd->add_option("--space", o.space, "latent space edited: z, w or wplus (default: the boundary's)");
  cmd->add_option("--layers", o.layers, "wplus: layers edited, e.g. 0-7 (default: all)");
  cmd->add_option("--distance", o.distance, "relative (step alpha) or absolute (end at distance alpha)")->capture_default_str();
  cmd->add_option("--attr", o.attribute, "attribute name (default: the boundary's)");
  cmd->add_option("--truncation", o.truncation, "truncation psi")->capture_default_str()->check(CLI::Range(0.0, 2.0));
}

static std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
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
  if (!o.attribute.empty() && lower(o.attribute) != editor->attribute())
    fail(o.editor, "edits '" + editor->attribute() + "', not '" + o.attribute + "'");
  return editor;
}

std::unique_ptr<edit::Editor> make_editor(const EditorOptions& o, const models::Generator& g) {
  if (o.method == "transformer" || o.method == "l2m") return make_learned_editor(o, g);
  if (o.method != "interfacegan") fail("--method " + o.method, "unknown editing method (available: interfacegan, transformer, l2m)");
  if (!o.editor.empty()) fail("--method interfacegan", "takes --boundary, not --editor");
  if (o.boundary.empty()) fail("--method interfacegan", "needs --boundary");
  auto primary = edit::load_boundary(o.boundary);
  edit::InterFaceGANParams p;
  p.source = o.boundary;
  p.attribute = lower(o.attribute.empty() ? primary.attribute : o.attribute);
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
      p.conditions.push_back(lower(conds.back().attribute));
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

torch::Tensor images_of(const models::Generator& g, const torch::Tensor& codes, models::LatentSpace space, double truncation) {
  return g.generate(codes, space, space == models::LatentSpace::Z ? truncation : 1.0);
}

}  // namespace faceedit::cli
