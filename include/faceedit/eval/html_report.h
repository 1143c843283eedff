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

// Report of evaluations, written atomically. Sweeps (edit_sweep.h JSON, each with an optional
// "grid_png" path) are grouped per attribute: plots of each metric against strength and the
// trade-off curves (attribute and identity preservation against target change rate), one line per
// editor; a table comparing the editors at each of `matched_targets` target change rates
// (tradeoff.h); the metrics tables and sweep grids. Sequences (edit_sequence.h JSON) get a table
// per stage and their stage grid.
void write_sweep_report(const std::string& path, const std::string& title, const std::vector<nlohmann::json>& results,
                        const std::vector<double>& matched_targets = {0.5, 0.8});

}  // namespace faceedit::eval
