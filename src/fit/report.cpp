// report.html of a pack: per attribute the methods side by side at the matched target (strength 1:
// half of the held-out faces flipped), with their sweeps; then the unnamed directions.
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "faceedit/eval/html_report.h"
#include "faceedit/io/atomic_file.h"
#include "fit_internal.h"

namespace faceedit::fit {

namespace fs = std::filesystem;

namespace {

std::string num(const nlohmann::json& j, const char* key, int digits = 2) {
  if (!j.contains(key) || !j[key].is_number()) return "&ndash;";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << j[key].get<double>();
  return s.str();
}

}  // namespace

void write_report(const edit::Pack& pack, const std::string& path) {
  std::ostringstream h;
  h << "<!doctype html><meta charset=utf-8><title>faceedit pack: " << eval::html_escape(pack.model) << "</title>\n"
    << "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}"
       "img{image-rendering:pixelated;max-width:100%}.best{font-weight:bold;background:#efe}</style>\n"
    << "<h1>Editor pack for " << eval::html_escape(pack.model) << "</h1>\n"
    << "<p>Model hash " << eval::html_escape(pack.model_hash) << "; guide " << eval::html_escape(pack.guide) << ". Strength 1 of every named "
    << "editor is calibrated: the guide's label flips on half of the held-out faces (each moved towards its other "
       "side). The table compares the methods at that matched target: identity (cosine of the judges' identity "
       "embedding) and the other attributes' preservation. <b>Bold</b>: the method the pack uses by default "
       "(largest target change at identity &ge; 0.9 at strength 1 or 2; where none keeps 0.9, the best identity at strength 1). Sweeps: 4 faces at strengths "
       "-2, -1, 0, 1, 2.</p>\n";
  std::map<std::string, std::vector<const edit::PackEditor*>> named, unnamed;
  std::vector<std::string> order;
  for (const auto& e : pack.editors) {
    auto& bucket = e.unit == "guide-median-crossing" ? named : unnamed;
    if (!named.count(e.attribute) && !unnamed.count(e.attribute)) order.push_back(e.attribute);
    bucket[e.attribute].push_back(&e);
  }
  h << "<h2>Attributes</h2>\n";
  for (const auto& a : order) {
    if (!named.count(a)) continue;
    const std::string best = pack.json.contains("best") && pack.json["best"].contains(a) ? pack.json["best"][a].get<std::string>() : "";
    h << "<h3 id=\"" << eval::html_escape(a) << "\">" << eval::html_escape(a) << "</h3>\n<table><tr><th>method<th>native strength at 1"
      << "<th>target change at 1<th>identity at 1<th>attribute preservation at 1<th>best target at identity &ge; 0.9</tr>\n";
    for (const auto* e : named[a]) {
      const auto at = e->calibration.value("at_1", nlohmann::json::object());
      h << "<tr" << (e->method == best ? " class=best" : "") << "><td>" << e->method << "<td>" << num(e->calibration, "scale", 3)
        << (e->calibration.value("reached", true) ? "" : " (not reached)") << "<td>" << num(at, "target_change") << "<td>"
        << num(at, "identity", 3) << "<td>" << num(at, "attribute_preservation", 3) << "<td>"
        << num(e->scores, "best_target_at_identity_0.9") << "</tr>\n";
    }
    h << "</table>\n";
    for (const auto* e : named[a])
      h << "<p>" << e->method << "<br><img src=\"sweeps/" << e->method << "-" << eval::html_escape(a) << ".png\"></p>\n";
  }
  h << "<h2>Unnamed and pose directions</h2>\n<p>Strength 1: one standard deviation of the samples' codes along the "
       "direction.</p>\n";
  for (const auto& a : order) {
    if (!unnamed.count(a)) continue;
    for (const auto* e : unnamed[a])
      h << "<p>" << eval::html_escape(a) << " (" << e->method << ", std " << num(e->calibration, "scale", 3) << ")<br><img src=\"sweeps/"
        << e->method << "-" << eval::html_escape(a) << ".png\"></p>\n";
  }
  const auto text = h.str();
  io::write_file_atomic(path, text.data(), text.size());
}

}  // namespace faceedit::fit
