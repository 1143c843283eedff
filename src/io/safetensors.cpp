#include "faceedit/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"

namespace faceedit::io {

namespace {

// A header larger than this is not a real model (100 MB of JSON) and would only waste memory.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

size_t dtype_size(const std::string& dtype) {
  if (dtype == "F64") return 8;
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "U8") return 1;
  return 0;
}

torch::ScalarType dtype_scalar(const std::string& dtype) {
  if (dtype == "F32") return torch::kFloat32;
  if (dtype == "F64") return torch::kFloat64;
  if (dtype == "F16") return torch::kFloat16;
  if (dtype == "U8") return torch::kUInt8;
  return torch::kBFloat16;
}

std::string dtype_name(torch::ScalarType t) {
  if (t == torch::kFloat16) return "F16";
  if (t == torch::kBFloat16) return "BF16";
  if (t == torch::kFloat64) return "F64";
  if (t == torch::kUInt8) return "U8";
  return "F32";
}

}  // namespace

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  map_size_ = static_cast<size_t>(st.st_size);
  if (map_size_ < 8) {
    ::close(fd);
    fail(path, "file is " + std::to_string(map_size_) + " bytes, too short for a safetensors header");
  }
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    fail(path, std::string("cannot map: ") + std::strerror(errno));
  }
  try {
    const auto* bytes = static_cast<const uint8_t*>(map_);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
    if (header_len > kMaxHeaderBytes || header_len > map_size_ - 8)
      fail(path, "header length " + std::to_string(header_len) + " exceeds the file size " +
                     std::to_string(map_size_) + " (truncated or not a safetensors file)");
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
    } catch (const nlohmann::json::exception& e) {
      fail(path, std::string("header is not valid JSON (corrupt file?): ") + e.what());
    }
    if (!header.is_object()) fail(path, "header is not a JSON object");
    data_ = bytes + 8 + header_len;
    const uint64_t data_size = map_size_ - 8 - header_len;

    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const auto& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) fail(path, "__metadata__ is not an object");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string()) fail(path, "__metadata__ value of '" + m.key() + "' is not a string");
          metadata_[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string where = "tensor '" + name + "'";
      if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
        fail(path, where + " lacks dtype, shape or data_offsets");
      TensorEntry e;
      e.name = name;
      if (!v["dtype"].is_string()) fail(path, where + ": dtype is not a string");
      e.dtype = v["dtype"].get<std::string>();
      const size_t elem = dtype_size(e.dtype);
      if (elem == 0) fail(path, where + ": unsupported dtype " + e.dtype + " (faceedit reads F32, F16, BF16, F64, U8)");
      if (!v["shape"].is_array()) fail(path, where + ": shape is not an array");
      uint64_t numel = 1;
      for (const auto& d : v["shape"]) {
        if (!d.is_number_unsigned()) fail(path, where + ": shape has a non-integer or negative entry");
        const uint64_t n = d.get<uint64_t>();
        if (n != 0 && numel > (UINT64_MAX / n)) fail(path, where + ": shape overflows");
        numel *= n;
        e.shape.push_back(static_cast<int64_t>(n));
      }
      const auto& off = v["data_offsets"];
      if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        fail(path, where + ": data_offsets must be two non-negative integers");
      e.begin = off[0].get<uint64_t>();
      e.end = off[1].get<uint64_t>();
      if (e.begin > e.end || e.end > data_size)
        fail(path, where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                       "] lie outside the " + std::to_string(data_size) + "-byte data section (truncated file?)");
      if (numel > UINT64_MAX / elem || e.end - e.begin != numel * elem)
        fail(path, where + ": " + std::to_string(e.end - e.begin) + " bytes do not match shape and dtype (" +
                       std::to_string(numel) + " x " + std::to_string(elem) + " bytes)");
      entries_.push_back(std::move(e));
    }
    // Non-overlap: sort a copy by offset and check neighbours.
    std::vector<const TensorEntry*> by_offset;
    for (const auto& e : entries_) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < by_offset.size(); ++i)
      if (by_offset[i]->begin < by_offset[i - 1]->end && by_offset[i]->begin != by_offset[i]->end)
        fail(path, "tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
    // Keep file order for listing.
    std::sort(entries_.begin(), entries_.end(),
              [](const TensorEntry& a, const TensorEntry& b) { return a.begin < b.begin; });
    for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].name] = i;
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsReader::~SafetensorsReader() {
  if (map_) ::munmap(map_, map_size_);
}

bool SafetensorsReader::contains(const std::string& name) const { return index_.count(name) != 0; }

const TensorEntry& SafetensorsReader::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(path_, "no tensor named '" + name + "'");
  return entries_[it->second];
}

torch::Tensor SafetensorsReader::load(const std::string& name) const {
  const TensorEntry& e = entry(name);
  auto view = torch::from_blob(const_cast<uint8_t*>(data_ + e.begin), e.shape,
                               torch::TensorOptions().dtype(dtype_scalar(e.dtype)));
  // from_blob does not copy; the clone/convert detaches the result from the mapping.
  // F64 (sums that must keep every bit: eval/edit_metrics.h) stays double, U8 (images) stays
  // uint8; half types widen.
  return e.dtype == "F32" || e.dtype == "F64" || e.dtype == "U8" ? view.clone() : view.to(torch::kFloat32);
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> payload;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") fail(path, "'__metadata__' is not a valid tensor name");
    torch::Tensor t = tensor.detach().to(torch::kCPU);
    if (t.scalar_type() != torch::kFloat16 && t.scalar_type() != torch::kBFloat16 && t.scalar_type() != torch::kFloat64 &&
        t.scalar_type() != torch::kUInt8)
      t = t.to(torch::kFloat32);
    t = t.contiguous();
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    payload.push_back(t);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data section to 8 bytes
  AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary);
    if (!out) fail(path, "cannot open for writing");
    uint8_t len[8];
    uint64_t n = json.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(json.data(), static_cast<std::streamsize>(json.size()));
    for (const auto& t : payload)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
    out.flush();
    if (!out) fail(path, "write failed (disk full?)");
  }
  file.commit();
}

}  // namespace faceedit::io
