#include "faceedit/io/image.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image_header.h"

namespace faceedit::io {

namespace {

std::string dims(int64_t w, int64_t h) { return std::to_string(w) + "x" + std::to_string(h); }

}  // namespace

void check_image_limits(const ImageHeader& h, const ImageLimits& limits, const std::string& path) {
  if (h.width <= 0 || h.height <= 0) fail(path, h.format + " with an empty size " + dims(h.width, h.height) + " (corrupt file)");
  // Compared by division: a PNM header's sides are unbounded text, their product could overflow.
  if (h.width > limits.max_pixels / h.height)
    fail(path, h.format + " of " + dims(h.width, h.height) + " pixels exceeds the limit of " + std::to_string(limits.max_pixels) + " pixels");
  if (std::min(h.width, h.height) < limits.min_side)
    fail(path, h.format + " of " + dims(h.width, h.height) + " pixels is too small (sides of at least " +
                   std::to_string(limits.min_side) + " pixels expected)");
}

cv::Mat read_image(const std::string& path, const ImageLimits& limits) {
  // The header alone first: refuses a huge or hostile image before reading or decoding it.
  check_image_limits(read_image_header(path), limits, path);
  const uint64_t max_bytes = static_cast<uint64_t>(std::max<int64_t>(limits.max_pixels, 0)) * 4 + (64ull << 20);
  const uint64_t size = std::filesystem::file_size(path);
  if (size > max_bytes)
    fail(path, "file of " + std::to_string(size) + " bytes is larger than any image within the limit of " +
                   std::to_string(limits.max_pixels) + " pixels could be");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open (missing file?)");
  std::vector<uchar> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) fail(path, "cannot read the whole file");
  return decode_image(bytes, path, limits);
}

cv::Mat decode_image(const std::vector<unsigned char>& bytes, const std::string& name, const ImageLimits& limits) {
  check_image_limits(parse_image_header(bytes, name), limits, name);  // with the truncation checks
  cv::Mat image;
  try {
    image = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    fail(name, std::string("cannot decode image: ") + e.what());
  }
  if (image.empty()) fail(name, "cannot decode the image data (corrupt file?)");
  return image;
}

cv::Mat read_image(const std::string& path, int64_t max_pixels) {
  ImageLimits limits;
  limits.max_pixels = max_pixels;
  return read_image(path, limits);
}

void write_image(const std::string& path, const cv::Mat& image) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext.empty()) fail(path, "output image needs an extension (.png, .jpg, ...)");
  std::vector<uchar> buffer;
  bool ok = false;
  try {
    ok = cv::imencode(ext, image, buffer);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) fail(path, "cannot encode an image as '" + ext + "'");
  write_file_atomic(path, buffer.data(), buffer.size());
}

cv::Mat tensor_to_image(const torch::Tensor& chw_in) {
  torch::Tensor chw = chw_in.detach().to(torch::kCPU, torch::kFloat32);
  if (chw.dim() == 4 && chw.size(0) == 1) chw = chw[0];
  TORCH_CHECK(chw.dim() == 3 && (chw.size(0) == 3 || chw.size(0) == 1), "tensor_to_image expects CHW with 1 or 3 channels");
  torch::Tensor hwc = ((chw.clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1)), c = static_cast<int>(hwc.size(2));
  cv::Mat rgb(h, w, c == 3 ? CV_8UC3 : CV_8UC1, hwc.data_ptr<uint8_t>());
  cv::Mat bgr;
  if (c == 3)
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  else
    cv::cvtColor(rgb, bgr, cv::COLOR_GRAY2BGR);
  return bgr;  // cvtColor allocated new memory, independent of hwc
}

torch::Tensor image_to_tensor(const cv::Mat& bgr) {
  TORCH_CHECK(bgr.type() == CV_8UC3, "image_to_tensor expects an 8-bit BGR image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  auto t = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8);
  return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(127.5).sub(1).contiguous();
}

cv::Mat make_grid(const torch::Tensor& nchw, int cols, int pad, int scale) {
  TORCH_CHECK(nchw.dim() == 4 && nchw.size(0) > 0, "make_grid expects a non-empty NCHW batch");
  const int n = static_cast<int>(nchw.size(0));
  if (cols <= 0) cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  cols = std::min(cols, n);
  const int rows = (n + cols - 1) / cols;
  const int th = static_cast<int>(nchw.size(2)) * scale, tw = static_cast<int>(nchw.size(3)) * scale;
  cv::Mat grid(rows * th + (rows + 1) * pad, cols * tw + (cols + 1) * pad, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int i = 0; i < n; ++i) {
    cv::Mat tile = tensor_to_image(nchw[i]);
    if (scale != 1) cv::resize(tile, tile, cv::Size(tw, th), 0, 0, cv::INTER_NEAREST);
    const int r = i / cols, c = i % cols;
    tile.copyTo(grid(cv::Rect(pad + c * (tw + pad), pad + r * (th + pad), tw, th)));
  }
  return grid;
}

}  // namespace faceedit::io
