#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "faceedit/error.h"
#include "faceedit/eval/html_report.h"
#include "test_support.h"

using namespace faceedit;

TEST(HtmlReport, Base64MatchesRfc4648Vectors) {
  // RFC 4648, section 10.
  EXPECT_EQ(eval::base64(""), "");
  EXPECT_EQ(eval::base64("f"), "Zg==");
  EXPECT_EQ(eval::base64("fo"), "Zm8=");
  EXPECT_EQ(eval::base64("foo"), "Zm9v");
  EXPECT_EQ(eval::base64("foob"), "Zm9vYg==");
  EXPECT_EQ(eval::base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(eval::base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(eval::html_escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
}

TEST(HtmlReport, WritesPlotsTablesAndImages) {
  cv::Mat grid(40, 60, CV_8UC3, cv::Scalar(0, 128, 255));
  const auto dir = test::temp_dir();
  const std::string png = (dir / "grid.png").string();
  cv::imwrite(png, grid);
  nlohmann::json m0 = {{"alpha", 0.0}, {"target_change_rate", 0.0}, {"attribute_preservation_rate", 1.0},
                       {"identity_preservation", 1.0}, {"background_change", nullptr}};
  nlohmann::json m1 = {{"alpha", 2.0}, {"target_change_rate", 0.7}, {"attribute_preservation_rate", 0.9},
                       {"identity_preservation", 0.8}, {"background_change", 0.01}};
  nlohmann::json sweep = {{"editor", {{"method", "interfacegan"}, {"attribute", "smiling"}}}, {"n", 10},
                          {"metrics", {m0, m1}}, {"grid_png", png}};
  const std::string out = (dir / "report.html").string();
  eval::write_sweep_report(out, "Test <report>", {sweep});
  std::ifstream in(out);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("Test &lt;report&gt;"), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("0.700"), std::string::npos);
  EXPECT_THROW(eval::write_sweep_report((dir / "bad.html").string(), "x", {nlohmann::json{{"n", 1}}}), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.html"));
}
