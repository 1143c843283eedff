// Shared by the fuzz harnesses: the input as a file (the readers take paths), and the rule that a
// refusal is a faceedit::Error; anything else that escapes (another exception, a crash, a sanitizer
// report) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace faceedit::fuzz {

// Writes the input to one file per process under /dev/shm (or /tmp) and returns its path.
inline const std::string& input_file(const uint8_t* data, size_t size, const char* ext) {
  static std::string path;
  path = (access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : std::string("/tmp")) + "/faceedit-fuzz-" + std::to_string(getpid()) + ext;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

}  // namespace faceedit::fuzz
