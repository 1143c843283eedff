#include "faceedit/eval/html_report.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "faceedit/error.h"
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

void write_sweep_report(const std::string& path, const std::string& title, const std::vector<nlohmann::json>& sweeps) {
  std::map<std::string, std::vector<const nlohmann::json*>> by_attr;
  for (const auto& s : sweeps) {
    if (!s.contains("metrics") || !s.contains("editor")) fail(path, "a sweep result lacks \"metrics\" or \"editor\"");
    by_attr[s["editor"].value("attribute", "?")].push_back(&s);
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
       "judge embeddings. Background: mean pixel change outside the portrait mask.</p>";
  const std::vector<std::pair<std::string, std::string>> metrics = {
      {"target_change_rate", "target change rate"},
      {"attribute_preservation_rate", "attribute preservation"},
      {"identity_preservation", "identity preservation"}};
  for (const auto& [attr, list] : by_attr) {
    h << "<h2>" << html_escape(attr) << "</h2><div class='plots'>";
    for (const auto& [key, label] : metrics) {
      std::vector<PlotSeries> series;
      for (const auto* s : list) {
        PlotSeries ps{editor_label(*s), {}, {}};
        for (const auto& m : (*s)["metrics"]) {
          ps.x.push_back(m["alpha"].get<double>());
          ps.y.push_back(m[key].get<double>());
        }
        series.push_back(ps);
      }
      h << svg_line_plot(label + " vs strength", "strength (alpha)", label, series);
    }
    h << "</div>";
    for (const auto* s : list) {
      h << "<h3>" << html_escape(editor_label(*s)) << "</h3><p><code>" << html_escape((*s)["editor"].dump()) << "</code>, n = "
        << (*s).value("n", 0) << "</p><table><tr><th>alpha</th><th>target change</th><th>attribute preservation</th>"
           "<th>identity</th><th>background change</th><th>latent shift</th></tr>";
      for (const auto& m : (*s)["metrics"]) {
        h << "<tr><td>" << fmt(m["alpha"].get<double>()) << "</td><td>" << fmt(m["target_change_rate"].get<double>())
          << "</td><td>" << fmt(m["attribute_preservation_rate"].get<double>()) << "</td><td>"
          << fmt(m["identity_preservation"].get<double>()) << "</td><td>"
          << (m["background_change"].is_null() ? "-" : fmt(m["background_change"].get<double>())) << "</td><td>"
          << fmt(m.value("mean_latent_shift", 0.0)) << "</td></tr>";
      }
      h << "</table>";
      if (s->contains("grid_png") && std::filesystem::exists((*s)["grid_png"].get<std::string>()))
        h << "<p>Sweep (rows: faces; columns: strengths as above, towards the other side):</p><img src='"
          << png_data_uri(io::read_image((*s)["grid_png"].get<std::string>())) << "'>";
    }
  }
  h << "</body></html>\n";
  const std::string text = h.str();
  io::write_file_atomic(path, text.data(), text.size());
}

}  // namespace faceedit::eval
