// Matching editors at equal target change: interpolation against hand-computed values.
#include <gtest/gtest.h>

#include "faceedit/error.h"
#include "faceedit/eval/tradeoff.h"

using namespace faceedit;

namespace {

nlohmann::json point(double alpha, double target, double preservation, double identity) {
  return {{"alpha", alpha}, {"target_change_rate", target}, {"attribute_preservation_rate", preservation},
          {"identity_preservation", identity}, {"background_change", nullptr}};
}

}  // namespace

TEST(Tradeoff, InterpolatesBetweenTheBracketingStrengths) {
  // Listed out of order on purpose: the sweep is walked by increasing strength.
  nlohmann::json sweep = {{"metrics", {point(2, 1.0, 0.5, 0.4), point(0, 0.0, 1.0, 1.0), point(1, 0.6, 0.9, 0.8)}}};
  const auto at = eval::at_target_change(sweep, 0.8);
  ASSERT_TRUE(at.reached);
  EXPECT_DOUBLE_EQ(at.alpha, 1.5);  // 0.8 is halfway from 0.6 (alpha 1) to 1.0 (alpha 2)
  EXPECT_DOUBLE_EQ(at.metrics["target_change_rate"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(at.metrics["attribute_preservation_rate"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(at.metrics["identity_preservation"].get<double>(), 0.6);
  EXPECT_FALSE(at.metrics.contains("background_change"));  // not measured: not invented
  EXPECT_DOUBLE_EQ(at.max_target_change, 1.0);
}

TEST(Tradeoff, TakesTheFirstCrossingAndReportsMisses) {
  nlohmann::json wavy = {{"metrics", {point(0, 0.0, 1, 1), point(1, 0.9, 0.8, 0.7), point(2, 0.5, 0.6, 0.5),
                                      point(3, 0.95, 0.4, 0.3)}}};
  const auto at = eval::at_target_change(wavy, 0.9);
  ASSERT_TRUE(at.reached);
  EXPECT_DOUBLE_EQ(at.alpha, 1.0);
  EXPECT_DOUBLE_EQ(at.metrics["identity_preservation"].get<double>(), 0.7);

  const auto miss = eval::at_target_change(wavy, 0.99);
  EXPECT_FALSE(miss.reached);
  EXPECT_DOUBLE_EQ(miss.max_target_change, 0.95);
  EXPECT_TRUE(miss.metrics.is_null() || miss.metrics.empty());

  const auto first = eval::at_target_change(wavy, 0.0);  // already there unedited
  ASSERT_TRUE(first.reached);
  EXPECT_DOUBLE_EQ(first.alpha, 0.0);

  EXPECT_THROW(eval::at_target_change(nlohmann::json{{"metrics", nlohmann::json::array()}}, 0.5), Error);
}
