// Progress: the callback sees every update as numbers (unthrottled), while the lines stay at most
// about one a second (the log sink counts them), and a disabled Progress still reports numbers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "faceedit/progress.h"

namespace faceedit {
namespace {

TEST(Progress, CallbackSeesEveryUpdateLinesStayThrottled) {
  std::vector<std::string> lines;
  set_log_sink([&](const std::string& line) { lines.push_back(line); });
  std::vector<ProgressUpdate> updates;
  {
    Progress p("inversion", 50, "steps");
    p.set_callback([&](const ProgressUpdate& u) { updates.push_back(u); });
    for (int i = 1; i <= 50; ++i) p.update(i);
    p.update(50, "", true);  // forced: one line now
  }
  set_log_sink({});
  ASSERT_EQ(updates.size(), 51u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(updates[i].label, "inversion");
    EXPECT_EQ(updates[i].done, i + 1);
    EXPECT_EQ(updates[i].total, 50);
  }
  // 50 fast updates print nothing (under a second since the start); the forced one prints.
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("inversion: 50/50", 0), 0u) << lines[0];
}

TEST(Progress, DisabledLinesStillReportNumbers) {
  std::vector<std::string> lines;
  set_log_sink([&](const std::string& line) { lines.push_back(line); });
  int64_t last = -1;
  Progress p("personalization", 3, "steps", false);
  p.set_callback([&](const ProgressUpdate& u) { last = u.done; });
  p.update(3, "", true);
  p.finish();
  set_log_sink({});
  EXPECT_EQ(last, 3);
  EXPECT_TRUE(lines.empty());
}

}  // namespace
}  // namespace faceedit
