// The key=value editor spec parser (edit/editor_factory.h), as `--edit` and `--step` take it, and
// the attribute names it canonicalises.
#include <string>

#include "faceedit/edit/editor_factory.h"
#include "faceedit/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)faceedit::edit::parse_edit_step(text);
  } catch (const faceedit::Error&) {
  }
  return 0;
}
