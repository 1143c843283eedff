// faceedit — image dimensions from the file header, without decoding a pixel.
//
//   io::ImageHeader h = io::read_image_header("photo.jpg");   // {"JPEG", 4032, 3024}
//
// read_image() calls this first so that a hostile or absurd file (a 20000x20000 PNG of a few
// hundred bytes, a JPEG frame header claiming 65535x65535) is refused in microseconds instead of
// exhausting memory in the decoder. Formats understood: PNG (IHDR), JPEG (SOFn), BMP, WebP
// (VP8/VP8L/VP8X) and PNM (P1-P6). Anything else is refused as an unsupported format: OpenCV could
// decode more (TIFF, ...), but not without first allocating whatever size the file claims.
//
// Also checks that the file is complete where the format makes that cheap: a PNG must reach its
// IEND chunk, a JPEG its end-of-image marker, a BMP/WebP the size its header announces.
// Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faceedit::io {

struct ImageHeader {
  std::string format;  // "PNG", "JPEG", "BMP", "WebP", "PNM"
  int64_t width = 0;
  int64_t height = 0;
};

// Reads the header of the image file at `path`. Errors (faceedit::Error) name the file and the
// problem: missing, empty, not an image / unsupported format, header cut short.
ImageHeader read_image_header(const std::string& path);

// Same on bytes already in memory; `name` is used in error messages. Also runs the completeness
// checks above (they need the whole file).
ImageHeader parse_image_header(const std::vector<unsigned char>& bytes, const std::string& name);

}  // namespace faceedit::io
