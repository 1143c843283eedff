// faceedit — self-contained HTML reports: tables, inline SVG plots, images embedded as data URIs,
// so one file can be mailed or archived and still shows everything.
#pragma once

#include <opencv2/core.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace faceedit::eval {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
};

// A line plot (markers at the points) with axes, ticks and a legend, as an <svg> element.
std::string svg_line_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<PlotSeries>& series, double y_min = 0.0, double y_max = 1.0);

// PNG-encoded image as a data: URI for <img src=...>.
std::string png_data_uri(const cv::Mat& bgr);
std::string base64(const std::string& bytes);
std::string html_escape(const std::string& text);

// Report of sweep evaluations (edit_sweep.h JSON, each with an optional "grid_png" path): per
// attribute, plots of each metric against strength with one line per editor, the metrics tables,
// and the sweep grids. Written atomically.
void write_sweep_report(const std::string& path, const std::string& title, const std::vector<nlohmann::json>& sweeps);

}  // namespace faceedit::eval
