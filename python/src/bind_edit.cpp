// faceedit Python module: editors (edit/editor_factory.h), boundaries (edit/boundary.h), sampling
// (edit/sampling.h).
#include <chrono>

#include "common.h"
#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/pack.h"
#include "faceedit/fit/fit.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"

namespace faceedit::python {

namespace {

struct EditorHandle {
  std::shared_ptr<edit::Editor> editor;
  edit::EditStep step;  // the spec it was opened from (its strength is apply()'s default)
  std::shared_ptr<GeneratorHandle> g;
};

torch::Tensor alphas(const py::object& strength, const torch::Tensor& codes, double fallback) {
  const int64_t n = codes.size(0);
  if (strength.is_none()) return torch::full({n}, fallback, codes.options().requires_grad(false));
  if (py::isinstance<py::float_>(strength) || py::isinstance<py::int_>(strength))
    return torch::full({n}, strength.cast<double>(), codes.options().requires_grad(false));
  auto t = strength.cast<torch::Tensor>();
  if (t.dim() != 1 || t.size(0) != n)
    throw Error("apply: strength must be a number or a tensor of shape [" + std::to_string(n) + "] (one per code)");
  return t.to(codes.options());
}

std::shared_ptr<EditorHandle> open_editor_handle(const py::object& spec, const std::shared_ptr<GeneratorHandle>& g, const py::dict& keys) {
  if (!g) throw Error("open_editor: needs the generator it edits for (open_editor(spec, g))");
  auto h = std::make_shared<EditorHandle>();
  h->step = edit_step_from_python(spec, keys, "pfsf");
  h->g = g;
  h->editor = LongCall::run(py::none(), [&] { return std::shared_ptr<edit::Editor>(edit::open_editor(h->step.editor, g->g)); });
  return h;
}


}  // namespace

void bind_edit(py::module_& m) {
  py::class_<EditorHandle, std::shared_ptr<EditorHandle>>(m, "Editor", R"doc(
An editing method (InterFaceGAN, Latent Transformer, L2M, PFSF walk) opened for one generator: it
moves latent codes of one space so that one attribute changes. Open one with faceedit.open_editor().
)doc")
      .def_property_readonly("method", [](const EditorHandle& h) { return h.editor->method(); }, "\"interfacegan\", \"transformer\", \"l2m\", \"pfsf\".")
      .def_property_readonly("attribute", [](const EditorHandle& h) { return h.editor->attribute(); }, "The CelebA attribute it edits (canonical name).")
      .def_property_readonly("space", [](const EditorHandle& h) { return models::to_string(h.editor->space()); }, "The latent space it edits: \"z\", \"w\" or \"wplus\".")
      .def_property_readonly("strength", [](const EditorHandle& h) { return h.step.strength; }, "The strength of its spec (apply()'s default).")
      .def_property_readonly("generator", [](const EditorHandle& h) { return h.g; }, "The generator it edits for.")
      .def("describe", [](const EditorHandle& h) { return to_python(h.editor->describe()); }, "What it is, as a dict (method, attribute, space, files, ...).")
      .def("apply", [](const EditorHandle& h, const torch::Tensor& codes, const py::object& strength, const py::object& progress) {
            check_tensor(codes, *h.g->g, "apply: codes");
            const auto alpha = alphas(strength, codes, h.step.strength);
            return LongCall::run(progress, [&] { return h.editor->edit(codes, alpha); });
          }, py::arg("codes"), py::arg("strength") = py::none(), py::arg("progress") = py::none(), R"doc(
Edits latents of the editor's space ([N, dim] or [N, num_ws, dim]) -> edited latents, same shape.

strength: a number or a tensor [N] (signed: the direction); None: the spec's. What one unit means
    is the method's own (InterFaceGAN: distance along the boundary normal; PFSF: 1 = where the
    attribute flips). Then g.synthesize(edited, editor.space) shows them.
progress: a callable taking one dict (log lines as {"log": line}); Ctrl-C stops a long walk.
)doc")
      .def("flip_sign", [](const EditorHandle& h, const torch::Tensor& codes) {
            check_tensor(codes, *h.g->g, "flip_sign: codes");
            py::gil_scoped_release nogil;
            return h.editor->flip_sign(codes);
          }, py::arg("codes"), "[N] of +1 / -1: the sign of strength that moves each code to the other side of its attribute.")
      .def("save", [](const EditorHandle& h, const std::string& path) { h.editor->save(path); }, py::arg("path"),
           "Writes a learned editor as a file open_editor(editor=...) reads back (not PFSF walks; InterFaceGAN is its boundary).")
      .def("__repr__", [](const EditorHandle& h) {
        return "<faceedit.Editor " + h.editor->method() + " " + h.editor->attribute() + " in " + models::to_string(h.editor->space()) +
               ", strength " + std::to_string(h.step.strength) + ">";
      });

