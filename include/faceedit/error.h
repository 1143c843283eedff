// faceedit — errors.
//
// Every failure the user can cause (a missing or corrupt file, a wrong shape, an absurd parameter)
// is reported as a faceedit::Error whose message names the thing at fault and the problem, e.g.
//   "models/g.safetensors: header length 9999999 exceeds file size 1024 (truncated file?)".
// The CLI prints it as "error: <message>" and exits with status 1.
#pragma once

#include <stdexcept>
#include <string>

namespace faceedit {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error("<what>: <problem>").
[[noreturn]] void fail(const std::string& what, const std::string& problem);

}  // namespace faceedit
