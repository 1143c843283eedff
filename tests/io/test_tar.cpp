#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "faceedit/error.h"
#include "faceedit/io/tar.h"
#include "test_support.h"

using namespace faceedit;
namespace fs = std::filesystem;

namespace {

// Over 100 characters with its file name: a GNU long-name record, a pax path or a ustar prefix.
std::string long_dir() { return "sub/" + std::string(60, 'd') + "/" + std::string(60, 'e'); }

std::map<std::string, std::string> read_all(const std::string& path) {
  std::map<std::string, std::string> files;
  io::for_each_tar_file(path, [&](const std::string& name, std::string_view bytes) { files[name] = std::string(bytes); });
  return files;
}

// Builds an archive with GNU tar (the independent writer) in the given format.
std::string make_archive(const std::string& format) {
  const fs::path dir = test::temp_dir() / ("tar-" + format);
  fs::create_directories(dir / "src" / long_dir());
  std::ofstream(dir / "src" / "a.txt") << "hello";
  std::ofstream(dir / "src" / long_dir() / "b.bin") << std::string(1500, 'x');
  std::ofstream(dir / "src" / "empty");
  const std::string out = (dir / "out.tar").string();
  EXPECT_EQ(test::run_command("tar --format=" + format + " -C " + (dir / "src").string() + " -cf " + out + " ."), 0);
  return out;
}

}  // namespace

TEST(Tar, ReadsWhatGnuTarWrites) {
  for (const std::string format : {"gnu", "pax", "ustar"}) {
    SCOPED_TRACE(format);
    const std::string path = make_archive(format);
    auto files = read_all(path);
    const std::string long_name = "./" + long_dir() + "/b.bin";
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files.at("./a.txt"), "hello");
    EXPECT_EQ(files.at(long_name), std::string(1500, 'x'));
    EXPECT_EQ(files.at("./empty"), "");
  }
}

TEST(Tar, RefusesTruncatedAndCorruptArchives) {
  const std::string path = make_archive("gnu");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path dir = test::temp_dir();
  std::ofstream(dir / "truncated.tar", std::ios::binary) << bytes.substr(0, 512 + 200);
  try {
    read_all((dir / "truncated.tar").string());
    FAIL() << "truncated archive accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  std::string corrupt = bytes;
  corrupt[10] ^= 0x55;  // inside the first header's name: checksum no longer matches
  std::ofstream(dir / "corrupt.tar", std::ios::binary) << corrupt;
  EXPECT_THROW(read_all((dir / "corrupt.tar").string()), Error);
  std::ofstream(dir / "text.tar") << std::string(2048, 'a');
  EXPECT_THROW(read_all((dir / "text.tar").string()), Error);
  EXPECT_THROW(read_all((dir / "missing.tar").string()), Error);
}
