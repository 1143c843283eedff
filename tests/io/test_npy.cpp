// .npy: hand-built files of each header version, the official InterFaceGAN boundaries, refusals.
#include <gtest/gtest.h>

#include <fstream>

#include "faceedit/error.h"
#include "faceedit/io/npy.h"
#include "test_support.h"

using namespace faceedit;

namespace {

// Builds a .npy file as numpy's format spec describes: magic, version, header length, header.
std::string npy_file(const std::string& name, int version, const std::string& dict, const std::string& data) {
  const size_t prefix = version == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(version);
  bytes += '\0';
  const uint32_t n = static_cast<uint32_t>(header.size());
  bytes.append(reinterpret_cast<const char*>(&n), version == 1 ? 2 : 4);
  bytes += header + data;
  const std::string path = (test::temp_dir() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST(Npy, ReadsAllHeaderVersionsAndDtypes) {
  float f[] = {1, 2, 3, 4, 5, 6};
  double d[] = {0.5, -1.5};
  const std::string fdata(reinterpret_cast<char*>(f), sizeof(f)), ddata(reinterpret_cast<char*>(d), sizeof(d));
  for (int version : {1, 2, 3}) {
    auto t = io::read_npy(npy_file("v" + std::to_string(version) + ".npy", version,
                                   "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", fdata));
    EXPECT_EQ(t.sizes(), torch::IntArrayRef({2, 3}));
    EXPECT_FLOAT_EQ(t[1][0].item<float>(), 4.0f);
  }
  auto t = io::read_npy(npy_file("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", ddata));
  EXPECT_EQ(t.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(t[1].item<float>(), -1.5f);
}

TEST(Npy, RefusesWhatItCannotRead) {
  const std::string four(16, '\0');
  EXPECT_THROW(io::read_npy(npy_file("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four)), Error);
  EXPECT_THROW(io::read_npy(npy_file("int.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", four)), Error);
  EXPECT_THROW(io::read_npy(npy_file("big.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", four)), Error);
  EXPECT_THROW(io::read_npy(npy_file("short.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", four)), Error);
  const std::string junk = (test::temp_dir() / "junk.npy").string();
  std::ofstream(junk) << "not numpy at all";
  EXPECT_THROW(io::read_npy(junk), Error);
  EXPECT_THROW(io::read_npy((test::temp_dir() / "absent.npy").string()), Error);
}

TEST(Npy, OfficialInterFaceGANBoundaries) {
  FACEEDIT_REQUIRE_SHARED(dir, "data/interfacegan-boundaries/stylegan2_ffhq_w");
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".npy") continue;
    auto b = io::read_npy(entry.path().string());
    EXPECT_EQ(b.sizes(), torch::IntArrayRef({1, 512})) << entry.path();
    EXPECT_NEAR(b.norm().item<double>(), 1.0, 1e-4) << entry.path();
    ++count;
  }
  EXPECT_GT(count, 0);
}
