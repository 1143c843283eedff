#include "faceedit/progress.h"

#include <atomic>
#include <cstdio>

namespace faceedit {

namespace {
LogSink& sink() {
  static LogSink s;
  return s;
}
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "request_stop() must be async-signal-safe");
}  // namespace

void set_log_sink(LogSink s) { sink() = std::move(s); }

void log_line(const std::string& line) {
  if (sink()) sink()(line);
  else std::fprintf(stderr, "%s\n", line.c_str());
}

void request_stop() { g_stop.store(true); }
bool stop_requested() { return g_stop.load(); }
void clear_stop() { g_stop.store(false); }

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

static std::string format_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

void Progress::update(int64_t done, const std::string& extra, bool force) {
  // Resumed jobs start part-way: the rate counts only what this run did.
  if (start_done_ < 0) start_done_ = done;
  if (callback_) callback_({label_, done, total_});
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_print_ < std::chrono::milliseconds(1000)) return;
  last_print_ = now;
  const double secs = elapsed_seconds();
  const double rate = secs > 0 ? static_cast<double>(done - start_done_) / secs : 0.0;
  std::string line = label_ + ": " + std::to_string(done);
  if (total_ > 0) {
    char pct[32];
    std::snprintf(pct, sizeof pct, " (%.1f%%)", 100.0 * done / total_);
    line += "/" + std::to_string(total_) + pct;
  }
  char r[64];
  std::snprintf(r, sizeof r, " %s, %.1f %s/s", unit_.c_str(), rate, unit_.c_str());
  line += r;
  if (total_ > 0 && rate > 0 && done < total_) line += ", ETA " + format_duration((total_ - done) / rate);
  line += ", elapsed " + format_duration(secs);
  if (!extra.empty()) line += ", " + extra;
  log_line(line);
}

void Progress::finish(const std::string& extra) {
  if (!enabled_) return;
  log_line(label_ + ": done in " + format_duration(elapsed_seconds()) + (extra.empty() ? "" : ", ") + extra);
}

}  // namespace faceedit
