// faceedit — finding model files.
//
// A model is named on the command line by
//   - a known name ("dcgan-celeba32", "stylegan2-tiny32", "stylegan2-ffhq"), looked up under
//     shared_root() (see runtime.h); or
//   - a path: a faceedit .safetensors file is used as it is; a third-party checkpoint (.pkl from
//     NVIDIA's stylegan2-ada-pytorch, the DCGAN's .pt) is converted once by tools/faceedit_convert.py
//     into cache_dir() and the converted file is used from then on.
// When a file is absent, the error says what the model is and where it is published.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "faceedit/models/generator.h"

namespace faceedit::models {

struct KnownModel {
  std::string name;
  std::string relative_path;  // under shared_root()
  std::string description;
  std::string published_at;
};

const std::vector<KnownModel>& known_models();

// Returns the path of a faceedit safetensors file for `spec`, converting it first when needed.
// network: which network of a stylegan2-ada-pytorch pickle ("G_ema", "G" or "D"); a .safetensors
// spec is returned as it is.
std::string resolve_model(const std::string& spec, const std::string& network = "G_ema");
// Whether `spec` names a checkpoint that is converted (a known name, .pkl, .pt), not a .safetensors file.
bool is_converted_checkpoint(const std::string& spec);

// Runs tools/<script_name> under python_interpreter() with `args`, its output on stderr. Throws
// faceedit::Error naming `what_for_errors` when it fails.
void run_python_tool(const std::string& script_name, const std::vector<std::string>& args,
                     const std::string& what_for_errors);

// Runs the Python converter: IN (.pkl/.pt) -> OUT (.safetensors). Throws faceedit::Error on failure.
// network: "G_ema" (the generator), "G" (a stylegan2-ada-pytorch pickle's training generator, not
// averaged) or "D" (its discriminator).
void convert_checkpoint(const std::string& in, const std::string& out, const std::string& network = "G_ema");

// resolve_model() + load_generator().
std::unique_ptr<Generator> open_generator(const std::string& spec, torch::Device device = torch::kCPU);

}  // namespace faceedit::models
