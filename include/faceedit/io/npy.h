// faceedit — NumPy .npy reader (format versions 1, 2 and 3), for InterFaceGAN boundaries and
// other arrays people exchange with Python. Reads little-endian float32 ('<f4') and float64 ('<f8')
// arrays in C order and returns a float32 CPU tensor of the stored shape. Anything else (Fortran
// order, big-endian, integer or object arrays, a truncated file) throws faceedit::Error.
#pragma once

#include <torch/torch.h>

#include <string>

namespace faceedit::io {

torch::Tensor read_npy(const std::string& path);

}  // namespace faceedit::io
