// faceedit Python module: conversions between Python values and the library's.
#include <cstring>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "common.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"

namespace faceedit::python {

py::object to_python(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return py::none();
    case nlohmann::json::value_t::boolean: return py::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return py::int_(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: return py::int_(j.get<uint64_t>());
    case nlohmann::json::value_t::number_float: return py::float_(j.get<double>());
    case nlohmann::json::value_t::string: return py::str(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      py::list out;
      for (const auto& v : j) out.append(to_python(v));
      return out;
    }
    case nlohmann::json::value_t::object: {
      py::dict out;
      for (const auto& [k, v] : j.items()) out[py::str(k)] = to_python(v);
      return out;
    }
    default: return py::none();
  }
}

nlohmann::json to_json(const py::handle& obj) {
  if (obj.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(obj)) return obj.cast<bool>();
  if (py::isinstance<py::int_>(obj)) return obj.cast<int64_t>();
  if (py::isinstance<py::float_>(obj)) return obj.cast<double>();
  if (py::isinstance<py::str>(obj)) return obj.cast<std::string>();
  if (py::isinstance<py::dict>(obj)) {
    nlohmann::json out = nlohmann::json::object();
    for (auto [k, v] : obj.cast<py::dict>()) out[py::str(k).cast<std::string>()] = to_json(v);
    return out;
  }
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    nlohmann::json out = nlohmann::json::array();
    for (auto v : obj) out.push_back(to_json(v));
    return out;
  }
  return py::str(obj).cast<std::string>();
}

namespace {

bool is_path(const py::handle& obj) {
  return py::isinstance<py::str>(obj) || py::hasattr(obj, "__fspath__");
}

std::string path_string(const py::handle& obj) {
  return py::module_::import("os").attr("fspath")(obj).cast<std::string>();
}

}  // namespace

std::string image_name(const py::handle& obj, const std::string& what) {
  return is_path(obj) ? path_string(obj) : what;
}

cv::Mat image_from_python(const py::handle& obj, const std::string& what) {
  if (is_path(obj)) return io::read_image(path_string(obj));
  if (!py::isinstance<py::array>(obj))
    throw Error(what + ": expected a path or a numpy uint8 array (HxWx3 RGB), got " +
                py::str(py::type::of(obj)).cast<std::string>());
  auto a = obj.cast<py::array>();
  if (a.dtype().kind() != 'u' || a.itemsize() != 1)
    throw Error(what + ": expected numpy uint8 (HxWx3 RGB), got dtype " + py::str(a.dtype()).cast<std::string>() +
                " (scale to 0-255 and use .astype(numpy.uint8))");
  const auto c = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
  const int channels = c.ndim() == 2 ? 1 : c.ndim() == 3 ? static_cast<int>(c.shape(2)) : 0;
  if (channels != 1 && channels != 3 && channels != 4)
    throw Error(what + ": expected HxW, HxWx3 (RGB) or HxWx4 (RGBA), got " + std::to_string(c.ndim()) +
                " dimensions" + (c.ndim() == 3 ? " with " + std::to_string(c.shape(2)) + " channels" : std::string()));
  if (c.shape(0) < 1 || c.shape(1) < 1) throw Error(what + ": is an empty image");
  const cv::Mat view(static_cast<int>(c.shape(0)), static_cast<int>(c.shape(1)), CV_8UC(channels),
                     const_cast<uint8_t*>(c.data()));
  cv::Mat bgr;
  if (channels == 1) cv::cvtColor(view, bgr, cv::COLOR_GRAY2BGR);
  else if (channels == 3) cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  else cv::cvtColor(view, bgr, cv::COLOR_RGBA2BGR);
  return bgr;
}

py::array image_to_python(const cv::Mat& image) {
  if (image.empty()) return py::array_t<uint8_t>(std::vector<py::ssize_t>{0, 0, 3});
  if (image.depth() == CV_32F) {
    cv::Mat c = image.isContinuous() ? image : image.clone();
    std::vector<py::ssize_t> shape{c.rows, c.cols};
    if (c.channels() > 1) shape.push_back(c.channels());
    py::array_t<float> out(shape);
    std::memcpy(out.mutable_data(), c.ptr<float>(), c.total() * c.elemSize());
    return out;
  }
  if (image.depth() != CV_8U) throw Error("image: unexpected OpenCV depth " + std::to_string(image.depth()));
  cv::Mat rgb;
  if (image.channels() == 1) cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
  else if (image.channels() == 4) cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB);
  else cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
  py::array_t<uint8_t> out(std::vector<py::ssize_t>{rgb.rows, rgb.cols, 3});
  std::memcpy(out.mutable_data(), rgb.ptr<uint8_t>(), rgb.total() * rgb.elemSize());
  return out;
}

