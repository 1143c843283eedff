// safetensors: round trip, bytes as the format specifies them, and every refusal.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "test_support.h"

using namespace faceedit;

namespace {

std::string path_of(const std::string& name) { return (test::temp_dir() / name).string(); }

// A file built byte by byte from a header object and a data section, independent of our writer.
std::string raw_file(const std::string& name, const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header + data;
  const std::string path = path_of(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

void expect_refused(const std::string& path, const std::string& needle) {
  try {
    io::SafetensorsReader r(path);
    ADD_FAILURE() << "accepted " << path << " (expected: " << needle << ")";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Safetensors, ReadsHandWrittenFile) {
  float values[] = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  std::string data(reinterpret_cast<char*>(values), sizeof(values));
  const uint16_t half_one = 0x3c00, bf16_two = 0x4000;  // 1.0 in F16, 2.0 in BF16
  data.append(reinterpret_cast<const char*>(&half_one), 2);
  data.append(reinterpret_cast<const char*>(&bf16_two), 2);
  auto path = raw_file("hand.safetensors",
                       R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                       R"("h":{"dtype":"F16","shape":[1],"data_offsets":[24,26]},)"
                       R"("b":{"dtype":"BF16","shape":[],"data_offsets":[26,28]}})",
                       data);
  io::SafetensorsReader r(path);
  EXPECT_EQ(r.metadata().at("k"), "v");
  auto a = r.load("a");
  EXPECT_EQ(a.sizes(), torch::IntArrayRef({2, 3}));
  EXPECT_FLOAT_EQ(a[0][2].item<float>(), 3.25f);
  EXPECT_FLOAT_EQ(a[1][2].item<float>(), 8.0f);
  EXPECT_FLOAT_EQ(r.load("h")[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(r.load("b").item<float>(), 2.0f);
  EXPECT_EQ(r.entries().size(), 3u);
}

TEST(Safetensors, RoundTripAndLayout) {
  auto a = torch::randn({3, 4, 5});
  auto h = torch::randn({7}).to(torch::kFloat16);
  const auto path = path_of("rt.safetensors");
  io::write_safetensors(path, {{"a", a}, {"h", h}}, {{"faceedit.arch", "x"}});
  io::SafetensorsReader r(path);
  EXPECT_TRUE(torch::equal(r.load("a"), a));
  EXPECT_TRUE(torch::equal(r.load("h"), h.to(torch::kFloat32)));
  EXPECT_EQ(r.entry("h").dtype, "F16");
  EXPECT_EQ(r.metadata().at("faceedit.arch"), "x");
  // Header length is a multiple of 8 and the JSON parses on its own.
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
  std::string header(n, ' ');
  in.read(header.data(), static_cast<std::streamsize>(n));
  EXPECT_EQ(nlohmann::json::parse(header)["a"]["data_offsets"][1], 3 * 4 * 5 * 4);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp-" + std::to_string(::getpid())));
}

// F64 keeps every bit of sums that processes must agree on (eval/edit_metrics.h); it stays double.
TEST(Safetensors, Float64StaysDouble) {
  auto d = torch::randn({5}, torch::kDouble) * 1e-3 + 1.0;
  const auto path = path_of("f64.safetensors");
  io::write_safetensors(path, {{"d", d}});
  io::SafetensorsReader r(path);
  EXPECT_EQ(r.entry("d").dtype, "F64");
  auto back = r.load("d");
  EXPECT_EQ(back.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(back, d));
  EXPECT_FALSE(torch::equal(back.to(torch::kFloat).to(torch::kDouble), d));  // float32 would have lost bits
}

// U8 holds images (training sets packed for another machine); read back as uint8, byte for byte.
TEST(Safetensors, Uint8StaysBytes) {
  auto images = torch::randint(0, 256, {3, 3, 4, 4}, torch::kUInt8);
  const auto path = path_of("u8.safetensors");
  io::write_safetensors(path, {{"images", images}});
  io::SafetensorsReader r(path);
  EXPECT_EQ(r.entry("images").dtype, "U8");
  auto back = r.load("images");
  EXPECT_EQ(back.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(back, images));
}

TEST(Safetensors, RefusesBrokenFiles) {
  io::write_safetensors(path_of("good.safetensors"), {{"w", torch::ones({256})}});
  std::ifstream in(path_of("good.safetensors"), std::ios::binary);
  std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(path_of("truncated.safetensors"), std::ios::binary) << good.substr(0, good.size() - 100);
  expect_refused(path_of("truncated.safetensors"), "outside");
  std::ofstream(path_of("header-cut.safetensors"), std::ios::binary) << good.substr(0, 20);
  expect_refused(path_of("header-cut.safetensors"), "exceeds the file size");
  std::ofstream(path_of("tiny.safetensors"), std::ios::binary) << "abc";
  expect_refused(path_of("tiny.safetensors"), "too short");
  expect_refused(path_of("missing.safetensors"), "cannot open");
  expect_refused(raw_file("json.safetensors", "{\"a\": [1, 2", ""), "not valid JSON");
  expect_refused(raw_file("array.safetensors", "[1,2]", ""), "not a JSON object");
  expect_refused(raw_file("dtype.safetensors", R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')),
                 "unsupported dtype I64");
  expect_refused(raw_file("shape.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')),
                 "do not match shape");
  expect_refused(raw_file("negative.safetensors", R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0')),
                 "non-integer or negative");
  expect_refused(raw_file("bounds.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')),
                 "outside");
  expect_refused(raw_file("overlap.safetensors",
                          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          std::string(12, '\0')),
                 "overlap");
  expect_refused(raw_file("meta.safetensors", R"({"__metadata__":{"k":1}})", ""), "not a string");
  expect_refused(raw_file("fields.safetensors", R"({"a":{"dtype":"F32"}})", ""), "lacks");
}

TEST(Safetensors, UnknownTensorNameIsAnError) {
  io::write_safetensors(path_of("one.safetensors"), {{"x", torch::ones({1})}});
  io::SafetensorsReader r(path_of("one.safetensors"));
  EXPECT_THROW(r.load("y"), Error);
}

TEST(Safetensors, WriterLeavesNoFileOnFailure) {
  const auto target = (test::temp_dir() / "no-such-dir" / "x.safetensors").string();
  EXPECT_THROW(io::write_safetensors(target, {{"x", torch::ones({1})}}), Error);
  EXPECT_FALSE(std::filesystem::exists(target));
}
