// Image sniffing and the decoding guard (io/image_header.h, io/image.h): the header is parsed from
// bytes, then the file is read with a pixel limit, so a hostile header never reaches the decoder
// with an absurd size.
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/io/image_header.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)faceedit::io::parse_image_header(std::vector<unsigned char>(data, data + size), "fuzz input");
  } catch (const faceedit::Error&) {
  }
  try {
    (void)faceedit::io::read_image(faceedit::fuzz::input_file(data, size, ".img"), int64_t{1} << 20);
  } catch (const faceedit::Error&) {
  }
  return 0;
}
