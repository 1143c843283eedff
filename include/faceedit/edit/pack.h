// faceedit — editor packs: every editor `faceedit fit` made for one generator, with calibrated
// strengths, read back so that `--edit smile=+1` means the same for every method.
//
// A pack is a directory:
//   pack.json   {"format": "faceedit.pack/1", "model": SPEC, "model_hash": HEX, "guide": SPEC,
//                "editors": [{"attribute", "method", "space", "layers", "file", "calibration":
//                             {"scale", "unit", ...}, "scores": {...}}, ...],
//                "best": {"smiling": "transformer", ...}}
//   interfacegan/ATTR.safetensors, conditional/ATTR.safetensors, transformer/ATTR.safetensors,
//   l2m/ATTR.safetensors, sefa/sefa_K.safetensors, ganspace/ganspace_K.safetensors, report.html
//
// Calibration: an editor's own unit differs by method (InterFaceGAN: a distance along the boundary
// normal; the transformer: its step). In a pack, strength 1 is the native strength `scale` at which
// the guide's probability of the attribute crosses 0.5 on the median held-out face (every face moved
// towards its other side); 2 goes twice as far, negative the other way. Unnamed directions (sefa,
// ganspace) have no classifier to cross: their strength 1 is one standard deviation of the samples'
// projections on the direction ("unit": "sample-std").
//
//   auto pack = edit::load_pack("packs/dcgan");
//   auto step = edit::pack_edit(pack, "smile=+1");          // the best method, native strength
//   auto step2 = edit::pack_edit(pack, "smile=-0.5", "interfacegan");
//   auto editor = edit::open_editor(step.editor, g);        // then step.strength as usual
//
// Errors are faceedit::Error naming pack.json and the problem (unknown format or method, a missing
// editor file, an attribute the pack has not, a pack made for another model).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/edit/editor_factory.h"

namespace faceedit::models {
class Generator;
}

namespace faceedit::edit {

inline constexpr const char* kPackFormat = "faceedit.pack/1";

// Methods a pack may hold. conditional/sefa/ganspace editors are boundary files opened as
// InterFaceGAN edits (a conditional boundary is stored already projected).
const std::vector<std::string>& pack_methods();

struct PackEditor {
  std::string attribute, method, layers;
  std::optional<models::LatentSpace> space;  // none: the file's own
  std::string file;          // absolute path (pack.json stores it relative to the pack)
  double scale = 1.0;        // native strength at pack strength 1
  std::string unit;          // "guide-median-crossing" or "sample-std"
  nlohmann::json calibration = nlohmann::json::object(), scores = nlohmann::json::object();
};

struct Pack {
  std::string dir, model, model_hash, guide;
  nlohmann::json json;
  std::vector<PackEditor> editors;
  std::vector<std::string> attributes() const;  // in pack order, each once
  // The editor of `attribute` (canonical names and aliases match) by `method` ("" or "best": the
  // pack's best method for it, else the first). Throws listing what the pack has.
  const PackEditor& find(const std::string& attribute, const std::string& method = "") const;
};

// Reads and checks DIR/pack.json (format, known methods, every file present, finite scales > 0).
Pack load_pack(const std::string& dir);

// The content hash of a generator's tensors (what pack.json's model_hash holds).
std::string generator_hash(const models::Generator& g);

// Throws "<dir>/pack.json: made for model X (hash ..), not this one" unless g's hash matches.
void check_pack_model(const Pack& pack, const models::Generator& g);

// The spec that opens `e` (EditorSpec.method/boundary/editor_file/space/layers/attribute).
EditorSpec pack_editor_spec(const PackEditor& e);

// "ATTRIBUTE=STRENGTH" (strength in the pack's calibrated units) -> the EditStep of the pack's editor
// for it, strength converted to the method's own unit. `method` "" picks the pack's best. A key=value
// spec is refused (it names its own editor; use it without --pack).
EditStep pack_edit(const Pack& pack, const std::string& text, const std::string& method = "");

// Writes DIR/pack.json atomically (files stored relative to DIR).
void save_pack(const Pack& pack);

}  // namespace faceedit::edit
