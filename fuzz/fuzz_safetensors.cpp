// The safetensors reader (io/safetensors.h): header JSON, dtypes, shapes, offsets, every tensor loaded.
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    faceedit::io::SafetensorsReader file(faceedit::fuzz::input_file(data, size, ".safetensors"));
    for (const auto& e : file.entries()) file.load(e.name);
    (void)file.metadata();
  } catch (const faceedit::Error&) {
  }
  return 0;
}
