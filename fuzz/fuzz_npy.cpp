// The .npy reader (io/npy.h): magic, version, header dict, dtype, shape, data length.
#include "faceedit/error.h"
#include "faceedit/io/npy.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)faceedit::io::read_npy(faceedit::fuzz::input_file(data, size, ".npy"));
  } catch (const faceedit::Error&) {
  }
  return 0;
}