  // The in-process path of N edits (scripts/bench_python.py): per face, one editor call on the face
  // repeated for every strength and one synthesis, as `faceedit edit` does; seconds in all.
  m.attr("_testing").cast<py::module_>().def("time_edits", [](const EditorHandle& h, const torch::Tensor& codes, const torch::Tensor& strengths) {
        check_tensor(codes, *h.g->g, "time_edits: codes");
        py::gil_scoped_release nogil;
        torch::NoGradGuard no_grad;
        const auto t = std::chrono::steady_clock::now();
        for (int64_t i = 0; i < codes.size(0); ++i) {
          const auto edited = h.editor->edit(codes.narrow(0, i, 1).repeat_interleave(strengths.size(0), 0), strengths);
          h.g->g->synthesize(h.g->g->to_synthesis_codes(edited, h.editor->space()));
        }
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
      }, py::arg("editor"), py::arg("codes"), py::arg("strengths"), "The edit loop of scripts/bench_python.py in C++: seconds.");

  m.def("open_editor", [](const py::object& spec, const std::shared_ptr<GeneratorHandle>& g, const py::kwargs& keys) {
        return open_editor_handle(spec, g, keys);
      }, py::arg("spec") = py::none(), py::arg("g") = nullptr, R"doc(
Opens an editor for generator g, checked against it (space, dimension, layers, attribute).

spec: "smile=+1" (ATTRIBUTE=STRENGTH: a PFSF walk unless method= is given), or "key=value,..." pairs
    as `faceedit photo --edit` and `evaluate-sequence --step` take them, or a dict of those keys.
Keyword arguments are the same keys (they override the spec): method ("interfacegan",
    "transformer", "l2m", "pfsf"), boundary (a .safetensors from `faceedit boundary` or an official
    .npy; implies interfacegan), editor (a `faceedit train-editor` file), conditions (list), space,
    layers ("0-7"), distance ("relative"/"absolute"), attr (CelebA names in any case, or aliases
    such as smile, glasses, beard), truncation, classifier (list), walk_steps, step_length,
    threshold, preserve (list), strength.

    e = faceedit.open_editor("smile=+1", g)
    e = faceedit.open_editor(g=g, boundary="smiling.safetensors", strength=2)
)doc");

  py::class_<edit::Boundary>(m, "Boundary", R"doc(
An InterFaceGAN hyperplane {x : normal . x + offset = 0} in one latent space, with a unit normal
towards more of the attribute. faceedit.train_boundary() trains one, faceedit.load_boundary() reads one.
)doc")
      .def_readwrite("normal", &edit::Boundary::normal, "[dim] float32, unit norm.")
      .def_readwrite("offset", &edit::Boundary::offset, "The hyperplane's offset (0 for an official .npy).")
      .def_property("space", [](const edit::Boundary& b) { return b.space ? models::to_string(*b.space) : std::string(); },
                    [](edit::Boundary& b, const std::string& s) { b.space = models::parse_optional_latent_space(s); },
                    "\"z\", \"w\", \"wplus\" or \"\" (unknown).")
      .def_readwrite("attribute", &edit::Boundary::attribute, "The attribute's name.")
      .def_property_readonly("report", [](const edit::Boundary& b) { return to_python(b.report); }, "The training report (accuracies, counts, seconds).")
      .def_property_readonly("dim", &edit::Boundary::dim, "Dimension of the latent space.")
      .def("save", [](const edit::Boundary& b, const std::string& path) { edit::save_boundary(b, path); }, py::arg("path"),
           "Writes .safetensors (normal, offset, report) or .npy (InterFaceGAN's [1, dim] layout), atomically.")
      .def("signed_distance", [](const edit::Boundary& b, const torch::Tensor& latents) { return edit::signed_distance(latents, b); },
           py::arg("latents"), "latents [..., dim] -> [...]: normal . x + offset (positive: has the attribute).")
      .def("__repr__", [](const edit::Boundary& b) {
        return "<faceedit.Boundary " + b.attribute + " in " + (b.space ? models::to_string(*b.space) : std::string("?")) + ", dim " +
               std::to_string(b.dim()) + ">";
      });
  m.def("load_boundary", &edit::load_boundary, py::arg("path"), "Reads a boundary (.safetensors from `faceedit boundary`, or an official .npy).");

