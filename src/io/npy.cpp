#include "faceedit/io/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"

namespace faceedit::io {

namespace {

// Extracts the value of 'key' from the header dict, e.g. "'descr': '<f4'" -> "'<f4'".
std::string header_field(const std::string& path, const std::string& header, const std::string& key) {
  const std::regex re("'" + key + "'\\s*:\\s*(\\([^)]*\\)|'[^']*'|True|False)");
  std::smatch m;
  if (!std::regex_search(header, m, re)) fail(path, "npy header has no '" + key + "' field");
  return m[1].str();
}

}  // namespace

torch::Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open (missing file?)");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) fail(path, "not a .npy file (bad magic)");
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "truncated .npy header");
    for (int i = 11; i >= 8; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
    header_start = 12;
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size()) fail(path, "truncated .npy header");
  const std::string header = bytes.substr(header_start, header_len);

  const std::string descr = header_field(path, header, "descr");
  if (header_field(path, header, "fortran_order") != "False")
    fail(path, "Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  size_t elem = 0;
  torch::ScalarType type;
  if (descr == "'<f4'") {
    elem = 4;
    type = torch::kFloat32;
  } else if (descr == "'<f8'") {
    elem = 8;
    type = torch::kFloat64;
  } else {
    fail(path, "unsupported dtype " + descr + " (faceedit reads little-endian float32 '<f4' and float64 '<f8')");
  }

  std::vector<int64_t> shape;
  const std::string shape_text = header_field(path, header, "shape");
  const std::regex dim_re("\\d+");
  // Each dimension and their product checked against the file's size as they are read, so a hostile
  // shape can neither overflow the element count nor make the view reach past the data.
  const size_t data_start = header_start + header_len;
  const uint64_t available = (bytes.size() - data_start) / elem;
  // The strides multiply the nonzero dimensions even when one is 0: bound them too (LibTorch reads
  // values from 2^62 up as symbolic integers).
  uint64_t numel = 1, strides = 1;
  for (auto it = std::sregex_iterator(shape_text.begin(), shape_text.end(), dim_re); it != std::sregex_iterator(); ++it) {
    const std::string digits = it->str();
    const uint64_t d = digits.size() > 15 ? UINT64_MAX : std::stoull(digits);
    if (shape.size() >= 16 || d > (1ull << 48) || strides > (1ull << 48) / std::max<uint64_t>(d, 1))
      fail(path, "shape " + shape_text.substr(0, 80) + " is not one a .npy file this size can hold");
    if (d > 0 && numel > available / d)
      fail(path, "truncated data: shape " + shape_text.substr(0, 80) + " needs more than the file's " + std::to_string(bytes.size() - data_start) + " bytes");
    numel *= d;
    strides *= std::max<uint64_t>(d, 1);
    shape.push_back(static_cast<int64_t>(d));
  }
  const size_t need = static_cast<size_t>(numel) * elem;
  if (bytes.size() - data_start < need)
    fail(path, "truncated data: " + std::to_string(bytes.size() - data_start) + " bytes, shape needs " +
                   std::to_string(need));
  auto view = torch::from_blob(bytes.data() + data_start, shape, torch::TensorOptions().dtype(type));
  return view.to(torch::kFloat32).clone();
}

// numpy.lib.format.write_array_header_1_0: the dict repr, spaces, '\n', total a multiple of 64.
static std::string npy_header_v1(const std::vector<int64_t>& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t prefix = 10;  // magic (6) + version (2) + u16 header length (2)
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  return header;
}

void write_npy(const std::string& path, const torch::Tensor& array) {
  const torch::Tensor data = array.detach().to(torch::kCPU).to(torch::kFloat32).contiguous();
  const std::string header = npy_header_v1(data.sizes().vec());
  if (header.size() > 65535) fail(path, "array has too many dimensions for a .npy 1.0 header");
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(static_cast<const char*>(data.data_ptr()), static_cast<size_t>(data.numel()) * sizeof(float));
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace faceedit::io
