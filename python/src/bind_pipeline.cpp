// faceedit Python module: photos (pipeline/photo.h), videos (pipeline/video.h), analysis
// (pipeline/analyze.h).
#include "common.h"
#include "faceedit/error.h"
#include "faceedit/face/analyze.h"
#include "faceedit/eval/photo_metrics.h"
#include "faceedit/eval/video_eval.h"
#include "faceedit/pipeline/video.h"
#include "faceedit/runtime.h"

namespace faceedit::python {

namespace {

// Photo stages and video passes go to the progress callback of the call running them.
void report_stage(const pipeline::PhotoStage& s) {
  if (auto* call = LongCall::current()) call->report({{"stage", s.name}, {"seconds", s.seconds}, {"info", s.info}});
}

pipeline::Personalize personalize_from_python(const py::handle& v) {
  if (v.is_none()) return pipeline::Personalize::Auto;
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? pipeline::Personalize::Always : pipeline::Personalize::Never;
  const auto s = py::str(v).cast<std::string>();
  if (s == "auto") return pipeline::Personalize::Auto;
  if (s == "always") return pipeline::Personalize::Always;
  if (s == "never") return pipeline::Personalize::Never;
  throw Error("personalize " + s + ": expected \"auto\", \"always\", \"never\" (or True / False)");
}

// PhotoParams from keyword arguments named as its fields (cache: a directory, "default" or None).
pipeline::PhotoParams photo_params(const py::dict& kw) {
  pipeline::PhotoParams p;
  p.cache_dir = cache_dir() / "photos";
  for (auto [k, v] : kw) {
    const auto key = py::str(k).cast<std::string>();
    if (key == "crop") p.crop = v.cast<int>();
    else if (key == "zoom") p.zoom = v.cast<double>();
    else if (key == "shift") p.shift = v.cast<double>();
    else if (key == "inversion_steps") p.inversion_steps = v.cast<int>();
    else if (key == "starts") p.starts = v.cast<int>();
    else if (key == "encoder") p.encoder = py::str(v).cast<std::string>();
    else if (key == "personalize") p.personalize = personalize_from_python(v);
    else if (key == "personalize_steps") p.personalize_steps = v.cast<int>();
    else if (key == "guide") p.guide = v.cast<std::string>();
    else if (key == "perceptual") p.perceptual = v.is_none() ? "" : py::str(v).cast<std::string>();
    else if (key == "segmenter") p.segmenter = v.cast<std::string>();
    else if (key == "identity_judge") p.identity_judge = v.cast<std::string>();
    else if (key == "poisson") p.poisson = v.cast<bool>();
    else if (key == "replace") p.replace = v.cast<bool>();
    else if (key == "cache") {
      const auto s = v.is_none() ? std::string("none") : py::str(v).cast<std::string>();
      p.cache_dir = s == "none" ? std::filesystem::path() : s == "default" ? cache_dir() / "photos" : std::filesystem::path(s);
    } else if (key == "cache_max_bytes") p.cache_max_bytes = v.cast<uint64_t>();
    else
      throw Error("PhotoSession: unknown setting " + key +
                  " (crop, zoom, shift, inversion_steps, starts, encoder, personalize, personalize_steps, guide, perceptual, "
                  "segmenter, identity_judge, poisson, replace, cache, cache_max_bytes)");
  }
  return p;
}

py::dict prepared_dict(const pipeline::PreparedPhoto& p) {
  py::dict d;
  d["aligned"] = image_to_python(p.face.crop);
  d["mask"] = image_to_python(p.mask);
  d["space"] = models::to_string(p.space);
  d["latent"] = p.pivot;
  d["inversion"] = to_python(p.inversion);
  d["personalization"] = to_python(p.personalization);
  d["cache_key"] = p.cache_key;
  d["from_cache"] = p.from_cache;
  return d;
}

struct PhotoSessionHandle {
  std::shared_ptr<GeneratorHandle> g;
  pipeline::PhotoParams params;
  std::unique_ptr<pipeline::PhotoSession> session;
  std::unique_ptr<eval::PhotoMeasurer> measurer;  // render()'s metrics; opened at the first render
};

}  // namespace

void bind_pipeline(py::module_& m) {
  py::class_<pipeline::PhotoResult>(m, "PhotoResult", "One edit of a prepared photo: the images, latents and measurements.")
      .def_property_readonly("photo", [](const pipeline::PhotoResult& r) { return image_to_python(r.photo); },
                             "The edited photo, the input's size (numpy uint8 HxWx3 RGB).")
      .def_property_readonly("edited_crop", [](const pipeline::PhotoResult& r) { return image_to_python(r.edited_crop); },
                             "The aligned crop after the edit, before fusion (numpy RGB).")
      .def_readonly("reconstruction", &pipeline::PhotoResult::reconstruction, "[1, 3, R, R] the generator's image of the inversion.")
      .def_readonly("edited_image", &pipeline::PhotoResult::edited_image, "[1, 3, R, R] the generator's image after the edits.")
      .def_readonly("edited_latent", &pipeline::PhotoResult::edited_latent, "The edited latent (the photo's space).")
      .def_property_readonly("space", [](const pipeline::PhotoResult& r) { return models::to_string(r.space); }, "The latent space.")
      .def_readonly("cache_hit", &pipeline::PhotoResult::cache_hit, "Whether the preparation came from the cache.")
      .def_property_readonly("edits", [](const pipeline::PhotoResult& r) { return to_python(r.to_json().value("edits", nlohmann::json::array())); },
                             "The edits as applied (method, attribute, strength after flip, walk, notes).")
      .def_property_readonly("metrics", [](const pipeline::PhotoResult& r) { return to_python(r.metrics); }, "Identity, PSNR, background change, ...")
      .def_property_readonly("timings", [](const pipeline::PhotoResult& r) { return to_python(r.timings); }, "Seconds by stage.")
      .def_property_readonly("inversion", [](const pipeline::PhotoResult& r) { return to_python(r.inversion); }, "The inversion's report.")
      .def_property_readonly("personalization", [](const pipeline::PhotoResult& r) { return to_python(r.personalization); },
                             "The personalization's report (None when not personalized).")
      .def("to_dict", [](const pipeline::PhotoResult& r) { return to_python(r.to_json()); }, "Everything but the images and tensors (the CLI's summary line).");

  py::class_<PhotoSessionHandle, std::shared_ptr<PhotoSessionHandle>>(m, "PhotoSession", R"doc(
Editing one real photo: prepare() aligns, inverts and (for PFSF walks) personalizes it once (on
the session's own copy of the generator); preview() and render() then edit it any number of times. With a cache directory (the default: the
model cache's photos/), a later session preparing the same photo skips straight to the edits.

    s = faceedit.PhotoSession(g, inversion_steps=300)
    s.prepare("me.jpg", edits="smile=+1", progress=print)
    faceedit.write_image("me_smiling.jpg", s.render("smile=+1").photo)

Settings (keyword arguments, PhotoParams' fields): crop (256), zoom, shift, inversion_steps (300),
starts (4), encoder, personalize ("auto", "always", "never"), personalize_steps (80), guide
("celebahq"), perceptual, segmenter ("selfie"), identity_judge ("faceres-descriptor"), poisson,
replace, cache ("default", a directory, or None), cache_max_bytes.
)doc")
      .def(py::init([](const std::shared_ptr<GeneratorHandle>& g, const py::kwargs& kw) {
             if (!g) throw Error("PhotoSession: needs a generator (faceedit.open_generator(...))");
             auto h = std::make_shared<PhotoSessionHandle>();
             h->g = g;
             h->params = photo_params(kw);
             h->session = LongCall::run(py::none(), [&] {
               return std::make_unique<pipeline::PhotoSession>(g->g, g->name, h->params, report_stage);
             });
             return h;
           }), py::arg("g"))
      .def("prepare", [](PhotoSessionHandle& h, const py::object& image, const py::object& edits, const py::object& space,
                         const py::object& personalize, const py::object& name, const py::object& progress) {
            const cv::Mat photo = image_from_python(image, "prepare: image");
            const std::string photo_name = name.is_none() ? image_name(image, "photo") : name.cast<std::string>();
            std::vector<pipeline::PhotoEdit> e;
            if (!edits.is_none()) e = photo_edits_from_python(edits, false);
            const auto ask = personalize_from_python(personalize);
            const auto* prepared = LongCall::run(progress, [&]() -> const pipeline::PreparedPhoto* {
              auto s = space.is_none() ? h.g->g->inversion_space() : models::parse_latent_space(space.cast<std::string>());
              bool personalize = h.params.personalize == pipeline::Personalize::Always;
              if (!e.empty()) {
                if (space.is_none()) s = h.session->space_of(e);  // opens (and checks) the edits
                personalize = pipeline::wants_personalization(h.params, e);
              }
              if (ask != pipeline::Personalize::Auto) personalize = ask == pipeline::Personalize::Always;
              return &h.session->prepare(photo, photo_name, s, personalize);
            });
            return prepared_dict(*prepared);
          }, py::arg("image"), py::arg("edits") = py::none(), py::kw_only(), py::arg("space") = py::none(),
          py::arg("personalize") = py::none(), py::arg("name") = py::none(), py::arg("progress") = py::none(), R"doc(
Aligns, inverts and personalizes the photo (or loads all of it from the cache).

image: a path or a numpy uint8 HxWx3 RGB array with exactly one face.
edits: the edits to come ("smile=+1", a dict, or a list): they pick the latent space and whether to
    personalize (PFSF walks do). Without them: the model's default space, no personalization.
space, personalize: override those choices.
progress: a callable taking one dict per stage ({"stage": "align", "seconds": s, "info": {...}}) and
    per progress line ({"log": line}); raising in it stops the preparation. Ctrl-C stops it too.
Returns {aligned (numpy RGB crop), mask (numpy float32), space, latent (tensor), inversion,
personalization, cache_key, from_cache}. Raises faceedit.Error for no face or several faces.
)doc")
      .def("preview", [](PhotoSessionHandle& h, const py::object& edits, bool flip, const py::object& progress) {
            auto e = photo_edits_from_python(edits, flip);
            const auto crop = LongCall::run(progress, [&] {
              h.session->open(e);
              return h.session->preview(e);
            });
            return image_to_python(crop);
          }, py::arg("edits"), py::kw_only(), py::arg("flip") = false, py::arg("progress") = py::none(), R"doc(
The edits on the prepared photo's aligned crop, blended through its mask, without fusion or metrics
(what the browser editor shows while a slider moves): numpy uint8 RGB, the crop's size.
edits: "smile=+1", "method=interfacegan,boundary=b.safetensors,strength=2", a dict, or a list
(applied in sequence in latent space). flip: towards the other side of each attribute.
)doc")
      .def("render", [](PhotoSessionHandle& h, const py::object& edits, bool flip, const py::object& progress) {
            auto e = photo_edits_from_python(edits, flip);
            return LongCall::run(progress, [&] {
              h.session->open(e);
              auto r = h.session->render(e);
              if (!h.measurer) h.measurer = std::make_unique<eval::PhotoMeasurer>(h.params, h.g->g->device());
              pipeline::measure_result(r, h.measurer->callback(), report_stage);
              return r;
            });
          }, py::arg("edits"), py::kw_only(), py::arg("flip") = false, py::arg("progress") = py::none(), R"doc(
The edits on the prepared photo, fused back into it: the result's photo (the input's size), with
the edited crop, the generator's images, the edited latent, metrics and timings.
)doc")
      .def_property_readonly("prepared", [](const PhotoSessionHandle& h) { return prepared_dict(h.session->prepared()); },
                             "What prepare() returned (raises faceedit.Error before prepare()).")
      .def_property_readonly("generator", [](const PhotoSessionHandle& h) { return h.g; },
                             "The generator the session was opened with (never changed: a personalization fine-tunes the session's own copy).")
      .def("save_intermediates", [](const PhotoSessionHandle& h, const std::string& dir, const pipeline::PhotoResult& r) {
            h.session->save_intermediates(dir, r);
          }, py::arg("dir"), py::arg("result"), "Writes the aligned crop, reconstruction, edit, mask, before/after, latents (as --keep-intermediates).");

  m.def("edit_photo", [](const std::shared_ptr<GeneratorHandle>& g, const py::object& image, const py::object& edits, bool flip,
                         const py::object& progress, const py::kwargs& kw) {
        if (!g) throw Error("edit_photo: needs a generator");
        const cv::Mat photo = image_from_python(image, "edit_photo: image");
        const auto name = image_name(image, "photo");
        const auto e = photo_edits_from_python(edits, flip);
        const auto params = photo_params(kw);
        return LongCall::run(progress, [&] {
          eval::PhotoMeasurer measurer(params, g->g->device());
          return pipeline::edit_photo(photo, name, g->g, g->name, e, params, report_stage, {}, measurer.callback());
        });
      }, py::arg("g"), py::arg("image"), py::arg("edits"), py::kw_only(), py::arg("flip") = false, py::arg("progress") = py::none(), R"doc(
The whole photo job in one call (`faceedit photo`): align, invert, personalize when needed, edit,
fuse. Settings as PhotoSession's keyword arguments. Returns a PhotoResult.
)doc");

  m.def("analyze", [](const py::object& images, const std::vector<std::string>& judges, const std::string& embedder,
                      const std::string& segmenter, int crop, bool aligned, bool embedding, const py::object& device,
                      const py::object& progress) {
        std::vector<cv::Mat> mats;
        std::vector<std::string> names;
        const bool one = py::isinstance<py::str>(images) || py::isinstance<py::array>(images) || py::hasattr(images, "__fspath__");
        if (one) {
          mats.push_back(image_from_python(images, "analyze: image"));
          names.push_back(image_name(images, "image"));
        } else {
          for (auto im : images) {
            mats.push_back(image_from_python(im, "analyze: image " + std::to_string(mats.size())));
            names.push_back(image_name(im, "image " + std::to_string(names.size())));
          }
        }
        auto spec = models::judge_panel_default_spec();
        if (!judges.empty()) spec.attributes = judges;
        if (!embedder.empty()) spec.identity = embedder;
        if (!segmenter.empty()) spec.segmenter = segmenter;
        const auto dev = device_from_python(device);
        auto results = LongCall::run(progress, [&] {
          auto panel = models::open_judge_panel(spec);
          panel.attributes->to(dev);
          std::unique_ptr<face::FaceDetector> detector;
          if (!aligned) detector = std::make_unique<face::FaceDetector>();
          std::vector<nlohmann::json> out;
          for (size_t i = 0; i < mats.size(); ++i) {
            out.push_back(aligned ? nlohmann::json::array({face::analyze_aligned_face(mats[i], panel, {crop, embedding})})
                                  : face::analyze_faces(mats[i], *detector, panel, {crop, embedding}));
            if (auto* call = LongCall::current()) call->report({{"stage", "analyze"}, {"done", i + 1}, {"total", mats.size()}, {"image", names[i]}});
          }
          return out;
        });
        if (one) return to_python(results.front());
        py::list l;
        for (const auto& r : results) l.append(to_python(r));
        return py::object(l);
      }, py::arg("images"), py::kw_only(), py::arg("judges") = std::vector<std::string>{}, py::arg("embedder") = "",
      py::arg("segmenter") = "", py::arg("crop") = 256, py::arg("aligned") = false, py::arg("embedding") = true,
      py::arg("device") = "cpu", py::arg("progress") = py::none(), R"doc(
Detects faces and judges them (`faceedit analyze`): for one image (a path or numpy RGB) a list of
faces, largest first; for a list of images a list of those lists. Each face: {"box": [x, y, w, h],
"landmarks": 68 x [x, y], "attributes": {"male": p, ...}, "age", "embedding", "mask_coverage"}.

judges: attribute judges (default: faceres, celebahq-judge, emotion); embedder, segmenter: the
identity and portrait-mask judges. aligned=True: each image already is an aligned face crop.
)doc");

  m.def("edit_video", [](const std::shared_ptr<GeneratorHandle>& g, const std::string& input, const std::string& output,
                         const py::object& edits, bool flip, int max_frames, const py::object& work_dir, bool side_by_side,
                         bool measure, const std::string& walk, int warm_steps, double latent_sigma, double mask_sigma,
                         int personalize_frames, const py::object& progress, const py::kwargs& kw) {
        if (!g) throw Error("edit_video: needs a generator");
        pipeline::VideoParams p;
        p.photo = photo_params(kw);
        p.max_frames = max_frames;
        if (!work_dir.is_none()) p.work_dir = py::str(work_dir).cast<std::string>();
        p.side_by_side = side_by_side;
        p.walk = walk;
        p.warm_steps = warm_steps;
        p.latent_sigma = latent_sigma;
        p.mask_sigma = mask_sigma;
        p.personalize_frames = personalize_frames;
        const auto e = photo_edits_from_python(edits, flip);
        const auto r = LongCall::run(progress, [&] {
          return eval::edit_and_measure_video(input, output, g->g, g->name, e, p, measure, [](const pipeline::VideoStage& s) {
            if (auto* call = LongCall::current())
              call->report({{"stage", s.name}, {"done", s.done}, {"total", s.total}, {"seconds", s.seconds}});
          });
        });
        return to_python(r.to_json());
      }, py::arg("g"), py::arg("input"), py::arg("output"), py::arg("edits"), py::kw_only(), py::arg("flip") = false,
      py::arg("max_frames") = 0, py::arg("work_dir") = py::none(), py::arg("side_by_side") = true, py::arg("measure") = true,
      py::arg("walk") = "first", py::arg("warm_steps") = 40, py::arg("latent_sigma") = 0.0, py::arg("mask_sigma") = 1.0,
      py::arg("personalize_frames") = 0, py::arg("progress") = py::none(), R"doc(
Edits the face through a whole video (`faceedit video`): track, invert (warm-started), edit, render,
measure. Resumable through work_dir (Ctrl-C raises KeyboardInterrupt; the same call continues).
progress gets {"stage", "done", "total", "seconds"} per pass update. Photo settings (crop,
inversion_steps, ...) as PhotoSession's keyword arguments. Returns the result's summary dict.
)doc");
}

}  // namespace faceedit::python
