#include "faceedit/edit/editor_factory.h"

#include <sstream>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/interfacegan/interfacegan.h"
#include "faceedit/edit/l2m.h"
#include "faceedit/edit/latent_transformer.h"
#include "faceedit/edit/pfsf_walk.h"
#include "faceedit/error.h"
#include "faceedit/models/checkpoint_formats.h"
#include "faceedit/models/classifier_features.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/judges.h"

namespace faceedit::edit {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);) parts.push_back(part);
  return parts;
}

double number(const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  fail(key, "'" + value + "' is not a number");
}

// A list key's value: names joined by '+', appended to `to` (empty parts skipped).
void append_split(std::vector<std::string>& to, const std::string& value, std::string (*canonical)(const std::string&) = nullptr) {
  for (const auto& c : split(value, '+'))
    if (!c.empty()) to.push_back(canonical ? canonical(c) : c);
}

int integer(const std::string& key, const std::string& value) {
  const double v = number(key, value);
  if (v != std::floor(v) || v < 1 || v > 1e6) fail(key, "'" + value + "' is not a whole number in [1, 1000000]");
  return static_cast<int>(v);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

const std::vector<EditorKey>& editor_keys() {
  static const std::vector<EditorKey> keys = {
      {"method", "method", "editing method: interfacegan, transformer, l2m or pfsf (photos also l2m-gan)", false,
       [](EditStep& s, const std::string& v) { s.editor.method = lower(v); }},
      {"boundary", "boundary", "interfacegan: boundary (.safetensors from `faceedit boundary`, or an official .npy)", false,
       [](EditStep& s, const std::string& v) { s.editor.boundary = v; }},
      {"editor", "editor", "transformer, l2m: editor file from `faceedit train-editor`", false,
       [](EditStep& s, const std::string& v) { s.editor.editor_file = v; }},
      {"conditions", "condition", "interfacegan: boundaries the edit must not move along", true,
       [](EditStep& s, const std::string& v) { append_split(s.editor.conditions, v); }},
      {"space", "space", "latent space edited: z, w or wplus (default: the boundary's or editor's)", false,
       [](EditStep& s, const std::string& v) { s.editor.space = models::parse_optional_latent_space(lower(v)); }},
      {"layers", "layers", "wplus: layers edited, e.g. 0-7 (default: all)", false,
       [](EditStep& s, const std::string& v) { s.editor.layers = v; }},
      {"distance", "distance", "interfacegan: relative (step alpha) or absolute (end at distance alpha)", false,
       [](EditStep& s, const std::string& v) { s.editor.distance = lower(v); }},
      {"attr", "attr", "attribute, CelebA's name in any case or an alias such as smile, glasses (default: the boundary's)", false,
       [](EditStep& s, const std::string& v) { s.editor.attribute = models::canonical_attribute(v); }},
      {"truncation", "truncation", "truncation psi of Z codes", false,
       [](EditStep& s, const std::string& v) {
         s.editor.truncation = number("truncation", v);
         if (s.editor.truncation < 0 || s.editor.truncation > 2) fail("truncation", v + " is outside [0, 2]");
       }},
      {"classifier", "classifier", "pfsf: supervision classifier(s) (default: celebahq, our 40-attribute guide); transformer: an official tnet file's latent classifier", true,
       [](EditStep& s, const std::string& v) { append_split(s.editor.classifiers, v); }},
      {"walk-steps", "walk-steps", "pfsf: walk budget in steps (default 60)", false,
       [](EditStep& s, const std::string& v) { s.editor.walk_steps = integer("walk-steps", v); }},
      {"step-length", "step-length", "pfsf: latent distance per step (default 0.25)", false,
       [](EditStep& s, const std::string& v) {
         s.editor.step_length = number("step-length", v);
         if (s.editor.step_length <= 0 || s.editor.step_length > 100) fail("step-length", v + " is outside (0, 100]");
       }},
      {"threshold", "threshold", "pfsf: target probability that counts as flipped (default 0.5)", false,
       [](EditStep& s, const std::string& v) {
         s.editor.threshold = number("threshold", v);
         if (s.editor.threshold < 0.01 || s.editor.threshold > 0.99) fail("threshold", v + " is outside [0.01, 0.99]");
       }},
      {"preserve", "preserve", "pfsf: attributes the walk keeps (default: male, young, eyeglasses, mustache, wearing_hat)", true,
       [](EditStep& s, const std::string& v) { append_split(s.editor.preserve, v, models::canonical_attribute); }},
      {"strength", "strength", "edit strength: sign = direction", false,
       [](EditStep& s, const std::string& v) {
         s.strength = number("strength", v);
         if (std::abs(s.strength) > 100) fail("strength", v + " is outside [-100, 100]");
       }},
      {"judge-target", "judge-target", "the judge column that measures the edit (default: the attribute)", false,
       [](EditStep& s, const std::string& v) { s.judge_target = models::canonical_attribute(v); }},
  };
  return keys;
}

EditStep parse_edit_step(const std::string& spec, EditStep base) {
  if (spec.empty()) fail("editor spec", "is empty");
  for (const auto& pair : split(spec, ',')) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size())
      fail("editor spec '" + spec + "'", "'" + pair + "' is not key=value");
    const std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
    const EditorKey* found = nullptr;
    for (const auto& k : editor_keys())
      if (k.key == key) found = &k;
    if (found == nullptr) {
      std::string known;
      for (const auto& k : editor_keys()) known += (known.empty() ? "" : ", ") + k.key;
      fail("editor spec '" + spec + "'", "unknown key '" + key + "' (known: " + known + ")");
    }
    try {
      found->set(base, value);
    } catch (const Error& e) {
      fail("editor spec '" + spec + "'", e.what());
    }
  }
  return base;
}

