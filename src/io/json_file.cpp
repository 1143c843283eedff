#include "faceedit/io/json_file.h"

#include <fstream>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/json_checks.h"

namespace faceedit::io {

namespace fs = std::filesystem;

nlohmann::json read_json_file(const fs::path& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) fail(path.string(), "cannot be read");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) fail(path.string(), "is not " + what + " (not valid JSON)");
  check_json_numbers(j, path.string());  // before any integer field is read
  return j;
}

std::optional<nlohmann::json> read_json_file_if_exists(const fs::path& path, const std::string& what) {
  if (!fs::exists(path)) return std::nullopt;
  return read_json_file(path, what);
}

void write_json_file(const fs::path& path, const nlohmann::json& j) {
  const std::string text = j.dump(2) + "\n";
  write_file_atomic(path, text.data(), text.size());
}

namespace {
// The first top-level field in which `have` differs from `want` (or "the file's content").
std::string first_difference(const nlohmann::json& have, const nlohmann::json& want) {
  if (!have.is_object() || !want.is_object()) return "its content";
  for (auto it = want.begin(); it != want.end(); ++it)
    if (!have.contains(it.key()) || have[it.key()] != it.value()) return "'" + it.key() + "'";
  for (auto it = have.begin(); it != have.end(); ++it)
    if (!want.contains(it.key())) return "'" + it.key() + "'";
  return "its content";
}
}  // namespace

void claim_job_file(const fs::path& path, const nlohmann::json& job, const std::string& advice) {
  if (!fs::exists(path)) return write_json_file(path, job);
  const auto have = read_json_file(path, "a job description");
  if (have != job) fail(path.string(), "holds another job (it differs in " + first_difference(have, job) + "); " + advice);
}

}  // namespace faceedit::io
