// faceedit — content hashes that key caches and work directories (photo cache, video work, sweep
// blocks): FNV-1a over bytes in two independently seeded 64-bit streams (a collision ~2^-128).
//
//   io::ContentHash h;  h.add(tensor.data_ptr(), tensor.nbytes()).add(settings.dump());
//   std::string key = h.hex();   // 32 hex digits
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace faceedit::io {

// One FNV-1a 64 stream: h' = fnv1a(bytes, h).
uint64_t fnv1a(const void* data, size_t n, uint64_t h);
// 16 lower-case hex digits.
std::string hex64(uint64_t v);

class ContentHash {
 public:
  ContentHash& add(const void* data, size_t n);  // into both streams
  ContentHash& add(const std::string& s) { return add(s.data(), s.size()); }
  // A file's bytes, read in blocks; throws faceedit::Error naming the file when it cannot be read.
  ContentHash& add_file(const std::string& path);
  std::string hex() const { return hex64(a) + hex64(b); }
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
};

}  // namespace faceedit::io
