// faceedit Python module — what the binding files share: conversions (JSON, images, devices, edit
// specs) and the long-call guard (GIL released, progress callback, Ctrl-C).
//
// The bindings are an app layer like src/cli and src/server: they convert Python values, call the
// library and convert back. Tensors cross as they are (LibTorch's pybind11 caster wraps the same
// TensorImpl: no copy); images cross as numpy uint8 HxWx3 RGB (OpenCV's BGR inside).
#pragma once

#include <torch/extension.h>

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "faceedit/edit/editor_factory.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/photo.h"

namespace py = pybind11;

namespace faceedit::python {

// A generator with the name it was opened by (the photo cache and delta files are keyed by it).
struct GeneratorHandle {
  std::shared_ptr<models::Generator> g;
  std::string name;
};

// --- conversions (convert.cpp) ---
py::object to_python(const nlohmann::json& j);
nlohmann::json to_json(const py::handle& obj);

// numpy uint8 HxW, HxWx3 (RGB) or HxWx4 (RGBA, alpha dropped), or a path (str / os.PathLike: read by
// io::read_image) -> 8-bit BGR cv::Mat. `what` names the argument in errors.
cv::Mat image_from_python(const py::handle& obj, const std::string& what);
// A string naming the image for error messages: the path, or "<what> (numpy HxWx3)".
std::string image_name(const py::handle& obj, const std::string& what);
// 8-bit BGR/gray -> numpy uint8 HxWx3 RGB (a copy: OpenCV's channel order is not Python's);
// CV_32F -> numpy float32 HxW(xC).
py::array image_to_python(const cv::Mat& image);

// "cpu", "cuda", "cuda:1" or a torch.device.
torch::Device device_from_python(const py::handle& obj);
std::string device_string(const torch::Device& d);

// Throws faceedit::Error unless `t` is a floating tensor of the generator's dtype on its device.
void check_tensor(const torch::Tensor& t, const models::Generator& g, const std::string& what);
torch::ScalarType generator_dtype(const models::Generator& g);

// An edit as Python gives it: "smile=+1" (ATTRIBUTE=STRENGTH, `default_method`), "key=value,..."
// (the keys of `faceedit evaluate-sequence --step`), a dict of those keys, or keyword arguments.
// Strings go through edit::parse_edit (the grammar of every command and the server).
edit::EditStep edit_step_from_python(const py::handle& spec, const py::dict& keys, const std::string& default_method);
std::vector<pipeline::PhotoEdit> photo_edits_from_python(const py::handle& edits, bool flip);

// --- long calls ---
// Runs `f` with the GIL released. Meanwhile the library's progress lines and stage reports go to
// `progress` (a callable taking one dict; None: lines to sys.stderr) and Ctrl-C is polled: every
// report reacquires the GIL briefly and runs Python's signal handlers (PyErr_CheckSignals), and
// SIGINT also sets the library's stop flag (request_stop) so jobs that poll it end cleanly. An
// exception raised by the callback or a handler (KeyboardInterrupt) unwinds the library call and
// is raised as it is; after a stop, KeyboardInterrupt takes precedence over the library's
// "interrupted" error.
class LongCall {
 public:
  explicit LongCall(py::object progress);
  ~LongCall();
  LongCall(const LongCall&) = delete;
  LongCall& operator=(const LongCall&) = delete;

  // From library callbacks (GIL released): reacquires the GIL, checks signals, calls the callback
  // with `report` (a JSON object). Throws py::error_already_set to unwind.
  void report(const nlohmann::json& report);
  void log(const std::string& line);
  // The active call on this thread (null outside long calls).
  static LongCall* current();

  template <class F>
  static auto run(py::object progress, F&& f) -> decltype(f()) {
    LongCall call(std::move(progress));
    std::exception_ptr error;
    using R = decltype(f());
    if constexpr (std::is_void_v<R>) {
      {
        py::gil_scoped_release nogil;
        try { f(); } catch (...) { error = std::current_exception(); }
      }
      call.finish(error);
    } else {
      std::optional<R> result;
      {
        py::gil_scoped_release nogil;
        try { result.emplace(f()); } catch (...) { error = std::current_exception(); }
      }
      call.finish(error);
      return std::move(*result);
    }
  }

 private:
  // GIL held: restores the handlers, raises KeyboardInterrupt if a signal came, else rethrows `error`.
  void finish(std::exception_ptr error);
  void restore();
  py::object progress_;
  LongCall* previous_ = nullptr;
  bool installed_signal_ = false, restored_ = false;
};

// Installs the log sink that routes library lines to the active LongCall (once, at import).
void install_log_sink();

// --- the binding files ---
void bind_generator(py::module_& m);
void bind_edit(py::module_& m);
void bind_pipeline(py::module_& m);

}  // namespace faceedit::python
