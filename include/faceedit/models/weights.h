// faceedit — binding checkpoint tensors to a model's parameters and buffers by their original names.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "faceedit/io/safetensors.h"

namespace faceedit::models {

// Parameters and buffers of a module under their state_dict names.
torch::OrderedDict<std::string, torch::Tensor> module_tensors(const torch::nn::Module& module);

// Copies every tensor of `file` into `targets`: each target must be present with the same shape, and
// the file may hold nothing else. Errors name the file and the tensor.
void load_tensors(const io::SafetensorsReader& file, torch::OrderedDict<std::string, torch::Tensor>& targets,
                  const std::string& context);

// Checks the file's metadata "faceedit.arch" is `arch` (else an Error naming `description`).
void require_arch(const io::SafetensorsReader& file, const std::string& arch, const std::string& description);

// require_arch() + the parsed "faceedit.config" JSON.
nlohmann::json read_config(const io::SafetensorsReader& file, const std::string& arch, const std::string& description);

// Writes a module's parameters and buffers (CPU float32, or float16 when `half`: half the size for
// files shipped in the repository; load_tensors() widens them back) with faceedit's metadata:
// arch, format version, config JSON, and the training report when given. Atomic.
void save_module(const std::string& path, const torch::nn::Module& module, const std::string& arch,
                 const nlohmann::json& config, const nlohmann::json& training_report, bool half = false);

}  // namespace faceedit::models