torch::Device device_from_python(const py::handle& obj) {
  const std::string s = py::str(obj).cast<std::string>();
  try {
    return torch::Device(s);
  } catch (const c10::Error&) {
    throw Error("device " + s + ": expected cpu, cuda or cuda:N");
  }
}

std::string device_string(const torch::Device& d) { return d.str(); }

torch::ScalarType generator_dtype(const models::Generator& g) {
  const auto params = g.parameters();
  return params.empty() ? torch::kFloat32 : params.front().scalar_type();
}

void check_tensor(const torch::Tensor& t, const models::Generator& g, const std::string& what) {
  if (!t.defined()) throw Error(what + ": no tensor given");
  const auto dtype = generator_dtype(g);
  if (t.scalar_type() != dtype || t.device() != g.device())
    throw Error(what + ": got " + std::string(c10::toString(t.scalar_type())) + " on " + t.device().str() +
                "; the generator computes " + c10::toString(dtype) + " on " + g.device().str() +
                " (convert with .to(dtype, device), or move the generator with g.to(...))");
}

namespace {

const edit::EditorKey* find_key(const std::string& key) {
  for (const auto& k : edit::editor_keys())
    if (k.key == key) return &k;
  return nullptr;
}

// A Python keyword as the library's key: walk_steps -> walk-steps; a few Python spellings.
std::string key_name(std::string k) {
  for (auto& c : k)
    if (c == '_') c = '-';
  if (k == "attribute") return "attr";
  if (k == "classifiers") return "classifier";
  if (k == "condition") return "conditions";
  if (k == "editor-file") return "editor";
  return k;
}

std::string value_text(const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? "true" : "false";
  if (py::isinstance<py::float_>(v)) {
    std::ostringstream s;
    s.precision(17);
    s << v.cast<double>();
    return s.str();
  }
  if (py::hasattr(v, "__fspath__")) return path_string(v);
  return py::str(v).cast<std::string>();
}

void set_key(edit::EditStep& step, const std::string& python_key, const py::handle& value) {
  const std::string key = key_name(python_key);
  const auto* k = find_key(key);
  if (!k) {
    std::string known;
    for (const auto& e : edit::editor_keys()) known += (known.empty() ? "" : ", ") + e.key;
    throw Error("edit: unknown key " + python_key + " (keys: " + known + ", flip)");
  }
  if (k->list && !py::isinstance<py::str>(value) && py::isinstance<py::sequence>(value)) {
    for (auto v : value) k->set(step, value_text(v));
  } else {
    k->set(step, value_text(value));
  }
}

}  // namespace

edit::EditStep edit_step_from_python(const py::handle& spec, const py::dict& keys, const std::string& default_method) {
  edit::EditStep step;
  step.editor.method = default_method;
  // Given a boundary or an editor file without a method, the method that reads it.
  if (keys.contains("boundary") && !keys.contains("method")) step.editor.method = "interfacegan";
  if (!spec.is_none()) {
    if (py::isinstance<py::dict>(spec)) {
      const auto d = spec.cast<py::dict>();
      if (d.contains("boundary") && !d.contains("method")) step.editor.method = "interfacegan";
      for (auto [k, v] : d) {
        const auto key = py::str(k).cast<std::string>();
        if (key != "flip") set_key(step, key, v);
      }
    } else if (py::isinstance<py::str>(spec)) {
      // The library's one edit grammar: ATTRIBUTE=STRENGTH or key=value pairs.
      const auto text = spec.cast<std::string>();
      if (text.find("boundary=") != std::string::npos && text.find("method=") == std::string::npos)
        step.editor.method = "interfacegan";
      step = edit::parse_edit(text, step);
    } else {
      throw Error("edit: expected a string (\"smile=+1\", \"method=...,attr=...\") or a dict, got " +
                  py::str(py::type::of(spec)).cast<std::string>());
    }
  }
  for (auto [k, v] : keys) {
    const auto key = py::str(k).cast<std::string>();
    if (key != "flip" && !v.is_none()) set_key(step, key, v);
  }
  return step;
}

std::vector<pipeline::PhotoEdit> photo_edits_from_python(const py::handle& edits, bool flip) {
  std::vector<pipeline::PhotoEdit> out;
  auto one = [&](const py::handle& e) {
    const auto step = edit_step_from_python(e, py::dict(), "pfsf");
    bool f = flip;
    if (py::isinstance<py::dict>(e) && e.cast<py::dict>().contains("flip")) f = e.cast<py::dict>()["flip"].cast<bool>();
    out.push_back({step.editor, step.strength, f, nullptr});
  };
  if (py::isinstance<py::str>(edits) || py::isinstance<py::dict>(edits)) {
    one(edits);
  } else if (py::isinstance<py::sequence>(edits)) {
    for (auto e : edits) one(e);
  } else {
    throw Error("edits: expected \"smile=+1\", a dict of editor keys, or a list of them");
  }
  if (out.empty()) throw Error("edits: no edit given");
  return out;
}

}  // namespace faceedit::python
