#include "faceedit/edit/editor.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "faceedit/error.h"

namespace faceedit::edit {

void Editor::save(const std::string& path, const nlohmann::json&) const {
  fail(path, "a " + method() + " editor is not saved as an editor file (InterFaceGAN: save its boundary)");
}

static double parse_number(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    fail(what, "'" + s + "' is not a number");
  }
}

std::vector<double> parse_alphas(const std::string& spec) {
  const std::string what = "alpha " + spec;
  std::vector<std::string> parts;
  char sep = spec.find(':') != std::string::npos ? ':' : ',';
  std::stringstream ss(spec);
  for (std::string p; std::getline(ss, p, sep);) parts.push_back(p);
  std::vector<double> out;
  if (sep == ':') {
    if (parts.size() != 3) fail(what, "use start:stop:count, e.g. -3:3:7");
    const double a = parse_number(parts[0], what), b = parse_number(parts[1], what);
    const double c = parse_number(parts[2], what);
    if (c < 1 || c > 101 || c != std::floor(c)) fail(what, "count must be a whole number in 1..101");
    const int n = static_cast<int>(c);
    for (int i = 0; i < n; ++i) out.push_back(n == 1 ? a : a + (b - a) * i / (n - 1));
  } else {
    for (const auto& p : parts) out.push_back(parse_number(p, what));
  }
  if (out.empty() || out.size() > 101) fail(what, "give 1 to 101 strengths");
  for (double v : out)
    if (std::abs(v) > 1000) fail(what, "strength " + std::to_string(v) + " is absurd (|alpha| <= 1000)");
  return out;
}

std::vector<int64_t> parse_layers(const std::string& spec, int64_t num_layers) {
  const std::string what = "layers " + spec;
  std::set<int64_t> layers;
  std::stringstream ss(spec);
  for (std::string part; std::getline(ss, part, ',');) {
    const auto dash = part.find('-');
    int64_t a = 0, b = 0;
    try {
      a = std::stoll(part.substr(0, dash));
      b = dash == std::string::npos ? a : std::stoll(part.substr(dash + 1));
    } catch (const std::exception&) {
      fail(what, "'" + part + "' is not a layer or a range like 0-7");
    }
    if (a < 0 || b < a || b >= num_layers)
      fail(what, "layers must lie in 0.." + std::to_string(num_layers - 1) + " (got '" + part + "')");
    for (int64_t i = a; i <= b; ++i) layers.insert(i);
  }
  if (layers.empty()) fail(what, "no layers given");
  return {layers.begin(), layers.end()};
}

}  // namespace faceedit::edit
