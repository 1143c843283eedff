// faceedit — NumPy .npy reader (format versions 1, 2 and 3) and writer (version 1.0), for
// InterFaceGAN boundaries and other arrays people exchange with Python.
//
// read_npy reads little-endian float32 ('<f4') and float64 ('<f8') arrays in C order and returns a
// float32 CPU tensor of the stored shape. Anything else (Fortran order, big-endian, integer or
// object arrays, a truncated file) throws faceedit::Error.
//
// write_npy writes any tensor as a float32 ('<f4'), C-order array of its shape, with the header
// exactly as numpy.save lays it out (format 1.0, "{'descr': '<f4', 'fortran_order': False,
// 'shape': (1, 512), }" padded with spaces and a final '\n' so the data starts at a multiple of 64
// bytes), atomically (io/atomic_file.h). np.load reads it back; an official InterFaceGAN boundary
// read and re-written is byte-identical.
//
// Thread-safety: both are free functions without shared state.
#pragma once

#include <torch/torch.h>

#include <string>

namespace faceedit::io {

torch::Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const torch::Tensor& array);

}  // namespace faceedit::io
