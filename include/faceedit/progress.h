// faceedit — progress lines for long jobs: items done, rate, ETA; at most a few lines per second.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>

namespace faceedit {

// Where the library's messages go (progress lines, resumes, skipped inputs): one line per call,
// without the newline. The default writes to stderr; a front end (a server, a GUI) installs its own,
// like whisper_log_set. Set it before starting work: it is not synchronised with running jobs.
using LogSink = std::function<void(const std::string& line)>;
void set_log_sink(LogSink sink);  // empty: back to stderr
void log_line(const std::string& line);
// Its arguments streamed into one string: log_line(log_text("wrote ", n, " shards")).
template <class... T>
std::string log_text(const T&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

// Cooperative stop for long jobs (sampling, training): they check stop_requested() between items
// and end with a faceedit::Error saying how to resume. The library installs no signal handlers;
// the CLI calls request_stop() from SIGINT/SIGTERM. Async-signal-safe (a lock-free atomic flag).
void request_stop();
bool stop_requested();
void clear_stop();

// Each update of a Progress as numbers, for front ends that draw their own progress (a server's
// bar, a notebook widget) instead of reading the lines: the label ("inversion"), items done and the
// total (0: unknown). Called on every update, unthrottled, on the job's thread.
struct ProgressUpdate {
  std::string label;
  int64_t done = 0, total = 0;
};
using ProgressCallback = std::function<void(const ProgressUpdate&)>;

class Progress {
 public:
  // `label` prefixes each line; `total` items are expected (0: unknown); `unit` names them.
  Progress(std::string label, int64_t total, std::string unit = "items", bool enabled = true);
  // Records that `done` items (cumulative) are finished; prints when enough time has passed,
  // or always when `force`. `extra` (e.g. "loss 0.31") is appended to the line.
  void update(int64_t done, const std::string& extra = "", bool force = false);
  void finish(const std::string& extra = "");
  // Also reports every update to `callback` (empty: lines only).
  void set_callback(ProgressCallback callback) { callback_ = std::move(callback); }
  double elapsed_seconds() const;

 private:
  std::string label_, unit_;
  int64_t total_, start_done_ = -1;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_print_;
  ProgressCallback callback_;
};

}  // namespace faceedit