EditStep parse_edit(const std::string& text, EditStep defaults) {
  const auto eq = text.find('=');
  const std::string left = eq == std::string::npos ? text : text.substr(0, eq);
  for (const auto& k : editor_keys())
    if (k.key == left) return parse_edit_step(text, defaults);
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    fail("edit '" + text + "'", "write ATTRIBUTE=STRENGTH (e.g. smiling=+1) or key=value pairs");
  return parse_edit_step("attr=" + left + ",strength=" + text.substr(eq + 1), defaults);
}

std::string spec_key(const EditorSpec& s) {
  const nlohmann::json j = {s.method,     s.boundary,  s.editor_file, s.conditions,  s.space ? models::to_string(*s.space) : "", s.layers, s.distance,
                            s.attribute,  s.classifiers, s.truncation, s.walk_steps, s.step_length, s.threshold, s.preserve};
  return j.dump();
}

StrengthRange strength_range(const std::string& method) {
  if (method == "interfacegan") return {-3, 3};
  if (method == "l2m") return {-2, 2};
  if (method == "l2m-gan") return {-3, 3};  // 2: the smile the judges see on half of real photos (docs/l2mgan.md)
  return {-1.5, 1.5};  // transformer, pfsf: 1 = the attribute's crossing
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

namespace {

// Learned editors carry their space and dimension: they must match the generator and spec.space.
std::unique_ptr<Editor> open_learned_editor(const EditorSpec& o, const models::Generator& g) {
  const std::string what = "method " + o.method;
  if (o.editor_file.empty()) fail(what, "needs an editor file (from `faceedit train-editor`)");
  if (!o.boundary.empty() || !o.conditions.empty()) fail(what, "takes an editor file, not a boundary or conditions");
  if (o.distance != "relative") fail("distance " + o.distance, "is for interfacegan; learned editors' strength is their own");
  std::unique_ptr<Editor> editor;
  int64_t dim = 0, num_ws = 0;
  if (o.method == "transformer") {
    // An official tnet_<n>.pth.tar is converted with its latent classifier (classifier=FILE).
    if (o.classifiers.size() > 1) fail(what, "takes one latent classifier (classifier=FILE)");
    const std::string file = models::resolve_latent_transformer(o.editor_file, o.classifiers.empty() ? "" : o.classifiers[0]);
    auto t = load_latent_transformer(file);
    if (!o.layers.empty()) {
      if (t->space() != models::LatentSpace::WPlus)
        fail("layers", "only W+ edits can be restricted to layers (this editor edits " + models::to_string(t->space()) + ")");
      t = load_latent_transformer(file, parse_layers(o.layers, g.num_ws()));
    }
    dim = t->net()->config().latent_dim;
    num_ws = t->net()->config().num_ws;
    editor = std::move(t);
  } else {
    if (!o.layers.empty()) fail("layers", "l2m edits whole z or w codes");
    auto l = load_l2m(o.editor_file);
    dim = l->net()->config().latent_dim;
    editor = std::move(l);
  }
  editor->to(g.device());
  const auto space = editor->space();
  if (o.space && *o.space != space)
    fail(o.editor_file, "edits " + models::to_string(space) + " codes, not " + models::to_string(*o.space) + " (leave space unset)");
  if (!g.has_space(space)) fail(o.editor_file, "edits " + models::to_string(space) + " codes; the " + g.arch() + " generator has none");
  const int64_t want = space == models::LatentSpace::Z ? g.z_dim() : g.w_dim();
  if (dim != want || (space == models::LatentSpace::WPlus && num_ws != g.num_ws()))
    fail(o.editor_file, "has latent dimension " + std::to_string(dim) + ", expected " + std::to_string(want) +
                            " (an editor must come from the same model)");
  if (!o.attribute.empty() && models::canonical_attribute(o.attribute) != models::canonical_attribute(editor->attribute()))
    fail(o.editor_file, "edits '" + editor->attribute() + "', not '" + o.attribute + "'");
  return editor;
}

// Our default guide's pooled features as the identity the walk keeps (never the judges').
std::shared_ptr<models::IdentityEmbedder> default_identity(torch::Device device) {
  struct Owned {
    std::unique_ptr<models::FaceClassifier> net;
    std::unique_ptr<models::ClassifierEmbedder> embedder;
  };
  auto owned = std::make_shared<Owned>();
  owned->net = models::open_guide(models::kDefaultGuide);
  owned->net->to(device);
  owned->embedder = std::make_unique<models::ClassifierEmbedder>(*owned->net);
  return std::shared_ptr<models::IdentityEmbedder>(owned, owned->embedder.get());
}

std::unique_ptr<Editor> open_pfsf_editor(const EditorSpec& o, std::shared_ptr<const models::Generator> g,
                                         std::shared_ptr<models::IdentityEmbedder> identity) {
  if (o.attribute.empty()) fail("method pfsf", "needs attr (a column of the supervision classifier, e.g. smiling)");
  if (!o.boundary.empty() || !o.editor_file.empty() || !o.conditions.empty())
    fail("method pfsf", "walks with the supervision classifier; it takes no boundary, editor file or conditions");
  PfsfEditorParams p;
  p.attribute = models::canonical_attribute(o.attribute);
  p.space = o.space.value_or(g->inversion_space());
  if (!g->has_space(p.space)) fail("space " + models::to_string(p.space), "the " + g->arch() + " generator has no such latent space");
  p.walk.truncation = o.truncation;
  p.walk.max_steps = o.walk_steps;
  p.walk.step_length = o.step_length;
  p.walk.threshold = o.threshold;
  auto supervision = open_supervision(o.classifiers, g->device());
  supervision->column(p.attribute);  // an unknown attribute fails here, listing the columns
  for (const auto& c : o.preserve) supervision->column(c);
  p.walk.preserve = o.preserve;
  if (p.walk.preserve.empty()) {
    // Keeping all 39 other attributes (and identity) leaves the DCGAN's 100-dim Z almost no direction
    // that still raises the target: measured on photo 000157, a smile walk stayed at p = 0.34 for 60
    // steps. The attributes that make a person look like someone else are kept by default instead;
    // classifiers without them keep every other column (the walk's own default).
    for (const char* c : {"male", "young", "eyeglasses", "mustache", "wearing_hat"})
      if (c != p.attribute && supervision->has_column(c)) p.walk.preserve.push_back(c);
  }
  if (!identity) identity = default_identity(g->device());
  return std::make_unique<PfsfEditor>(std::move(g), std::move(supervision), p, std::move(identity));
}

std::unique_ptr<Editor> open_interfacegan_editor(const EditorSpec& o, const models::Generator& g) {
  if (!o.editor_file.empty()) fail("method interfacegan", "takes a boundary, not an editor file");
  if (o.boundary.empty()) fail("method interfacegan", "needs a boundary (from `faceedit boundary`, or an official .npy)");
  auto primary = load_boundary(o.boundary);
  InterFaceGANParams p;
  p.source = o.boundary;
  p.attribute = models::canonical_attribute(o.attribute.empty() ? primary.attribute : o.attribute);
  p.space = o.space ? *o.space : primary.space.value_or(models::LatentSpace::Z);
  const std::string space = models::to_string(p.space);
  if (!g.has_space(p.space)) fail("space " + space, "the " + g.arch() + " generator has no such latent space");
  if (primary.space == models::LatentSpace::Z && p.space != models::LatentSpace::Z)
    fail(o.boundary, "is a Z-space boundary; it cannot edit " + space + " codes");
  if (primary.space == models::LatentSpace::W && p.space == models::LatentSpace::Z)
    fail(o.boundary, "is a W-space boundary; it cannot edit z codes (use space w or wplus)");
  const int64_t dim = p.space == models::LatentSpace::Z ? g.z_dim() : g.w_dim();
  check_dimension(primary, dim, o.boundary);
  Boundary used = primary;
  if (!o.conditions.empty()) {
    std::vector<Boundary> conds;
    for (const auto& c : o.conditions) {
      conds.push_back(load_boundary(c));
      check_dimension(conds.back(), dim, c);
      p.conditions.push_back(models::canonical_attribute(conds.back().attribute));
    }
    used = condition_boundary(primary, conds);
  }
  p.normal = used.normal;
  p.offset = used.offset;
  p.num_ws = g.num_ws();
  if (!o.layers.empty()) {
    if (p.space != models::LatentSpace::WPlus) fail("layers", "only W+ edits can be restricted to layers (use space wplus)");
    p.layers = parse_layers(o.layers, g.num_ws());
  }
  p.distance = parse_distance_mode(o.distance);
  return std::make_unique<InterFaceGANEditor>(p);
}

}  // namespace

std::unique_ptr<Editor> open_editor(const EditorSpec& spec, std::shared_ptr<const models::Generator> g,
                                    std::shared_ptr<models::IdentityEmbedder> identity) {
  if (!g) fail("open_editor", "needs a generator");
  const std::string method = lower(spec.method);
  EditorSpec o = spec;
  o.method = method;
  if (method == "transformer" || method == "l2m") return open_learned_editor(o, *g);
  if (method == "pfsf") return open_pfsf_editor(o, std::move(g), std::move(identity));
  if (method == "interfacegan") return open_interfacegan_editor(o, *g);
  if (method == "l2m-gan")
    fail("method l2m-gan", "edits photos and images with its own encoder and decoder (faceedit photo, evaluate-images), not a generator's latent codes");
  fail("method " + spec.method, "unknown editing method (available: interfacegan, transformer, l2m, pfsf; l2m-gan for photos)");
}

}  // namespace faceedit::edit
