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

namespace {
std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST(Npy, WriterRoundTripsAnyShape) {
  for (auto shape : std::vector<std::vector<int64_t>>{{}, {7}, {1, 512}, {2, 3, 4}, {0, 5}}) {
    auto t = torch::randn(shape);
    const std::string path = (test::temp_dir() / "rt.npy").string();
    io::write_npy(path, t);
    auto back = io::read_npy(path);
    EXPECT_EQ(back.sizes(), t.sizes());
    EXPECT_TRUE(torch::equal(back, t));
    const std::string bytes = file_bytes(path);
    const size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    EXPECT_EQ((10 + header_len) % 64, 0u);
    EXPECT_EQ(bytes[10 + header_len - 1], '\n');
    EXPECT_EQ(bytes.size(), 10 + header_len + 4 * static_cast<size_t>(t.numel()));
  }
  // Non-contiguous and float64 inputs are stored as C-order float32.
  auto d = torch::arange(6, torch::kFloat64).reshape({2, 3}).t();
  const std::string path = (test::temp_dir() / "t.npy").string();
  io::write_npy(path, d);
  EXPECT_TRUE(torch::equal(io::read_npy(path), d.to(torch::kFloat32).contiguous()));
  EXPECT_NE(file_bytes(path).find("'shape': (3, 2), }"), std::string::npos);
}

TEST(Npy, WriterHeaderMatchesNumpy) {
  // numpy.save(f, np.zeros((1, 512), np.float32)) header, and 1-d / 0-d tuple spellings.
  const std::string path = (test::temp_dir() / "h.npy").string();
  io::write_npy(path, torch::zeros({1, 512}));
  std::string expect = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 512), }";
  expect.append(117 - expect.size(), ' ');
  expect += '\n';
  EXPECT_EQ(file_bytes(path).substr(0, 128), std::string("\x93NUMPY\x01\x00\x76\x00", 10) + expect);
  io::write_npy(path, torch::zeros({3}));
  EXPECT_NE(file_bytes(path).find("'shape': (3,), }"), std::string::npos);
  io::write_npy(path, torch::zeros({}));
  EXPECT_NE(file_bytes(path).find("'shape': (), }"), std::string::npos);
}

TEST(Npy, OfficialBoundaryReSavesByteIdentically) {
  FACEEDIT_REQUIRE_SHARED(dir, "data/interfacegan-boundaries/stylegan2_ffhq_z");
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".npy") continue;
    const std::string out = (test::temp_dir() / "resaved.npy").string();
    io::write_npy(out, io::read_npy(entry.path().string()));
    EXPECT_EQ(file_bytes(out), file_bytes(entry.path().string())) << entry.path();
    ++count;
  }
  EXPECT_GT(count, 0);
}
