#include <sstream>

#include "editor_options.h"
#include "faceedit/error.h"
#include "faceedit/models/face_analysis.h"

namespace faceedit::cli {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);) parts.push_back(part);
  return parts;
}

double number(const std::string& spec, const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  fail("editor spec '" + spec + "'", key + "=" + value + " is not a number");
}

}  // namespace

EditorSpec parse_editor_spec(const std::string& spec) {
  EditorSpec out;
  if (spec.empty()) fail("editor spec", "is empty");
  for (const auto& pair : split(spec, ',')) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size())
      fail("editor spec '" + spec + "'", "'" + pair + "' is not key=value");
    const std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
    auto& o = out.options;
    if (key == "method") o.method = value;
    else if (key == "boundary") o.boundary = value;
    else if (key == "editor") o.editor = value;
    else if (key == "conditions") o.conditions = split(value, '+');
    else if (key == "space") o.space = value;
    else if (key == "layers") o.layers = value;
    else if (key == "distance") o.distance = value;
    else if (key == "attr") o.attribute = models::canonical_attribute(value);
    else if (key == "truncation") o.truncation = number(spec, key, value);
    else if (key == "strength") out.strength = number(spec, key, value);
    else if (key == "judge-target") out.judge_target = models::canonical_attribute(value);
    else
      fail("editor spec '" + spec + "'",
           "unknown key '" + key + "' (known: method, boundary, editor, conditions, space, layers, distance, attr, "
           "truncation, strength, judge-target)");
  }
  return out;
}

}  // namespace faceedit::cli
