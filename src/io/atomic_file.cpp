#include "faceedit/io/atomic_file.h"

#include <unistd.h>

#include <fstream>

#include "faceedit/error.h"

namespace faceedit::io {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  fs::path dir = target_.parent_path();
  if (!dir.empty() && !fs::is_directory(dir))
    fail(target_.string(), "output directory " + dir.string() + " does not exist");
  temp_ = target_;
  temp_ += ".tmp-" + std::to_string(::getpid());
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) fail(target_.string(), "cannot move finished output into place: " + ec.message());
  committed_ = true;
}

void write_file_atomic(const fs::path& path, const void* data, size_t size) {
  AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary);
    if (!out) fail(path.string(), "cannot open for writing");
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.flush();
    if (!out) fail(path.string(), "write failed (disk full?)");
  }
  file.commit();
}

}  // namespace faceedit::io
