// faceedit — checks on JSON read from files (model and editor configs in safetensors metadata).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace faceedit::io {

// Refuses (faceedit::Error naming `where`) a JSON document holding a number no config field can
// mean: not finite, or a float beyond +-2^62. Call it before reading integer fields: nlohmann's own
// conversion of such a float (say 7e84) to an integer is undefined behaviour.
void check_json_numbers(const nlohmann::json& j, const std::string& where);

}  // namespace faceedit::io
