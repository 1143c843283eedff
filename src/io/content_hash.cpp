#include "faceedit/io/content_hash.h"

#include <cstdio>

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

}  // namespace faceedit::io
