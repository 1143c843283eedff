#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/io/image_header.h"
#include "test_support.h"

using namespace faceedit;

TEST(Image, TensorRoundTripAndGrid) {
  auto t = torch::rand({1, 3, 8, 6}) * 2 - 1;
  auto img = io::tensor_to_image(t);
  EXPECT_EQ(img.rows, 8);
  EXPECT_EQ(img.cols, 6);
  auto back = io::image_to_tensor(img);
  EXPECT_LE((back - t).abs().max().item<double>(), 1.0 / 127.5 + 1e-6);
  // Red in RGB is stored as BGR (0, 0, 255).
  auto red = torch::tensor({1.0f, -1.0f, -1.0f}).reshape({1, 3, 1, 1});
  EXPECT_EQ(io::tensor_to_image(red).at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
  auto grid = io::make_grid(torch::zeros({5, 3, 4, 4}), 3, 2, 2);
  EXPECT_EQ(grid.cols, 3 * 8 + 4 * 2);
  EXPECT_EQ(grid.rows, 2 * 8 + 3 * 2);
}

TEST(Image, WriteReadAndRefusals) {
  const auto dir = test::temp_dir();
  cv::Mat m(10, 12, CV_8UC3, cv::Scalar(10, 20, 30));
  io::write_image((dir / "a.png").string(), m);
  io::ImageLimits tiny_ok;
  tiny_ok.min_side = 1;
  auto r = io::read_image((dir / "a.png").string(), tiny_ok);
  EXPECT_EQ(cv::norm(r, m, cv::NORM_INF), 0);
  EXPECT_THROW(io::write_image((dir / "a.unknownext").string(), m), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.unknownext"));
  std::ofstream(dir / "fake.jpg") << "this is text";
  EXPECT_THROW(io::read_image((dir / "fake.jpg").string()), Error);
  EXPECT_THROW(io::read_image((dir / "missing.png").string()), Error);
  cv::Mat big(1024, 1024, CV_8UC3, cv::Scalar(0));
  io::write_image((dir / "big.png").string(), big);
  EXPECT_THROW(io::read_image((dir / "big.png").string(), 1000), Error);
}

namespace {

using Bytes = std::vector<unsigned char>;

Bytes encode(const std::string& ext, int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  cv::randu(m, 0, 255);
  Bytes out;
  EXPECT_TRUE(cv::imencode(ext, m, out));
  return out;
}

std::string save(const std::string& name, const Bytes& bytes) {
  const std::string path = (test::temp_dir() / name).string();
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return path;
}

uint32_t crc32(const unsigned char* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

void png_chunk(Bytes& b, const char* type, const Bytes& data) {
  put_be32(b, static_cast<uint32_t>(data.size()));
  Bytes body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  b.insert(b.end(), body.begin(), body.end());
  put_be32(b, crc32(body.data(), body.size()));
}

// A well-formed PNG that claims width x height RGB pixels: valid IHDR (with CRC), a tiny IDAT (a zlib
// stream of a few bytes; a decoder would allocate the full image before noticing it is short).
Bytes crafted_png(uint32_t width, uint32_t height) {
  Bytes b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  png_chunk(b, "IHDR", ihdr);
  png_chunk(b, "IDAT", {0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01});
  png_chunk(b, "IEND", {});
  return b;
}

// A real JPEG whose frame header (SOF0) is patched to claim width x height.
Bytes huge_jpeg(uint16_t width, uint16_t height) {
  Bytes b = encode(".jpg", 32, 32);
  for (size_t i = 2; i + 9 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xC0) {
      b[i + 5] = height >> 8, b[i + 6] = height & 0xFF, b[i + 7] = width >> 8, b[i + 8] = width & 0xFF;
      return b;
    }
  ADD_FAILURE() << "no SOF0 in OpenCV's JPEG";
  return b;
}


}  // namespace

TEST(ImageHeader, DimensionsOfEveryFormat) {
  for (const std::string ext : {".png", ".jpg", ".bmp", ".ppm", ".webp"}) {
    Bytes bytes;
    try {
      bytes = encode(ext, 37, 21);
    } catch (const cv::Exception&) {
      continue;  // this OpenCV cannot write the format (WebP is optional)
    }
    const std::string path = save("dims" + ext, bytes);
    const io::ImageHeader h = io::read_image_header(path);
    EXPECT_EQ(h.width, 37) << ext;
    EXPECT_EQ(h.height, 21) << ext;
    EXPECT_EQ(io::parse_image_header(bytes, path).width, 37) << ext;
    EXPECT_EQ(io::read_image(path).cols, 37) << ext;
  }
  EXPECT_EQ(io::read_image_header(save("crafted.png", crafted_png(20000, 20000))).width, 20000);
  cv::Mat m(21, 37, CV_8UC3, cv::Scalar(1, 2, 3));
  Bytes lossless;
  if (cv::haveImageWriter(".webp") && cv::imencode(".webp", m, lossless, {cv::IMWRITE_WEBP_QUALITY, 101})) {  // VP8L
    const io::ImageHeader h = io::parse_image_header(lossless, "lossless.webp");
    EXPECT_EQ(h.width, 37);
    EXPECT_EQ(h.height, 21);
  }
}

TEST(ImageHeader, ProgressiveAndRestartMarkerJpegs) {
  // Segments between scans (progressive) and RSTn markers inside the data must not read as truncation.
  cv::Mat m(48, 64, CV_8UC3);
  cv::randu(m, 0, 255);
  for (const std::vector<int>& params : {std::vector<int>{cv::IMWRITE_JPEG_PROGRESSIVE, 1}, std::vector<int>{cv::IMWRITE_JPEG_RST_INTERVAL, 2}}) {
    Bytes b;
    ASSERT_TRUE(cv::imencode(".jpg", m, b, params));
    const std::string path = save("variant.jpg", b);
    EXPECT_EQ(io::read_image(path).size(), m.size());
    b.resize(b.size() - 200);
    EXPECT_NE(test::error_of([&] { io::read_image(save("variant_cut.jpg", b)); }).find("truncated"), std::string::npos);
  }
  EXPECT_NE(test::error_of([&] { io::read_image(test::temp_dir().string()); }).find("directory"), std::string::npos);
}

TEST(ImageHeader, HugeImagesRefusedWithoutDecoding) {
  const std::string png = save("huge.png", crafted_png(20000, 20000));
  const std::string jpg = save("huge.jpg", huge_jpeg(60000, 50000));
  for (const auto& [path, dims] : {std::pair{png, "20000x20000"}, std::pair{jpg, "60000x50000"}}) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string msg = test::error_of([&] { io::read_image(path); });
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s refused in %.2f ms: %s\n", path.c_str(), ms, msg.c_str());
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(dims), std::string::npos) << msg;
    EXPECT_NE(msg.find("exceeds the limit"), std::string::npos) << msg;
    EXPECT_LT(ms, 50.0);
  }
}

TEST(ImageHeader, BrokenAndTinyFilesNamed) {
  auto expect_error = [](const std::string& path, const std::string& part, io::ImageLimits limits = {}) {
    const std::string msg = test::error_of([&] { io::read_image(path, limits); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << "expected '" << part << "' in: " << msg;
  };
  expect_error(save("text.png", Bytes{'h', 'e', 'l', 'l', 'o'}), "not an image");
  expect_error(save("empty.jpg", Bytes{}), "empty file");
  expect_error(save("short.png", Bytes{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0}), "truncated");
  for (const std::string ext : {".png", ".jpg", ".bmp"}) {
    Bytes b = encode(ext, 64, 64);
    b.resize(b.size() * 2 / 3);
    expect_error(save("cut" + ext, b), "truncated");
  }
  expect_error(save("tiny.png", encode(".png", 8, 40)), "too small");
  io::ImageLimits limits;
  limits.min_side = 4;
  EXPECT_EQ(io::read_image(save("tiny_ok.png", encode(".png", 8, 40)), limits).cols, 8);
  limits.max_pixels = 100;
  expect_error(save("over.png", encode(".png", 11, 10)), "11x10", limits);
  expect_error(save("gif.gif", Bytes{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0}), "supported format");
}

// Bytes in memory (an upload, an archive member) get read_image()'s checks, named as given, and
// decode to the very pixels of the file read from disk.
TEST(ImageHeader, DecodeImageFromBytes) {
  const Bytes png = encode(".png", 40, 30);
  const cv::Mat from_bytes = io::decode_image(png, "the upload");
  EXPECT_EQ(cv::norm(from_bytes, io::read_image(save("bytes.png", png)), cv::NORM_INF), 0);
  auto expect_error = [](const Bytes& b, const std::string& part, io::ImageLimits limits = {}) {
    const std::string msg = test::error_of([&] { io::decode_image(b, "member 7.jpg", limits); });
    EXPECT_NE(msg.find("member 7.jpg"), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << "expected '" << part << "' in: " << msg;
  };
  expect_error(crafted_png(20000, 20000), "exceeds the limit");
  Bytes cut = encode(".jpg", 64, 64);
  cut.resize(cut.size() * 2 / 3);
  expect_error(cut, "truncated");
  expect_error(Bytes{'h', 'e', 'l', 'l', 'o'}, "not an image");
  expect_error(encode(".png", 8, 40), "too small");
  io::ImageLimits small;
  small.max_pixels = 100;
  expect_error(encode(".png", 11, 10), "11x10", small);
}