  m.def("train_boundary", [](const py::object& latents, const py::object& scores, const std::string& samples, const std::string& attribute,
                             const std::string& space, double ratio, double split, double C, bool squared_hinge, double tolerance,
                             uint64_t seed) {
        edit::BoundaryParams p;
        p.ratio = ratio;
        p.split = split;
        p.C = C;
        p.squared_hinge = squared_hinge;
        p.tolerance = tolerance;
        p.seed = seed;
        if (!samples.empty()) {
          if (!latents.is_none() || !scores.is_none()) throw Error("train_boundary: give samples=DIR or latents and scores, not both");
          if (attribute.empty()) throw Error("train_boundary: samples=DIR needs attribute=... (a score column)");
          return LongCall::run(py::none(), [&] {
            const auto s = edit::read_boundary_samples(samples, models::parse_optional_latent_space(space));
            const auto rows = edit::scored_rows(s.latents, edit::score_column(s, attribute));
            auto b = edit::train_boundary(rows.latents, rows.scores, p);
            b.attribute = attribute;
            b.space = s.space;
            return b;
          });
        }
        if (latents.is_none() || scores.is_none()) throw Error("train_boundary: give latents [N, dim] and scores [N], or samples=DIR");
        const auto l = latents.cast<torch::Tensor>();
        const auto sc = scores.cast<torch::Tensor>();
        return LongCall::run(py::none(), [&] {
          auto b = edit::train_boundary(l, sc, p);
          b.attribute = attribute;
          b.space = models::parse_optional_latent_space(space);
          return b;
        });
      }, py::arg("latents") = py::none(), py::arg("scores") = py::none(), py::kw_only(), py::arg("samples") = "",
      py::arg("attribute") = "", py::arg("space") = "", py::arg("ratio") = 0.02, py::arg("split") = 0.7, py::arg("C") = 1.0,
      py::arg("squared_hinge") = true, py::arg("tolerance") = 1e-4, py::arg("seed") = 0, R"doc(
Trains an InterFaceGAN boundary (liblinear's linear SVM, as `faceedit boundary`).

latents [N, dim] and scores [N] (higher: more of the attribute); or samples=DIR (`faceedit sample`
or faceedit.sample()) with attribute= a score column and space "z"/"w" ("": w when there is one).
ratio: the share of most/least confident samples taken per side; split: training share of them.
Returns a Boundary (normal, offset, report).
)doc");

  m.def("sample", [](const std::string& model, const std::string& output, int64_t n, const std::vector<std::string>& classifiers,
                     uint64_t seed, double truncation, int64_t shard_size, int64_t batch, const py::object& device,
                     const py::object& progress) {
        auto p = edit::sample_job_default_params();
        p.model_spec = model;
        p.n = n;
        if (!classifiers.empty()) p.classifier_specs = classifiers;
        p.seed = seed;
        p.truncation = truncation;
        p.shard_size = shard_size;
        p.batch = batch;
        p.device = device_from_python(device);
        return to_python(LongCall::run(progress, [&] { return edit::run_sample_job(p, output); }));
      }, py::arg("model"), py::arg("output"), py::kw_only(), py::arg("n"), py::arg("classifiers") = std::vector<std::string>{},
      py::arg("seed") = 0, py::arg("truncation") = 1.0, py::arg("shard_size") = 1000, py::arg("batch") = 64,
      py::arg("device") = "cpu", py::arg("progress") = py::none(), R"doc(
InterFaceGAN's sampling job (`faceedit sample`): n latents of `model`, their images scored by the
classifiers, written to `output` in shards (manifest.json + shard-NNNNN.safetensors).

Resumable: the same call after an interruption (Ctrl-C raises KeyboardInterrupt between batches)
continues, and the result is bit-identical to an uninterrupted run. Returns the job's summary.
progress: a callable taking one dict ({"log": line} for each progress line).
)doc");

  m.def("load_samples", [](const std::string& dir) {
        const auto s = edit::load_samples(dir);
        py::dict d;
        d["manifest"] = to_python(s.manifest);
        d["z"] = s.z;
        d["w"] = s.w.defined() ? py::cast(s.w) : py::none();
        d["scores"] = s.scores;
        d["columns"] = s.columns;
        return d;
      }, py::arg("dir"), "Reads a finished samples directory -> {manifest, z, w (or None), scores [N, C], columns}.");

  m.def("open_pack_editor", [](const std::string& pack_dir, const std::string& edit_text, const std::shared_ptr<GeneratorHandle>& g,
                               const std::string& method) {
        if (!g) throw Error("open_pack_editor: needs the generator it edits for");
        const auto pack = edit::load_pack(pack_dir);
        edit::check_pack_model(pack, *g->g);
        auto h = std::make_shared<EditorHandle>();
        h->step = edit::pack_edit(pack, edit_text, method);
        h->g = g;
        h->editor = LongCall::run(py::none(), [&] { return std::shared_ptr<edit::Editor>(edit::open_editor(h->step.editor, g->g)); });
        return h;
      }, py::arg("pack"), py::arg("edit"), py::arg("g"), py::arg("method") = "", R"doc(
The editor of an editor pack (`faceedit fit`) for "ATTRIBUTE=STRENGTH" in calibrated units (1: the
attribute flips on the median face): the pack's best method for the attribute unless `method` names
one. The returned Editor's default strength (apply()) is the calibrated strength in the method's own
unit. The pack must have been made for g (its content hash).

    e = faceedit.open_pack_editor("out/demo/pack", "smile=+1", g)
    images = e.apply(codes)
)doc");

  m.def("fit", [](const std::string& model, const std::string& output, int64_t n, const std::vector<std::string>& attributes,
                  const std::vector<std::string>& methods, bool pose, int64_t editor_steps, int64_t calibration_n, int64_t directions,
                  uint64_t seed, const py::object& device, const py::object& progress) {
        fit::FitParams p;
        p.model = model;
        p.n = n;
        p.attributes = attributes;
        if (!methods.empty()) p.methods = methods;
        p.pose = pose;
        p.editor_steps = editor_steps;
        p.calibration_n = calibration_n;
        p.directions = directions;
        p.seed = seed;
        p.device = device_from_python(device);
        return to_python(LongCall::run(progress, [&] { return fit::fit_pack(p, output); }));
      }, py::arg("model"), py::arg("output"), py::kw_only(), py::arg("n") = 20000, py::arg("attributes") = std::vector<std::string>{},
      py::arg("methods") = std::vector<std::string>{}, py::arg("pose") = true, py::arg("editor_steps") = 1000,
      py::arg("calibration_n") = 100, py::arg("directions") = 5, py::arg("seed") = 0, py::arg("device") = "cpu",
      py::arg("progress") = py::none(), R"doc(
`faceedit fit`: every editor for `model` into the pack directory `output` (docs/fit.md): scored
samples, InterFaceGAN (+ conditional) boundaries, Latent Transformers, L2M, SeFa and GANSpace
directions, calibrated strengths, pack.json and report.html. attributes: [] = all the guide's and
pose; methods: [] = interfacegan, conditional, transformer, sefa, ganspace. Resumable (the same call
continues after an interruption). Returns the job's summary.
)doc");
}

}  // namespace faceedit::python
