#include "faceedit/eval/html_report.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "faceedit/error.h"
#include "faceedit/eval/tradeoff.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"

namespace faceedit::eval {

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

std::string png_data_uri(const cv::Mat& bgr) {
  std::vector<uchar> buf;
  if (!cv::imencode(".png", bgr, buf)) fail("report image", "PNG encoding failed");
  return "data:image/png;base64," + base64(std::string(buf.begin(), buf.end()));
}

std::string svg_line_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<PlotSeries>& series, double y_min, double y_max) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  const double W = 420, H = 280, L = 50, R = 130, T = 28, B = 40;
  double x_min = 1e300, x_max = -1e300;
  for (const auto& s : series)
    for (double x : s.x) x_min = std::min(x_min, x), x_max = std::max(x_max, x);
  if (!(x_max > x_min)) x_min -= 1, x_max += 1;
  if (!(y_max > y_min)) y_max = y_min + 1;
  auto px = [&](double x) { return L + (x - x_min) / (x_max - x_min) * (W - L - R); };
  auto py = [&](double y) { return H - B - (std::clamp(y, y_min, y_max) - y_min) / (y_max - y_min) * (H - T - B); };
  std::ostringstream o;
  o.precision(4);
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' font-family='sans-serif' font-size='11'>";
  o << "<text x='" << W / 2 - 40 << "' y='16' font-size='13' font-weight='bold'>" << html_escape(title) << "</text>";
  o << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B << "' stroke='black'/>";
  o << "<line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='" << H - B << "' stroke='black'/>";
  for (int i = 0; i <= 4; ++i) {
    const double yv = y_min + (y_max - y_min) * i / 4, xv = x_min + (x_max - x_min) * i / 4;
    o << "<line x1='" << L << "' y1='" << py(yv) << "' x2='" << W - R << "' y2='" << py(yv) << "' stroke='#ddd'/>";
    o << "<text x='" << L - 6 << "' y='" << py(yv) + 4 << "' text-anchor='end'>" << yv << "</text>";
    o << "<text x='" << px(xv) << "' y='" << H - B + 14 << "' text-anchor='middle'>" << xv << "</text>";
  }
  o << "<text x='" << (L + W - R) / 2 << "' y='" << H - 6 << "' text-anchor='middle'>" << html_escape(x_label) << "</text>";
  o << "<text transform='translate(12," << (T + H - B) / 2 << ") rotate(-90)' text-anchor='middle'>" << html_escape(y_label) << "</text>";
  for (size_t s = 0; s < series.size(); ++s) {
    const char* c = colors[s % 8];
    o << "<polyline fill='none' stroke='" << c << "' stroke-width='2' points='";
    for (size_t i = 0; i < series[s].x.size() && i < series[s].y.size(); ++i) o << px(series[s].x[i]) << "," << py(series[s].y[i]) << " ";
    o << "'/>";
    for (size_t i = 0; i < series[s].x.size() && i < series[s].y.size(); ++i)
      o << "<circle cx='" << px(series[s].x[i]) << "' cy='" << py(series[s].y[i]) << "' r='3' fill='" << c << "'/>";
    o << "<rect x='" << W - R + 10 << "' y='" << T + 16 * s << "' width='10' height='10' fill='" << c << "'/>";
    o << "<text x='" << W - R + 24 << "' y='" << T + 16 * s + 9 << "'>" << html_escape(series[s].name) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

namespace {

std::string editor_label(const nlohmann::json& sweep) {
  const auto& e = sweep["editor"];
  std::string label = e.value("method", "?");
  if (e.contains("label")) return e["label"].get<std::string>();
  if (e.contains("conditions") && !e["conditions"].empty()) {
    label += " | ";
    for (size_t i = 0; i < e["conditions"].size(); ++i) label += (i ? "," : "") + e["conditions"][i].get<std::string>();
  }
  return label;
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

}  // namespace

namespace {

std::string fmt_or_dash(const nlohmann::json& v) { return v.is_number() ? fmt(v.get<double>()) : "-"; }

std::string embedded_grid(const nlohmann::json& result, const std::string& caption) {
  if (!result.contains("grid_png") || !std::filesystem::exists(result["grid_png"].get<std::string>())) return "";
  return "<p>" + html_escape(caption) + "</p><img src='" +
         png_data_uri(io::read_image(result["grid_png"].get<std::string>())) + "'>";
}

PlotSeries metric_series(const nlohmann::json& sweep, const std::string& x_key, const std::string& y_key) {
  PlotSeries ps{editor_label(sweep), {}, {}};
  for (const auto& m : sweep["metrics"]) {
    ps.x.push_back(m[x_key].get<double>());
    ps.y.push_back(m[y_key].get<double>());
  }
  return ps;
}

void write_matched_table(std::ostringstream& h, const std::vector<const nlohmann::json*>& list, double target) {
  h << "<table><tr><th>editor (target change " << fmt(target)
    << ")</th><th>strength</th><th>attribute preservation</th><th>identity</th><th>background change</th></tr>";
  for (const auto* s : list) {
    const auto at = at_target_change(*s, target);
    h << "<tr><td style='text-align:left'>" << html_escape(editor_label(*s)) << "</td>";
    if (!at.reached) {
      h << "<td colspan='4' style='text-align:left'>not reached (at most " << fmt(at.max_target_change) << ")</td></tr>";
      continue;
    }
    h << "<td>" << fmt(at.alpha) << "</td><td>" << fmt_or_dash(at.metrics.value("attribute_preservation_rate", nlohmann::json()))
      << "</td><td>" << fmt_or_dash(at.metrics.value("identity_preservation", nlohmann::json())) << "</td><td>"
      << fmt_or_dash(at.metrics.value("background_change", nlohmann::json())) << "</td></tr>";
  }
  h << "</table>";
}

void write_sequence(std::ostringstream& h, const nlohmann::json& seq) {
  std::string title;
  for (const auto& step : seq["steps"])
    title += (title.empty() ? "" : " then ") + step.value("judge_target", "?") + " (" + editor_label(step) + ", " +
             fmt(step.value("strength", 0.0)) + ")";
  h << "<h3>" << html_escape(title) << "</h3><p>n = " << seq.value("n", 0)
    << "; each step flips the attribute each face originally had.</p><table><tr><th>after step</th>";
  std::vector<std::string> targets;
  for (const auto& step : seq["steps"]) targets.push_back(step.value("judge_target", "?"));
  for (const auto& t : targets) h << "<th>" << html_escape(t) << " changed</th>";
  h << "<th>other attributes preserved</th><th>identity</th><th>background change</th></tr>";
  for (size_t k = 0; k < seq["after"].size(); ++k) {
    const auto& a = seq["after"][k];
    h << "<tr><td>" << k + 1 << "</td>";
    for (const auto& t : targets) h << "<td>" << fmt_or_dash(a["target_change_rate"].value(t, nlohmann::json())) << "</td>";
    h << "<td>" << fmt_or_dash(a.value("attribute_preservation_rate", nlohmann::json())) << "</td><td>"
      << fmt_or_dash(a.value("identity_preservation", nlohmann::json())) << "</td><td>"
      << fmt_or_dash(a.value("background_change", nlohmann::json())) << "</td></tr>";
  }
  h << "</table>" << embedded_grid(seq, "Rows: faces; columns: original, then after each step.");
}

}  // namespace

void write_sweep_report(const std::string& path, const std::string& title, const std::vector<nlohmann::json>& results,
                        const std::vector<double>& matched_targets) {
  std::map<std::string, std::vector<const nlohmann::json*>> by_attr;
  std::vector<const nlohmann::json*> sequences;
  for (const auto& r : results) {
    if (r.contains("steps") && r.contains("after")) {
      sequences.push_back(&r);
      continue;
    }
    if (!r.contains("metrics") || !r.contains("editor")) fail(path, "a sweep result lacks \"metrics\" or \"editor\"");
    by_attr[r["editor"].value("attribute", "?")].push_back(&r);
  }
  std::ostringstream h;
  h << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>" << html_escape(title) << "</title><style>"
       "body{font-family:sans-serif;margin:24px;max-width:1400px}table{border-collapse:collapse;margin:8px 0 16px}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
       ".plots svg{margin-right:12px}img{image-rendering:pixelated;max-width:100%}</style></head><body>";
  h << "<h1>" << html_escape(title) << "</h1>";
  h << "<p>Each held-out face is edited towards the other side of its own attribute; metrics are measured by "
       "the pretrained judges, which no method is guided by. Target change: share of faces whose judged target "
       "flipped. Attribute preservation: share of other judged attributes unchanged. Identity: mean cosine of "
       "judge embeddings. Background: mean pixel change outside the portrait mask. Methods' strengths are in "
       "different units, so they are compared where they reach the same target change rate (interpolated "
       "along each sweep).</p>";
  const std::vector<std::pair<std::string, std::string>> metrics = {
      {"target_change_rate", "target change rate"},
      {"attribute_preservation_rate", "attribute preservation"},
      {"identity_preservation", "identity preservation"}};
  for (const auto& [attr, list] : by_attr) {
    h << "<h2>" << html_escape(attr) << "</h2><div class='plots'>";
    for (const auto& [key, label] : metrics) {
      if (key == "target_change_rate") continue;
      std::vector<PlotSeries> series;
      for (const auto* s : list) series.push_back(metric_series(*s, "target_change_rate", key));
      h << svg_line_plot(label + " vs target change", "target change rate", label, series);
    }
    h << "</div><div class='plots'>";
    for (const auto& [key, label] : metrics) {
      std::vector<PlotSeries> series;
      for (const auto* s : list) series.push_back(metric_series(*s, "alpha", key));
      h << svg_line_plot(label + " vs strength", "strength (alpha)", label, series);
    }
    h << "</div>";
    for (double t : matched_targets) write_matched_table(h, list, t);
    for (const auto* s : list) {
      h << "<h3>" << html_escape(editor_label(*s)) << "</h3><p><code>" << html_escape((*s)["editor"].dump()) << "</code>, n = "
        << (*s).value("n", 0) << "</p><table><tr><th>alpha</th><th>target change</th><th>attribute preservation</th>"
           "<th>identity</th><th>background change</th><th>latent shift</th></tr>";
      for (const auto& m : (*s)["metrics"]) {
        h << "<tr><td>" << fmt(m["alpha"].get<double>()) << "</td><td>" << fmt(m["target_change_rate"].get<double>())
          << "</td><td>" << fmt(m["attribute_preservation_rate"].get<double>()) << "</td><td>"
          << fmt(m["identity_preservation"].get<double>()) << "</td><td>" << fmt_or_dash(m["background_change"])
          << "</td><td>" << fmt(m.value("mean_latent_shift", 0.0)) << "</td></tr>";
      }
      h << "</table>" << embedded_grid(*s, "Sweep (rows: faces; columns: strengths as above, towards the other side):");
    }
  }
  if (!sequences.empty()) h << "<h2>Sequential edits</h2>";
  for (const auto* s : sequences) write_sequence(h, *s);
  h << "</body></html>\n";
  const std::string text = h.str();
  io::write_file_atomic(path, text.data(), text.size());
}

}  // namespace faceedit::eval
