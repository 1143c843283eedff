// faceedit — images in and out (OpenCV) and the tensor <-> picture conversions.
//
// Tensors use the generators' convention: float NCHW RGB in [-1, 1]. cv::Mat images are 8-bit BGR
// (OpenCV's order). write_image() encodes by extension (.png, .jpg, .webp, ...) and writes
// atomically.
#pragma once

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <string>

namespace faceedit::io {

// What read_image() accepts. The pixel limit is checked on the file header (io/image_header.h),
// before a byte of pixel data is decoded.
struct ImageLimits {
  int64_t max_pixels = 64ll << 20;  // width * height above this is refused (64 Mpx by default)
  int min_side = 16;                // images narrower or shorter than this are refused
};

// Reads an image as 8-bit BGR (EXIF orientation applied). Refuses, with an error naming the file:
// missing files, non-images and unsupported formats (PNG, JPEG, BMP, WebP, PNM are read), truncated
// files, images above limits.max_pixels (e.g. "20000x20000 pixels (400000000) exceeds the limit
// of 67108864 pixels", without decoding them) or below limits.min_side, and files larger than an
// uncompressed image of max_pixels could be (4 bytes per pixel + 64 MiB of metadata).
cv::Mat read_image(const std::string& path, const ImageLimits& limits = {});
// Same with only the pixel limit changed.
cv::Mat read_image(const std::string& path, int64_t max_pixels);
// The same checks and decoding on bytes already in memory (an upload, an archive member), named
// `name` in errors: read_image() is read_file + decode_image.
cv::Mat decode_image(const std::vector<unsigned char>& bytes, const std::string& name, const ImageLimits& limits = {});
// Refuses a header outside `limits` (the pixel count compared without overflow): an Error naming `name`.
struct ImageHeader;
void check_image_limits(const ImageHeader& header, const ImageLimits& limits, const std::string& name);

void write_image(const std::string& path, const cv::Mat& image);

// One CHW (or 1xCHW) tensor in [-1, 1] -> BGR uint8 image (values clamped).
cv::Mat tensor_to_image(const torch::Tensor& chw);

// BGR uint8 image -> float 1x3xHxW tensor in [-1, 1].
torch::Tensor image_to_tensor(const cv::Mat& bgr);

// Tiles an NCHW batch into a grid with `cols` columns (0: near-square), `pad` pixels between tiles,
// each tile enlarged `scale` times (nearest neighbour, so 32x32 faces stay crisp).
cv::Mat make_grid(const torch::Tensor& nchw, int cols = 0, int pad = 2, int scale = 1);

}  // namespace faceedit::io
