#include "faceedit/edit/pack.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "faceedit/error.h"
#include "faceedit/io/content_hash.h"
#include "faceedit/io/json_file.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"

namespace faceedit::edit {

namespace fs = std::filesystem;

const std::vector<std::string>& pack_methods() {
  static const std::vector<std::string> m = {"interfacegan", "conditional", "transformer", "l2m", "sefa", "ganspace"};
  return m;
}

std::vector<std::string> Pack::attributes() const {
  std::vector<std::string> out;
  for (const auto& e : editors)
    if (std::find(out.begin(), out.end(), e.attribute) == out.end()) out.push_back(e.attribute);
  return out;
}

const PackEditor& Pack::find(const std::string& attribute, const std::string& method) const {
  const std::string a = models::canonical_attribute(attribute);
  std::string m = method == "best" ? "" : method;
  if (m.empty() && json.contains("best") && json["best"].contains(a)) m = json["best"][a].get<std::string>();
  std::string have;
  for (const auto& e : editors) {
    if (e.attribute != a) continue;
    if (m.empty() || e.method == m) return e;
    have += (have.empty() ? "" : ", ") + e.method;
  }
  const std::string file = (fs::path(dir) / "pack.json").string();
  if (!have.empty()) fail(file, "has no " + m + " editor for " + a + " (it has: " + have + ")");
  std::string names;
  for (const auto& n : attributes()) names += (names.empty() ? "" : ", ") + n;
  fail(file, "has no editor for '" + a + "' (attributes: " + names + ")");
}

Pack load_pack(const std::string& dir) {
  const fs::path file = fs::path(dir) / "pack.json";
  if (!fs::is_directory(dir)) fail(dir, "is not a pack directory (make one with `faceedit fit MODEL -o DIR`)");
  Pack p;
  p.dir = dir;
  p.json = io::read_json_file(file, "an editor pack");
  try {
    if (p.json.value("format", "") != kPackFormat)
      fail(file.string(), "is not a faceedit pack (format '" + p.json.value("format", "") + "', expected " + kPackFormat + ")");
    p.model = p.json.at("model").get<std::string>();
    p.model_hash = p.json.at("model_hash").get<std::string>();
    p.guide = p.json.value("guide", "");
    for (const auto& j : p.json.at("editors")) {
      PackEditor e;
      e.attribute = j.at("attribute").get<std::string>();
      e.method = j.at("method").get<std::string>();
      if (const auto s = j.value("space", ""); !s.empty()) e.space = models::latent_space_from_json(s, file.string());
      e.layers = j.value("layers", "");
      const auto& known = pack_methods();
      if (std::find(known.begin(), known.end(), e.method) == known.end())
        fail(file.string(), "editor " + e.attribute + ": unknown method '" + e.method + "'");
      e.file = (fs::path(dir) / j.at("file").get<std::string>()).string();
      if (!fs::is_regular_file(e.file)) fail(file.string(), "editor " + e.attribute + " (" + e.method + "): file " + e.file + " is missing");
      e.calibration = j.value("calibration", nlohmann::json::object());
      e.scale = e.calibration.value("scale", 1.0);
      e.unit = e.calibration.value("unit", "");
      if (!std::isfinite(e.scale) || e.scale <= 0)
        fail(file.string(), "editor " + e.attribute + " (" + e.method + "): calibration scale " + std::to_string(e.scale) + " is not > 0");
      e.scores = j.value("scores", nlohmann::json::object());
      p.editors.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception& ex) {
    fail(file.string(), std::string("is not a valid pack: ") + ex.what());
  }
  return p;
}

std::string generator_hash(const models::Generator& g) {
  io::ContentHash h;
  h.add(g.arch());
  for (const auto& t : g.named_tensors()) {
    auto c = t.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    h.add(t.key()).add(c.data_ptr(), c.nbytes());
  }
  return h.hex();
}

void check_pack_model(const Pack& pack, const models::Generator& g) {
  const auto hash = generator_hash(g);
  if (hash != pack.model_hash)
    fail((fs::path(pack.dir) / "pack.json").string(),
         "was made for model " + pack.model + " (hash " + pack.model_hash + "), not this one (hash " + hash +
             "): fit a pack for it with `faceedit fit MODEL -o DIR`");
}

EditorSpec pack_editor_spec(const PackEditor& e) {
  EditorSpec s;
  if (e.method == "transformer" || e.method == "l2m") {
    s.method = e.method;
    s.editor_file = e.file;
  } else {
    s.method = "interfacegan";  // conditional boundaries are stored projected; sefa/ganspace are unit directions
    s.boundary = e.file;
  }
  if (s.method != "interfacegan") s.space = e.space;  // a boundary edits in its own space
  s.layers = e.layers;
  s.attribute = e.attribute;
  return s;
}

EditStep pack_edit(const Pack& pack, const std::string& text, const std::string& method) {
  const auto eq = text.find('=');
  const std::string left = eq == std::string::npos ? text : text.substr(0, eq);
  for (const auto& k : editor_keys())
    if (k.key == left) fail("edit '" + text + "'", "with a pack, write ATTRIBUTE=STRENGTH (e.g. smile=+1): a key=value spec names its own editor");
  const auto parsed = parse_edit(text);  // checks the form and the number
  const auto& e = pack.find(parsed.editor.attribute, method);
  EditStep step;
  step.editor = pack_editor_spec(e);
  step.strength = parsed.strength * e.scale;
  return step;
}

void save_pack(const Pack& pack) {
  nlohmann::json j = pack.json;
  j["format"] = kPackFormat;
  j["model"] = pack.model;
  j["model_hash"] = pack.model_hash;
  j["guide"] = pack.guide;
  j["editors"] = nlohmann::json::array();
  for (const auto& e : pack.editors) {
    auto cal = e.calibration;
    cal["scale"] = e.scale;
    cal["unit"] = e.unit;
    j["editors"].push_back({{"attribute", e.attribute},
                            {"method", e.method},
                            {"space", e.space ? models::to_string(*e.space) : ""},
                            {"layers", e.layers},
                            {"file", fs::relative(e.file, pack.dir).string()},
                            {"calibration", cal},
                            {"scores", e.scores}});
  }
  io::write_json_file(fs::path(pack.dir) / "pack.json", j);
}

}  // namespace faceedit::edit
