// faceedit Python module: the module itself, errors, long calls (GIL, progress, Ctrl-C), files.
#include <csignal>
#include <cstdio>
#include <mutex>

#include "common.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/progress.h"
#include "faceedit/runtime.h"

namespace faceedit::python {

namespace {

thread_local LongCall* t_current = nullptr;

// SIGINT during long calls on the main thread: the library's stop flag, then Python's own handler
// (which only notes the signal; PyErr_CheckSignals runs the Python-level handler later).
struct sigaction g_python_sigint;
int g_main_depth = 0;  // long calls on the main thread (only it touches this)
unsigned long g_main_thread = 0;

void on_sigint(int sig) {
  request_stop();
  if (!(g_python_sigint.sa_flags & SA_SIGINFO) && g_python_sigint.sa_handler != SIG_DFL &&
      g_python_sigint.sa_handler != SIG_IGN)
    g_python_sigint.sa_handler(sig);
}

bool on_main_thread() { return PyThread_get_thread_ident() == g_main_thread; }

}  // namespace

LongCall* LongCall::current() { return t_current; }

LongCall::LongCall(py::object progress) : progress_(std::move(progress)) {
  if (!progress_.is_none() && !PyCallable_Check(progress_.ptr()))
    throw Error("progress: must be a callable taking one dict (or None)");
  previous_ = t_current;
  t_current = this;
  if (on_main_thread() && g_main_depth++ == 0) {
    clear_stop();
    struct sigaction now;
    if (sigaction(SIGINT, nullptr, &now) == 0 && !(now.sa_flags & SA_SIGINFO) && now.sa_handler != SIG_DFL &&
        now.sa_handler != SIG_IGN) {
      g_python_sigint = now;
      struct sigaction ours = {};
      ours.sa_handler = on_sigint;
      sigemptyset(&ours.sa_mask);
      ours.sa_flags = SA_ONSTACK;
      installed_signal_ = sigaction(SIGINT, &ours, nullptr) == 0;
    }
  }
}

void LongCall::restore() {
  if (restored_) return;
  restored_ = true;
  t_current = previous_;
  if (on_main_thread() && --g_main_depth == 0) {
    if (installed_signal_) sigaction(SIGINT, &g_python_sigint, nullptr);
    clear_stop();
  }
}

LongCall::~LongCall() { restore(); }

void LongCall::finish(std::exception_ptr error) {
  restore();
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // KeyboardInterrupt first
  if (error) std::rethrow_exception(error);
}

void LongCall::report(const nlohmann::json& report) {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  if (!progress_.is_none()) progress_(to_python(report));
}

void LongCall::log(const std::string& line) {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  if (!progress_.is_none()) {
    py::dict d;
    d["log"] = line;
    progress_(d);
  } else {
    py::module_::import("sys").attr("stderr").attr("write")(line + "\n");
  }
}

void install_log_sink() {
  set_log_sink([](const std::string& line) {
    if (auto* call = LongCall::current()) return call->log(line);
    std::fprintf(stderr, "%s\n", line.c_str());
  });
}

namespace {

py::dict load_tensors(const std::string& path) {
  io::SafetensorsReader file(path);
  py::dict out;
  for (const auto& e : file.entries()) out[py::str(e.name)] = file.load(e.name);
  return out;
}

void save_tensors(const std::string& path, const py::dict& tensors, const std::map<std::string, std::string>& metadata) {
  io::NamedTensors named;
  for (auto [k, v] : tensors) named.emplace_back(py::cast<std::string>(k), py::cast<torch::Tensor>(v).detach().cpu());
  io::write_safetensors(path, named, metadata);
}

py::object to_images(const torch::Tensor& images) {
  if (images.dim() != 3 && images.dim() != 4)
    throw Error("to_images: expected a [3, H, W] or [N, 3, H, W] tensor, got " + std::to_string(images.dim()) + " dimensions");
  const auto cpu = images.detach().to(torch::kCPU, torch::kFloat32);
  if (images.dim() == 3) return image_to_python(io::tensor_to_image(cpu));
  py::list out;
  for (int64_t i = 0; i < cpu.size(0); ++i) out.append(image_to_python(io::tensor_to_image(cpu[i])));
  return out;
}

}  // namespace

}  // namespace faceedit::python

using namespace faceedit::python;

PYBIND11_MODULE(_faceedit, m) {
  m.doc() = "faceedit's library for Python (the compiled part; import the `faceedit` package).";
  g_main_thread = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();

  static py::exception<faceedit::Error> error(m, "Error", PyExc_RuntimeError);
  error.attr("__doc__") = "A failure the library reports: a missing or corrupt file, a wrong shape, an absurd parameter. "
                "The message names the thing at fault and the problem.";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const faceedit::Error& e) {
      error(e.what());
    } catch (const c10::Error& e) {  // LibTorch's checks deep in an op: the same error class, no C++ backtrace
      error(e.what_without_backtrace());
    }
  });
  install_log_sink();

  m.def("set_threads", &faceedit::set_threads, py::arg("n") = 0,
        "Sets LibTorch's intra-op threads (n <= 0: all cores), as the CLI's --threads does.");
  m.def("threads", &faceedit::threads, "LibTorch's intra-op thread count.");
  m.def("shared_root", [] { return faceedit::shared_root().string(); },
        "Where known models and data are looked up: $FACEEDIT_SHARED, else ../shared beside the source tree.");
  m.def("cache_dir", [] { return faceedit::cache_dir().string(); },
        "Where converted models and photo preparations are kept: $FACEEDIT_CACHE, else ~/.cache/faceedit.");

  m.def("read_image", [](const std::string& path) { return image_to_python(faceedit::io::read_image(path)); }, py::arg("path"),
        "Reads an image file (JPEG, PNG, BMP, WebP) as numpy uint8 HxWx3 RGB.");
  m.def("write_image", [](const std::string& path, const py::object& image) {
          faceedit::io::write_image(path, image_from_python(image, "write_image: image"));
        }, py::arg("path"), py::arg("image"),
        "Writes numpy uint8 HxWx3 RGB (or HxW gray) atomically; the format follows the extension.");
  m.def("to_images", &to_images, py::arg("images"),
        "Generator output ([N, 3, H, W] in about [-1, 1]) -> a list of numpy uint8 HxWx3 RGB images "
        "(one array for a single [3, H, W] image), clamped and rounded as the CLI writes them.");
  m.def("load_tensors", &load_tensors, py::arg("path"),
        "Reads a safetensors file (the CLI's --save-tensors, latents, boundaries) -> {name: tensor}, CPU.");
  m.def("save_tensors", &save_tensors, py::arg("path"), py::arg("tensors"),
        py::arg("metadata") = std::map<std::string, std::string>{},
        "Writes {name: tensor} (float32/float16/bfloat16/float64/uint8) as safetensors, atomically.");

  auto t = m.def_submodule("_testing", "Hooks for the tests and scripts/bench_python.py (not part of the API).");
  bind_generator(m);
  bind_edit(m);
  bind_pipeline(m);

  t.def("data_ptr", [](const torch::Tensor& x) { return reinterpret_cast<uintptr_t>(x.data_ptr()); }, py::arg("tensor"),
        "The address of the tensor's data as the C++ side receives it.");
  t.def("identity", [](const torch::Tensor& x) { return x; }, py::arg("tensor"),
        "Returns the tensor it was given, through C++ and back.");
  t.def("log", [](const std::string& line) { faceedit::log_line(line); }, py::arg("line"),
        "Writes one line through the library's log sink.");
  t.def("stop_requested", &faceedit::stop_requested, "The library's stop flag.");
}
