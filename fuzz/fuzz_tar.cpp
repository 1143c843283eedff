// The tar reader (io/tar.h): headers, sizes, names (ustar prefixes, GNU long names, pax records),
// checksums, truncation; every member's bytes touched.
#include "faceedit/error.h"
#include "faceedit/io/tar.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    size_t sum = 0;
    faceedit::io::for_each_tar_file(faceedit::fuzz::input_file(data, size, ".tar"), [&](const std::string& name, std::string_view bytes) {
      sum += name.size();
      for (char c : bytes) sum += static_cast<unsigned char>(c);
    });
  } catch (const faceedit::Error&) {
  }
  return 0;
}
