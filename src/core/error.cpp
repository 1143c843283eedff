#include "faceedit/error.h"

namespace faceedit {

void fail(const std::string& what, const std::string& problem) { throw Error(what + ": " + problem); }

}  // namespace faceedit
