#include "faceedit/models/model_files.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "faceedit/error.h"
#include "faceedit/runtime.h"

extern char** environ;

namespace faceedit::models {

namespace fs = std::filesystem;

const std::vector<KnownModel>& known_models() {
  static const std::vector<KnownModel> models = {
      {"dcgan-celeba32", "models/dcgan-celeba32/generator.pt",
       "pretrained DCGAN, CelebA faces at 32x32 (Apache-2.0)",
       "github.com/fletchersarip93/face-generator (commit 50ce2ed2), generator.pt"},
      {"stylegan2-tiny32", "fixtures/stylegan2-ada/tiny32.pkl",
       "tiny StyleGAN2-ADA test fixture with random weights, 32x32",
       "faceedit's shared data (fixtures/stylegan2-ada)"},
      {"stylegan2-ffhq", "models/stylegan2-ffhq/ffhq.pkl", "NVIDIA StyleGAN2-ADA FFHQ 1024x1024",
       "NVIDIA's stylegan2-ada-pytorch pretrained networks (ffhq.pkl)"},
  };
  return models;
}

void run_python_tool(const std::string& script_name, const std::vector<std::string>& tool_args,
                     const std::string& what_for_errors) {
  const std::string python = python_interpreter();
  const std::string script = (tools_dir() / script_name).string();
  if (!fs::exists(script)) fail(script, "converter script not found (set FACEEDIT_TOOLS to faceedit's tools/ directory)");
  std::vector<std::string> args = {python, script};
  args.insert(args.end(), tool_args.begin(), tool_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The converter's chatter goes to stderr so that stdout stays machine-readable (info prints JSON).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, python.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail(python, "cannot start the Python interpreter for the converter (install python3-torch)");
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail(what_for_errors, "conversion failed (the converter's message is above)");
}

void convert_checkpoint(const std::string& in, const std::string& out, const std::string& network) {
  run_python_tool("faceedit_convert.py", {in, out, "--network", network}, in);
}

static std::string cached_conversion(const fs::path& source, const std::string& network) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) fail(source.string(), "cannot stat");
  // Size and modification time identify the source version without hashing gigabytes.
  const std::string suffix = network == "G_ema" ? "" : "-" + network;
  const fs::path out = cache_dir() / (source.stem().string() + "-" + std::to_string(st.st_size) + "-" +
                                      std::to_string(static_cast<long long>(st.st_mtime)) + suffix + ".safetensors");
  if (!fs::exists(out)) {
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    if (ec) fail(out.parent_path().string(), "cannot create the model cache directory: " + ec.message());
    convert_checkpoint(source.string(), out.string(), network);
  }
  return out.string();
}

bool is_converted_checkpoint(const std::string& spec) {
  for (const auto& m : known_models())
    if (m.name == spec) return true;
  const std::string ext = fs::path(spec).extension().string();
  return ext == ".pkl" || ext == ".pt" || ext == ".pth";
}

std::string resolve_model(const std::string& spec, const std::string& network) {
  for (const auto& m : known_models()) {
    if (m.name != spec) continue;
    const fs::path p = shared_root() / m.relative_path;
    if (!fs::exists(p))
      fail(spec, m.description + ": not found at " + p.string() + ". It is published at " + m.published_at +
                     "; put it there or set FACEEDIT_SHARED to the directory that holds " + m.relative_path);
    return cached_conversion(p, network);
  }
  const fs::path p(spec);
  if (!fs::exists(p)) {
    std::string names;
    for (const auto& m : known_models()) names += (names.empty() ? "" : ", ") + m.name;
    fail(spec, "no such model file, and not a known model name (" + names + ")");
  }
  if (fs::is_directory(p)) fail(spec, "is a directory, not a model file");
  const std::string ext = p.extension().string();
  if (ext == ".safetensors") return spec;
  if (ext == ".pkl" || ext == ".pt" || ext == ".pth") return cached_conversion(p, network);
  fail(spec, "unknown model format '" + ext + "' (expected .safetensors, or .pkl/.pt to convert)");
}

std::unique_ptr<Generator> open_generator(const std::string& spec, torch::Device device) {
  return load_generator(resolve_model(spec), device);
}

}  // namespace faceedit::models
