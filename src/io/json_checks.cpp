#include "faceedit/io/json_checks.h"

#include <cmath>

#include "faceedit/error.h"

namespace faceedit::io {

void check_json_numbers(const nlohmann::json& j, const std::string& where) {
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (!std::isfinite(v) || std::abs(v) > 4.6e18) fail(where, "config holds the number " + std::to_string(v) + ", beyond any valid setting");
  } else if (j.is_structured()) {
    for (const auto& item : j) check_json_numbers(item, where);
  }
}

}  // namespace faceedit::io
