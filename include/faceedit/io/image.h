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

// Reads an image as 8-bit BGR. Refuses non-images and images larger than max_pixels (judged on a
// 1/8-scale decode first, so the full-size decode of a huge photo is never attempted).
cv::Mat read_image(const std::string& path, int64_t max_pixels = 64ll << 20);

void write_image(const std::string& path, const cv::Mat& image);

// One CHW (or 1xCHW) tensor in [-1, 1] -> BGR uint8 image (values clamped).
cv::Mat tensor_to_image(const torch::Tensor& chw);

// BGR uint8 image -> float 1x3xHxW tensor in [-1, 1].
torch::Tensor image_to_tensor(const cv::Mat& bgr);

// Tiles an NCHW batch into a grid with `cols` columns (0: near-square), `pad` pixels between tiles,
// each tile enlarged `scale` times (nearest neighbour, so 32x32 faces stay crisp).
cv::Mat make_grid(const torch::Tensor& nchw, int cols = 0, int pad = 2, int scale = 1);

}  // namespace faceedit::io
