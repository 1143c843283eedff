#include "faceedit/eval/tradeoff.h"

#include <algorithm>
#include <string>
#include <vector>

#include "faceedit/error.h"

namespace faceedit::eval {

namespace {

const std::vector<std::string>& interpolated_keys() {
  static const std::vector<std::string> keys = {"target_change_rate", "attribute_preservation_rate",
                                                "identity_preservation", "background_change"};
  return keys;
}

nlohmann::json interpolate(const nlohmann::json& a, const nlohmann::json& b, double t) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& key : interpolated_keys()) {
    if (!a.contains(key) || !b.contains(key) || !a[key].is_number() || !b[key].is_number()) continue;
    out[key] = a[key].get<double>() + t * (b[key].get<double>() - a[key].get<double>());
  }
  return out;
}

}  // namespace

MatchedPoint at_target_change(const nlohmann::json& sweep, double target_change) {
  if (!sweep.contains("metrics") || !sweep["metrics"].is_array() || sweep["metrics"].empty())
    fail("sweep", "has no metrics to compare");
  std::vector<nlohmann::json> points(sweep["metrics"].begin(), sweep["metrics"].end());
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& a, const auto& b) { return a["alpha"].template get<double>() < b["alpha"].template get<double>(); });
  MatchedPoint m;
  for (size_t i = 0; i < points.size(); ++i) {
    const double rate = points[i]["target_change_rate"].get<double>();
    m.max_target_change = std::max(m.max_target_change, rate);
    if (m.reached || rate < target_change) continue;
    m.reached = true;
    if (i == 0) {
      m.alpha = points[0]["alpha"].get<double>();
      m.metrics = interpolate(points[0], points[0], 0.0);
      continue;
    }
    const double previous = points[i - 1]["target_change_rate"].get<double>();
    const double t = (target_change - previous) / (rate - previous);  // rate > previous: it was below
    const double a0 = points[i - 1]["alpha"].get<double>(), a1 = points[i]["alpha"].get<double>();
    m.alpha = a0 + t * (a1 - a0);
    m.metrics = interpolate(points[i - 1], points[i], t);
  }
  return m;
}

}  // namespace faceedit::eval
