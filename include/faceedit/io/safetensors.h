// faceedit — safetensors reader and writer.
//
// Format: u64 little-endian header length N, N bytes of JSON {"name": {"dtype", "shape",
// "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}, then the raw tensor bytes.
//
// The reader maps the file read-only and validates it completely before any tensor is used:
// header length within the file, JSON well formed, dtypes F32/F16/BF16/F64, shape sizes consistent with
// the byte ranges, ranges inside the data section and not overlapping. Any violation throws
// faceedit::Error naming the file and the problem. Tensors are returned as float32 copies.
//
// Thread-safety: a SafetensorsReader is immutable after construction; load() may be called from
// several threads.
//
//   faceedit::io::SafetensorsReader file("g.safetensors");
//   auto w = file.load("mapping.fc0.weight");          // float32 CPU tensor
//   std::string cfg = file.metadata().at("faceedit.config");
//
//   faceedit::io::write_safetensors("out.safetensors", {{"images", images}}, {{"note", "x"}});
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace faceedit::io {

struct TensorEntry {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16" or "F64"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
};

class SafetensorsReader {
 public:
  explicit SafetensorsReader(const std::string& path);
  ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<TensorEntry>& entries() const { return entries_; }  // in file order
  bool contains(const std::string& name) const;
  const TensorEntry& entry(const std::string& name) const;  // throws if absent
  torch::Tensor load(const std::string& name) const;         // float32 (F64: float64, U8: uint8), CPU, owns its memory

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::map<std::string, std::string> metadata_;
  std::vector<TensorEntry> entries_;
  std::map<std::string, size_t> index_;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes float32/float16/bfloat16/float64/uint8 tensors (other dtypes are converted to float32) atomically.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace faceedit::io
