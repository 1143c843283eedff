// io::ContentHash::add_file against the same bytes added from memory: a file larger than the
// read block (so the blocks' seams are crossed) hashes as its bytes do, and a missing file is an
// error naming it.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "faceedit/error.h"
#include "faceedit/io/content_hash.h"
#include "test_support.h"

namespace faceedit {
namespace {

TEST(ContentHash, AFileHashesAsItsBytes) {
  std::string bytes((3 << 20) + 12345, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  const auto path = (test::temp_dir() / "content-hash.bin").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  io::ContentHash from_file, from_memory, other;
  from_file.add_file(path);
  from_memory.add(bytes);
  other.add(bytes.substr(1));
  EXPECT_EQ(from_file.hex(), from_memory.hex());
  EXPECT_NE(from_file.hex(), other.hex());
}

TEST(ContentHash, AMissingFileIsNamed) {
  io::ContentHash h;
  try {
    h.add_file("/nonexistent/model.safetensors");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace faceedit
