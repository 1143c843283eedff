// faceedit — atomic output files.
//
// Outputs are written to "<path>.tmp-<pid>" in the same directory and renamed over <path> only once
// complete, so an interrupted or failed write never leaves a half-written file behind.
#pragma once

#include <filesystem>
#include <string>

namespace faceedit::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();  // removes the temp file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();  // renames the temp file onto the target

 private:
  std::filesystem::path target_, temp_;
  bool committed_ = false;
};

// Writes bytes to path atomically.
void write_file_atomic(const std::filesystem::path& path, const void* data, size_t size);

}  // namespace faceedit::io
