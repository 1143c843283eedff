// faceedit Python module: generators (models/generator.h, models/model_files.h).
#include <chrono>

#include "common.h"
#include "faceedit/error.h"
#include "faceedit/models/model_files.h"

namespace faceedit::python {

namespace {

std::vector<uint64_t> seed_list(const py::handle& seeds) {
  std::vector<uint64_t> out;
  if (py::isinstance<py::int_>(seeds)) {
    out.push_back(seeds.cast<uint64_t>());
  } else {
    for (auto s : seeds) {
      const auto v = s.cast<int64_t>();
      if (v < 0 || v > 0xffffffffll) throw Error("seeds: " + std::to_string(v) + " is outside [0, 2^32)");
      out.push_back(static_cast<uint64_t>(v));
    }
  }
  if (out.empty()) throw Error("seeds: no seeds given");
  return out;
}

// Latents as NVIDIA's generate.py draws them: one RandomState(seed) per image (as `faceedit generate --seeds`).
torch::Tensor sample_seeds(const models::Generator& g, const py::handle& seeds) {
  std::vector<torch::Tensor> rows;
  for (auto s : seed_list(seeds)) rows.push_back(g.sample_z(1, s));
  return torch::cat(rows);
}

py::dict info(const GeneratorHandle& h) {
  const auto& g = *h.g;
  py::dict d;
  d["name"] = h.name;
  d["arch"] = g.arch();
  d["z_dim"] = g.z_dim();
  d["w_dim"] = g.w_dim();
  d["num_ws"] = g.num_ws();
  d["resolution"] = g.resolution();
  d["img_channels"] = g.img_channels();
  py::list spaces;
  for (auto s : {models::LatentSpace::Z, models::LatentSpace::W, models::LatentSpace::WPlus})
    if (g.has_space(s)) spaces.append(models::to_string(s));
  d["spaces"] = spaces;
  d["device"] = g.device().str();
  d["precision"] = models::to_string(g.precision());
  d["parameters"] = g.parameter_count();
  d["synthesis_gflop"] = g.synthesis_gflop();
  d["config"] = to_python(g.config());
  return d;
}

}  // namespace

void bind_generator(py::module_& m) {
  py::class_<GeneratorHandle, std::shared_ptr<GeneratorHandle>>(m, "Generator", R"doc(
A face generator (StyleGAN2, DCGAN, ...) behind one interface.

Latent spaces: "z" (input noise, [N, z_dim]), "w" (StyleGAN's intermediate space, [N, w_dim]) and
"wplus" (one W code per synthesis layer, [N, num_ws, w_dim]); models without a mapping network (the
DCGAN) have "z" only. Every call is differentiable (autograd flows through mapping() and
synthesize()); under torch.no_grad() the faster fused kernels run. Tensors are shared with PyTorch,
never copied. Open one with faceedit.open_generator().
)doc")
      .def_property_readonly("name", [](const GeneratorHandle& h) { return h.name; }, "The name or path it was opened by.")
      .def_property_readonly("arch", [](const GeneratorHandle& h) { return h.g->arch(); }, "\"stylegan2\", \"dcgan\", ...")
      .def_property_readonly("z_dim", [](const GeneratorHandle& h) { return h.g->z_dim(); }, "Dimension of Z.")
      .def_property_readonly("w_dim", [](const GeneratorHandle& h) { return h.g->w_dim(); }, "Dimension of W (0: no W space).")
      .def_property_readonly("num_ws", [](const GeneratorHandle& h) { return h.g->num_ws(); }, "Number of W+ codes (0: no W space).")
      .def_property_readonly("resolution", [](const GeneratorHandle& h) { return h.g->resolution(); }, "Output side in pixels.")
      .def_property_readonly("device", [](const GeneratorHandle& h) { return h.g->device().str(); }, "Where its parameters live.")
      .def_property_readonly("dtype", [](const GeneratorHandle& h) {
            return py::object(py::module_::import("torch").attr(generator_dtype(*h.g) == torch::kFloat64 ? "float64" : "float32"));
          }, "The dtype its parameters and latents have (float32, or float64 after to(dtype=torch.float64)).")
      .def_property_readonly("info", &info,
                             "Everything `faceedit info` prints: arch, dimensions, spaces, device, precision, "
                             "parameter count, GFLOP per image and the model's config.")
      .def_property("precision", [](const GeneratorHandle& h) { return models::to_string(h.g->precision()); },
                    [](GeneratorHandle& h, const std::string& p) { h.g->set_precision(models::parse_precision(p)); },
                    "Synthesis convolutions without autograd: \"fp32\", \"bf16\" (CPU with avx512_bf16, CUDA) or "
                    "\"fp16\" (CUDA). Gradients are always fp32.")
      .def("sample_z", [](const GeneratorHandle& h, const py::object& seeds, std::optional<int64_t> n, std::optional<uint64_t> seed) {
            if (!seeds.is_none()) {
              if (n || seed) throw Error("sample_z: give seeds=..., or n=... with seed=..., not both");
              return sample_seeds(*h.g, seeds);
            }
            if (!n || *n < 1) throw Error("sample_z: give seeds=[...] or n >= 1 (with seed)");
            return h.g->sample_z(*n, seed.value_or(0));
          }, py::arg("seeds") = py::none(), py::arg("n") = py::none(), py::arg("seed") = py::none(), R"doc(
Z latents exactly as the original code draws them.

seeds: an int or a list/range of ints: one image per seed, numpy.random.RandomState(seed) as NVIDIA's
    generate.py (and `faceedit generate --seeds`) draws them -> [len(seeds), z_dim].
n, seed: n rows of one RandomState(seed) stream (what `faceedit sample` draws).
)doc")
      .def("mapping", [](const GeneratorHandle& h, const torch::Tensor& z, double truncation, int cutoff) {
            check_tensor(z, *h.g, "mapping: z");
            py::gil_scoped_release nogil;
            return h.g->map(z, truncation, cutoff);
          }, py::arg("z"), py::arg("truncation") = 1.0, py::arg("cutoff") = -1, R"doc(
Z [N, z_dim] -> W+ [N, num_ws, w_dim], truncated towards the average W (psi 1: none) on the first
`cutoff` codes (-1: all). Models without W return z unchanged. Differentiable.
)doc")
      .def("truncate", [](const GeneratorHandle& h, const torch::Tensor& w, double truncation, int cutoff) {
            check_tensor(w, *h.g, "truncate: w");
            py::gil_scoped_release nogil;
            return h.g->truncate(w, truncation, cutoff);
          }, py::arg("w"), py::arg("truncation"), py::arg("cutoff") = -1,
          "W or W+ codes truncated towards the average W (psi 1: unchanged).")
      .def("codes", [](const GeneratorHandle& h, const py::object& seeds, const std::string& space, double truncation) {
            const auto z = sample_seeds(*h.g, seeds);
            py::gil_scoped_release nogil;
            return h.g->codes_from_z(z, models::parse_latent_space(space), truncation);
          }, py::arg("seeds"), py::arg("space") = "w", py::arg("truncation") = 1.0, R"doc(
The latents of `space` ("z", "w", "wplus") for seeds: Z as sample_z(seeds), W/W+ mapped with the
truncation (so they are already truncated: synthesize(codes, space) with truncation 1 shows them).
What editors take: editor.apply(g.codes(seeds, editor.space), strength).
)doc")
      .def("synthesize", [](const GeneratorHandle& h, const torch::Tensor& codes, const std::optional<std::string>& space,
                            double truncation, const std::string& noise) {
            const auto s = space ? models::parse_latent_space(*space)
                                 : h.g->w_dim() > 0 ? models::LatentSpace::WPlus : models::LatentSpace::Z;
            const auto n = models::parse_noise_mode(noise);
            check_tensor(codes, *h.g, "synthesize: codes");
            h.g->check_latents(codes, s, "synthesize: codes");
            py::gil_scoped_release nogil;
            return h.g->synthesize(h.g->to_synthesis_codes(codes, s, truncation), n);
          }, py::arg("codes"), py::arg("space") = py::none(), py::arg("truncation") = 1.0, py::arg("noise") = "const", R"doc(
Latents of `space` -> images [N, 3, R, R], float, unclamped (about [-1, 1]).

space: "wplus" ([N, num_ws, w_dim], the synthesis network's own input), "w" ([N, w_dim], broadcast
    to every layer) or "z" ([N, z_dim], mapped first). Default (None): the synthesis network's own
    input, "wplus" (StyleGAN2) or "z" (the DCGAN, which has no W).
truncation: applied to Z when mapping, to W/W+ codes directly (1: none).
noise: "const" (the model's fixed noise: deterministic), "random" or "none".
Autograd flows to `codes` (and to the parameters): an inversion is a torch.optim loop on it.
)doc")
      .def("generate", [](const GeneratorHandle& h, const py::object& seeds, std::optional<torch::Tensor> latents,
                          const std::string& space, double truncation, const std::string& noise, int cutoff) {
            if (seeds.is_none() == !latents.has_value()) throw Error("generate: give seeds=... or latents=..., one of them");
            const auto n = models::parse_noise_mode(noise);
            auto s = models::LatentSpace::Z;
            torch::Tensor lat;
            if (latents) {
              s = models::parse_latent_space(space);
              lat = *latents;
              check_tensor(lat, *h.g, "generate: latents");
            } else {
              lat = sample_seeds(*h.g, seeds);
            }
            py::gil_scoped_release nogil;
            return h.g->generate(lat, s, truncation, n, cutoff);
          }, py::arg("seeds") = py::none(), py::arg("latents") = py::none(), py::arg("space") = "z",
          py::arg("truncation") = 1.0, py::arg("noise") = "const", py::arg("cutoff") = -1, R"doc(
Faces from seeds or latents -> images [N, 3, R, R] in about [-1, 1] (`faceedit generate`).

seeds: int or list/range (one image per seed, as NVIDIA's generate.py); or latents=... of `space`.
truncation, cutoff: psi towards the average W on the first `cutoff` codes (-1: all).
noise: "const", "random" or "none". Wrap in torch.no_grad() for the fast inference kernels.
faceedit.to_images(images) gives numpy RGB images.
)doc")
      .def("parameters", [](const GeneratorHandle& h) { return h.g->parameters(); },
           "The learnable tensors (shared with the model: fine-tuning them in PyTorch changes it).")
      .def("named_tensors", [](const GeneratorHandle& h) {
            py::dict d;
            for (const auto& item : h.g->named_tensors()) d[py::str(item.key())] = item.value();
            return d;
          }, "Parameters and buffers under their checkpoint names (shared with the model).")
      .def("to", [](GeneratorHandle& h, const py::object& device, const py::object& dtype) {
            const auto dev = device.is_none() ? h.g->device() : device_from_python(device);
            auto dt = generator_dtype(*h.g);
            if (!dtype.is_none()) {
              const auto s = py::str(dtype).cast<std::string>();
              if (s == "torch.float64" || s == "float64") dt = torch::kFloat64;
              else if (s == "torch.float32" || s == "float32") dt = torch::kFloat32;
              else throw Error("to: dtype " + s + " (the generator computes in torch.float32, or torch.float64 for gradient checks)");
            }
            py::gil_scoped_release nogil;
            h.g->to(dev, dt);
          }, py::arg("device") = py::none(), py::arg("dtype") = py::none(),
          "Moves the parameters (device) or changes their dtype (torch.float64 is for gradient checks). In place.")
      .def("__repr__", [](const GeneratorHandle& h) {
        return "<faceedit.Generator " + h.name + ": " + h.g->arch() + " " + std::to_string(h.g->resolution()) + "px, z " +
               std::to_string(h.g->z_dim()) + (h.g->w_dim() ? ", w " + std::to_string(h.g->w_dim()) : std::string()) +
               ", " + h.g->device().str() + ">";
      });

  // The in-process path the Python overhead is measured against (scripts/bench_python.py): the
  // same calls in a C++ loop, milliseconds per call.
  m.attr("_testing").cast<py::module_>().def("time_synthesize", [](const GeneratorHandle& h, const torch::Tensor& codes, int repeat) {
        check_tensor(codes, *h.g, "time_synthesize: codes");
        py::gil_scoped_release nogil;
        torch::NoGradGuard no_grad;
        h.g->synthesize(codes);  // warm-up
        std::vector<double> ms;
        for (int i = 0; i < repeat; ++i) {
          const auto t = std::chrono::steady_clock::now();
          h.g->synthesize(codes);
          ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
        }
        return ms;
      }, py::arg("g"), py::arg("codes"), py::arg("repeat"), "synthesize(codes) `repeat` times in C++ (after a warm-up): ms per call.");

  m.def("open_generator", [](const std::string& name_or_path, const py::object& device, const std::string& precision) {
        const auto dev = device_from_python(device);
        const auto p = models::parse_precision(precision);
        auto h = std::make_shared<GeneratorHandle>();
        h->name = name_or_path;
        h->g = LongCall::run(py::none(), [&] {
          std::shared_ptr<models::Generator> g = models::open_generator(name_or_path, dev);
          if (p != g->precision()) g->set_precision(p);
          return g;
        });
        return h;
      }, py::arg("name_or_path"), py::arg("device") = "cpu", py::arg("precision") = "fp32", R"doc(
Opens a generator: a known name ("dcgan-celeba32", "stylegan2-tiny32", "stylegan2-ffhq", looked up
under faceedit.shared_root()) or a path. A faceedit .safetensors file is used as it is; an NVIDIA
stylegan2-ada-pytorch .pkl or the DCGAN's .pt is converted once into faceedit.cache_dir() (by a
restricted unpickler: code in a checkpoint never runs).

device: "cpu", "cuda", "cuda:N" or a torch.device. precision: "fp32", "bf16" or "fp16" for the
synthesis convolutions without autograd. Raises faceedit.Error naming the file and the problem.
)doc");
}

}  // namespace faceedit::python
