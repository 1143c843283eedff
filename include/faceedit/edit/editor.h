// faceedit — the Editor interface: every editing method behind one API.
//
// An editor moves latent codes of one space so that one attribute changes. `alpha` is the edit
// strength per sample ([N], signed; 0 leaves a code unchanged); what one unit means is the method's
// own (InterFaceGAN: distance along the boundary normal). flip_sign() gives, per sample, the sign of
// alpha that moves it to the other side of its attribute, so evaluations can "flip the target" of a
// mixed batch with positive strengths.
//
//   auto editor = faceedit::edit::open_editor(...);           // e.g. InterFaceGANEditor
//   auto codes  = generator->map(z).select(1, 0);              // a W batch when editor->space() is W
//   auto edited = editor->edit(codes, torch::full({n}, 2.0));  // +2 units of the attribute
//   auto images = generator->generate(edited, editor->space());
//
// Thread-safety: editors are immutable after construction; edit() may run concurrently.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/models/generator.h"

namespace faceedit::edit {

class Editor {
 public:
  virtual ~Editor() = default;
  virtual std::string method() const = 0;     // "interfacegan", "transformer", "l2m", ...
  virtual std::string attribute() const = 0;  // "smiling", "male", "young", ...
  virtual models::LatentSpace space() const = 0;
  // latents in space() ([N, dim] or [N, num_ws, dim]) -> edited latents of the same shape.
  virtual torch::Tensor edit(const torch::Tensor& latents, const torch::Tensor& alpha) const = 0;
  // [N] of +1 / -1: the sign of alpha that flips each sample's attribute.
  virtual torch::Tensor flip_sign(const torch::Tensor& latents) const = 0;
  virtual nlohmann::json describe() const = 0;
  // Moves the editor's own networks (learned editors); editors without any keep nothing to move.
  virtual void to(torch::Device) {}
  // Writes the editor as a file open_editor() reads back, with `training_report` in its metadata.
  // Editors that are not files (pfsf walks; InterFaceGAN is saved as its boundary) throw
  // faceedit::Error.
  virtual void save(const std::string& path, const nlohmann::json& training_report = {}) const;
};

// "a:b:n" -> n evenly spaced values from a to b; "a,b,c" -> those values; "a" -> {a}.
std::vector<double> parse_alphas(const std::string& spec);

// "0-7", "2,3,5", "0-3,8" -> sorted unique layer indices; each must be < num_layers.
std::vector<int64_t> parse_layers(const std::string& spec, int64_t num_layers);

}  // namespace faceedit::edit
