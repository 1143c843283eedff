// faceedit — JSON files: read with every number checked, written atomically, and the "write or
// check" claim a resumable job makes on its output directory (job.json).
//
//   auto j = io::read_json_file(path, "a photo batch record");  // Error naming the file if damaged
//   io::write_json_file(out / "batch.json", result);               // temp file + rename
//   io::claim_job_file(dir / "job.json", job, "use another -o directory");
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace faceedit::io {

// The JSON document of `path`. faceedit::Error naming the file when it cannot be opened or parsed
// ("is not <what>"), or holds a number no setting can mean (check_json_numbers).
nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& what = "a JSON document");
// As read_json_file(), but nullopt when the file does not exist.
std::optional<nlohmann::json> read_json_file_if_exists(const std::filesystem::path& path, const std::string& what = "a JSON document");

// Writes `j` (indented; a newline at the end) atomically: a temp file renamed over `path`.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j);

// A resumable job's claim on its directory: writes `job` to `path` when there is none, else checks
// that the file holds the same job, or throws faceedit::Error naming the file, the first field that
// differs and `advice` (e.g. "use another -o directory").
void claim_job_file(const std::filesystem::path& path, const nlohmann::json& job, const std::string& advice);

}  // namespace faceedit::io
