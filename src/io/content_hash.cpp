#include "faceedit/io/content_hash.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include "faceedit/error.h"

namespace faceedit::io {

uint64_t fnv1a(const void* data, size_t n, uint64_t h) {
  const auto* b = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

ContentHash& ContentHash::add(const void* data, size_t n) {
  a = fnv1a(data, n, a);
  b = fnv1a(data, n, b);
  return *this;
}

ContentHash& ContentHash::add_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot be read");
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) add(buf.data(), static_cast<size_t>(in.gcount()));
  return *this;
}

}  // namespace faceedit::io
