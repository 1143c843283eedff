// faceedit — progress lines for long jobs: items done, rate, ETA; at most a few lines per second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace faceedit {

class Progress {
 public:
  // `label` prefixes each line; `total` items are expected (0: unknown); `unit` names them.
  Progress(std::string label, int64_t total, std::string unit = "items", bool enabled = true);
  // Records that `done` items (cumulative) are finished; prints when enough time has passed,
  // or always when `force`. `extra` (e.g. "loss 0.31") is appended to the line.
  void update(int64_t done, const std::string& extra = "", bool force = false);
  void finish(const std::string& extra = "");
  double elapsed_seconds() const;

 private:
  std::string label_, unit_;
  int64_t total_, start_done_ = -1;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace faceedit
