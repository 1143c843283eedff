#include "faceedit/pipeline/photo.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <unistd.h>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"
#include "faceedit/io/json_checks.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/classifier_features.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/judges.h"
#include "faceedit/face/fuse.h"
#include "faceedit/pipeline/photo_l2mgan.h"

namespace faceedit::pipeline {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

nlohmann::json quad_json(const face::AlignmentQuad& q) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& c : q.corners) j.push_back({c.x, c.y});
  return j;
}

face::AlignmentQuad quad_from(const nlohmann::json& j) {
  face::AlignmentQuad q;
  for (size_t i = 0; i < 4; ++i) q.corners[i] = {j.at(i).at(0).get<double>(), j.at(i).at(1).get<double>()};
  return q;
}

cv::Mat to_image(const torch::Tensor& t) { return io::tensor_to_image(t.detach().cpu()); }

cv::Mat upscale(const cv::Mat& img, int size) {
  cv::Mat out;
  cv::resize(img, out, cv::Size(size, size), 0, 0, cv::INTER_NEAREST);  // intermediates: crisp pixels
  return out;
}

}  // namespace

nlohmann::json PhotoResult::to_json() const {
  nlohmann::json e = nlohmann::json::array();
  for (const auto& a : edits) {
    nlohmann::json j{{"method", a.method}, {"attribute", a.attribute}, {"strength", a.strength}, {"editor", a.describe}};
    if (a.walk) j["walk"] = a.walk->to_json()["samples"][0];
    if (!a.note.empty()) j["note"] = a.note;
    e.push_back(j);
  }
  return {{"edits", e},         {"metrics", metrics},   {"timings", timings},        {"cache_hit", cache_hit},
          {"inversion", inversion}, {"space", models::to_string(space)}, {"personalization", personalization}};
}

struct PhotoSession::State {
  std::shared_ptr<const models::Generator> base;  // shared, never changed
  std::shared_ptr<models::Generator> personal;    // the photo's personalized copy (null: none)
  std::string model;
  PhotoParams p;
  StageCallback on_stage;
  InversionGuide guide;  // its identity embedding is never a judge
  std::optional<PreparedPhoto> prep;
  mutable nlohmann::json prep_timings = nlohmann::json::object();  // the preparation's stages, seconds
  std::unique_ptr<models::Encoder> encoder;  // params.encoder, loaded at the first inversion
  // Kept across renders (a session re-edits one photo many times): G(pivot) of the prepared photo
  // and the editors the session opened (on the generator as it is now).
  mutable torch::Tensor reconstruction;
  mutable std::map<std::string, std::shared_ptr<const edit::Editor>> editors;  // by spec

  std::shared_ptr<const models::Generator> g() const { return personal ? personal : base; }
  // A fresh copy of the shared generator to personalize: each photo starts from the base weights
  // bit for bit, whatever was edited before (a batch shared among processes must not depend on order).
  models::Generator& personal_copy() {
    personal = base->clone();
    editors.clear();
    return *personal;
  }
  std::shared_ptr<const edit::Editor> editor(const PhotoEdit& e) const;

  void stage(const std::string& name, double seconds, nlohmann::json info = nlohmann::json::object()) const {
    if (on_stage) on_stage({name, seconds, std::move(info)});
  }
  // A preparation stage: also kept for every apply()'s timings.
  void prep_stage(const std::string& name, double seconds, nlohmann::json info = nlohmann::json::object()) const {
    prep_timings[name] = seconds;
    stage(name, seconds, std::move(info));
  }
  bool load_cached(const fs::path& dir, PreparedPhoto& out, bool personalize) const;
  void personalize(PreparedPhoto& prep);
  void store_cached(const fs::path& dir, const PreparedPhoto& prep) const;
};

PhotoSession::PhotoSession(std::shared_ptr<const models::Generator> g, std::string model_name, PhotoParams params, StageCallback on_stage)
    : s_(std::make_unique<State>()) {
  if (!g) fail("photo session", "needs a generator");
  if (params.crop < 32 || params.crop > 4096) fail("crop " + std::to_string(params.crop), "must be in [32, 4096]");
  if (params.inversion_steps < 0 || params.starts < 1 || params.personalize_steps < 0)
    fail("photo session", "inversion_steps and personalize_steps must be >= 0, starts >= 1");
  if (params.inversion_steps == 0 && params.encoder.empty())
    fail("photo session", "inversion steps 0 only from a given start: an encoder's (--encoder)");
  s_->base = std::move(g);
  s_->model = std::move(model_name);
  s_->p = std::move(params);
  s_->on_stage = std::move(on_stage);
  s_->guide = open_inversion_guide(s_->p, s_->base->device());
}

PhotoSession::~PhotoSession() = default;

InversionGuide open_inversion_guide(const PhotoParams& p, torch::Device device) {
  InversionGuide guide;
  if (!p.guide.empty() && p.guide != "none") {
    guide.classifier = models::open_guide(p.guide);
    guide.classifier->to(device);
    // The embedding and the distance refer to the classifier: each keeps it alive (an editor may
    // hold the embedding longer than this guide lives).
    const auto keep = guide.classifier;
    guide.identity = std::shared_ptr<models::IdentityEmbedder>(new models::ClassifierEmbedder(*keep), [keep](models::IdentityEmbedder* e) { delete e; });
    if (p.perceptual.empty())
      guide.features = std::shared_ptr<models::FeatureDistance>(new models::ClassifierFeatureDistance(*keep), [keep](models::FeatureDistance* f) { delete f; });
  }
  if (!p.perceptual.empty()) guide.features = std::make_shared<models::TorchScriptFeatureDistance>(p.perceptual);
  return guide;
}

const InversionGuide& PhotoSession::guide() const { return s_->guide; }
std::shared_ptr<const models::Generator> PhotoSession::generator() const { return s_->g(); }

const PreparedPhoto& PhotoSession::prepared() const {
  if (!s_->prep) fail("photo session", "prepare() a photo first");
  return *s_->prep;
}

bool PhotoSession::State::load_cached(const fs::path& dir, PreparedPhoto& out, bool personalize) const {
  std::ifstream in(dir / "prep.json");
  if (!in) return false;
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return false;
  try {
    io::check_json_numbers(j, (dir / "prep.json").string());  // a damaged entry is a miss, not undefined behaviour
    if (j.value("version", 0) != kPhotoCacheVersion) return false;
    io::SafetensorsReader file((dir / "tensors.safetensors").string());
    out.ffhq = face::align_face(out.photo, quad_from(j.at("ffhq_quad")), p.crop);
    const auto lm = j.at("landmarks");
    for (size_t i = 0; i < out.ffhq.landmarks.size(); ++i) out.ffhq.landmarks[i] = {lm.at(i).at(0).get<float>(), lm.at(i).at(1).get<float>()};
    out.face = face::align_face(out.photo, quad_from(j.at("quad")), p.crop);
    out.face.landmarks = out.ffhq.landmarks;
    const auto mask = file.load("mask").contiguous();
    if (mask.dim() != 2 || mask.size(0) != p.crop || mask.size(1) != p.crop) return false;
    out.mask = cv::Mat(p.crop, p.crop, CV_32F, mask.data_ptr<float>()).clone();
    out.pivot = file.load("pivot").to(base->device());
    out.inversion = j.at("inversion");
    // A personalization made with other settings, or not asked for, is not used (prepare() makes one).
    out.personalization = nullptr;
    // "personalisation": entries written before the API settled on one spelling.
    const auto& pj = j.contains("personalization") ? j.at("personalization") : j.at("personalisation");
    if (personalize && pj.is_object() && pj.value("steps", -1) == p.personalize_steps) {
      out.personalization = pj;
      for (const auto& e : file.entries())
        if (e.name.rfind("delta.", 0) == 0) out.delta.emplace_back(e.name.substr(6), file.load(e.name));
    }
    base->check_latents(out.pivot, out.space, (dir / "tensors.safetensors").string());
  } catch (const std::exception&) {
    return false;  // an unreadable entry is a miss; it is rewritten
  }
  std::error_code ec;
  fs::last_write_time(dir / "prep.json", fs::file_time_type::clock::now(), ec);  // recently used
  return true;
}

void PhotoSession::State::store_cached(const fs::path& dir, const PreparedPhoto& prep) const {
  // A whole entry appears at once: written into a temp directory, then renamed.
  const fs::path tmp = dir.string() + ".tmp" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  io::NamedTensors t = {{"pivot", prep.pivot.detach().cpu()},
                        {"mask", torch::from_blob(prep.mask.data, {prep.mask.rows, prep.mask.cols}, torch::kFloat32).clone()}};
  for (const auto& [name, d] : prep.delta) t.emplace_back("delta." + name, d);
  io::write_safetensors((tmp / "tensors.safetensors").string(), t);
  nlohmann::json lm = nlohmann::json::array();
  for (const auto& pt : prep.ffhq.landmarks) lm.push_back({pt.x, pt.y});
  const nlohmann::json j = {{"version", kPhotoCacheVersion}, {"ffhq_quad", quad_json(prep.ffhq.quad)}, {"quad", quad_json(prep.face.quad)},
                            {"landmarks", lm}, {"space", models::to_string(prep.space)}, {"inversion", prep.inversion},
                            {"personalization", prep.personalization}, {"model", model}};
  const std::string text = j.dump();
  io::write_file_atomic(tmp / "prep.json", text.data(), text.size());
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) fs::remove_all(tmp, ec);  // another process stored it first: theirs is as good
  evict_photo_cache(dir.parent_path(), p.cache_max_bytes);
}

// 3. Personalize around the pivot, inside the portrait mask (on the session's own copy of G).
void PhotoSession::State::personalize(PreparedPhoto& prep) {
  const auto t0 = Clock::now();
  models::FeatureDistance* perceptual = guide.features.get();
  auto& g = personal_copy();
  const int64_t r = g.resolution();
  cv::Mat small;
  cv::resize(prep.mask, small, cv::Size(static_cast<int>(r), static_cast<int>(r)), 0, 0, cv::INTER_AREA);
  const auto mask_t = torch::from_blob(small.data, {1, 1, r, r}, torch::kFloat32).clone().to(g.device());
  PersonalizeParams pp;
  pp.steps = p.personalize_steps;
  pp.progress = true;
  pp.on_progress = p.on_progress;
  auto pers = pipeline::personalize(g, prep.pivot, prep.space, generator_target(prep.face.crop, g), mask_t, perceptual, pp);
  prep.personalization = pers.to_json();
  prep.personalization["steps"] = p.personalize_steps;
  prep.delta = std::move(pers.delta);
  prep_stage("personalization", seconds_since(t0), prep.personalization);
}

const PreparedPhoto& PhotoSession::prepare(const cv::Mat& photo, const std::string& name, models::LatentSpace space, bool personalize) {
  auto& s = *s_;
  const auto& base = *s.base;
  if (photo.empty()) fail(name, "is an empty image");
  if (!base.has_space(space)) fail(name, "the " + base.arch() + " generator has no " + models::to_string(space) + " space");
  s.personal.reset();  // back to the shared generator
  s.editors.clear();
  s.prep.reset();
  s.reconstruction = torch::Tensor();
  s.prep_timings = nlohmann::json::object();
  PreparedPhoto prep;
  prep.photo = photo;
  prep.space = space;
  const bool personalizing = personalize && s.p.personalize_steps > 0;
  const fs::path dir = s.p.cache_dir.empty() ? fs::path() : s.p.cache_dir / photo_cache_key(photo, s.model, base, s.p, space);
  if (!dir.empty()) prep.cache_key = dir.filename().string();
  auto t0 = Clock::now();
  if (!dir.empty() && s.load_cached(dir, prep, personalizing)) {
    prep.from_cache = true;
    s.prep_stage("cache", seconds_since(t0), {{"key", prep.cache_key}, {"personalized", !prep.delta.empty()}});
    if (!prep.delta.empty()) {
      add_weight_delta(s.personal_copy(), prep.delta, 1.0);
    } else if (personalizing) {  // cached without (or with another) personalization: add it
      s.personalize(prep);
      s.store_cached(dir, prep);
    }
    s.prep = std::move(prep);
    return *s.prep;
  }

  // 1. Detect, align, frame as the generator's faces were, mask.
  prep.ffhq = face::align_single_face(photo, s.p.crop, name);
  const auto framing = base.face_framing();
  const double zoom = s.p.zoom > 0 ? s.p.zoom : framing.zoom, shift = s.p.shift >= -0.5 ? s.p.shift : framing.shift;
  prep.face = zoom == 1.0 && shift == 0.0 ? prep.ffhq : face::align_face(photo, face::reframe_quad(prep.ffhq.quad, zoom, shift), s.p.crop);
  prep.face.landmarks = prep.ffhq.landmarks;
  std::unique_ptr<models::PortraitSegmenter> segmenter;
  if (s.p.segmenter != "none") {
    segmenter = models::open_segmenter(s.p.segmenter);
    segmenter->to(base.device());
  }
  prep.mask = edit_mask(prep.face, segmenter.get());
  s.prep_stage("align", seconds_since(t0), {{"crop", s.p.crop}, {"zoom", zoom}, {"shift", shift}, {"mask_coverage", cv::mean(prep.mask)[0]}});

  // 2. Invert, guided by our classifier's features and identity.
  t0 = Clock::now();
  const auto target = generator_target(prep.face.crop, base);
  InversionParams ip;
  ip.space = space;
  ip.steps = s.p.inversion_steps;
  ip.starts = s.p.starts;
  ip.progress = true;
  ip.on_progress = s.p.on_progress;
  if (!s.p.encoder.empty()) {
    if (!s.encoder) s.encoder = models::Encoder::load(s.p.encoder, base.device());
    ip.init = encoder_start(*s.encoder, base, target, space, s.p.encoder);
  }
  const auto inv = invert(base, target, {s.guide.features.get(), s.guide.identity.get()}, ip);
  prep.pivot = inv.latent.detach();
  prep.inversion = inv.to_json();
  s.prep_stage("inversion", seconds_since(t0), prep.inversion);

  prep.personalization = nullptr;
  if (personalizing) s.personalize(prep);
  if (!dir.empty()) s.store_cached(dir, prep);
  s.prep = std::move(prep);
  return *s.prep;
}

namespace {
void check_strength(double strength) {
  if (!std::isfinite(strength) || std::abs(strength) > 10)
    fail("strength " + std::to_string(strength), "must be a finite number in [-10, 10] (sign: direction, 1: the attribute's crossing)");
}
}  // namespace

std::shared_ptr<const edit::Editor> PhotoSession::State::editor(const PhotoEdit& e) const {
  // A walk walks the generator the session renders with (its personalized copy once made).
  if (e.opened && e.opened->method() != "pfsf") return e.opened;
  const std::string key = edit::spec_key(e.editor);
  auto it = editors.find(key);
  if (it == editors.end()) it = editors.emplace(key, edit::open_editor(e.editor, g(), guide.identity)).first;
  return it->second;
}

void PhotoSession::open(std::vector<PhotoEdit>& edits) const {
  const edit::Editor* first = nullptr;
  for (auto& e : edits) {
    check_strength(e.strength);
    if (!e.opened) e.opened = s_->editor(e);
    const auto& editor = e.opened;
    if (!first) first = editor.get();
    if (editor->space() != first->space())
      fail("edit " + editor->attribute(), "works in " + models::to_string(editor->space()) + ", the first edit in " +
                                              models::to_string(first->space()) + " (all edits of a photo share one space)");
  }
}

models::LatentSpace PhotoSession::space_of(std::vector<PhotoEdit> edits) const {
  if (edits.empty()) fail("photo", "no edit given");
  open(edits);
  return edits.front().opened->space();
}

bool wants_personalization(const PhotoParams& params, const std::vector<PhotoEdit>& edits) {
  if (params.personalize != Personalize::Auto) return params.personalize == Personalize::Always;
  return std::any_of(edits.begin(), edits.end(), [](const PhotoEdit& e) {
    return e.opened ? e.opened->method() == "pfsf" : e.editor.method == "pfsf";
  });
}

torch::Tensor PhotoSession::edit_latent(const torch::Tensor& pivot, models::LatentSpace space, const std::vector<PhotoEdit>& edits,
                                        std::vector<AppliedEdit>& applied_edits) const {
  torch::Tensor latent = pivot;
  for (const auto& e : edits) {
    check_strength(e.strength);
    const auto editor = s_->editor(e);
    if (editor->space() != space)
      fail("edit " + editor->attribute(), "edits " + models::to_string(editor->space()) + " codes; the photo was inverted into " +
                                              models::to_string(space) + " (all edits of a photo share one space)");
    AppliedEdit applied{editor->method(), editor->attribute(), e.strength, editor->describe(), std::nullopt, ""};
    if (e.flip) {
      torch::NoGradGuard no_grad;
      applied.strength = editor->flip_sign(latent)[0].item<double>() * std::abs(e.strength);
    }
    const auto alpha = torch::full({1}, applied.strength, latent.options());
    if (const auto* walker = dynamic_cast<const edit::PfsfEditor*>(editor.get())) {
      applied.walk = walker->walk(latent, alpha);  // the whole path, for the report and intermediates
      latent = applied.walk->point(alpha.abs()).detach();
      if (applied.walk->crossing[0].item<double>() == 0.0) {
        const bool down = applied.strength < 0;
        applied.note = applied.attribute + " is already " + (down ? "below" : "above") + " the threshold (p = " +
                       std::to_string(applied.walk->probs[0][0].item<double>()) + "), so the walk stays put; use strength " +
                       (down ? "+" : "-") + "1 for the opposite edit or a " + (down ? "lower" : "higher") + " threshold";
      }
    } else {
      torch::NoGradGuard no_grad;
      latent = editor->edit(latent, alpha);
    }
    applied_edits.push_back(std::move(applied));
  }
  return latent;
}

RenderedFace PhotoSession::render_face(const face::AlignedFace& face, const cv::Mat& mask, models::LatentSpace space, const torch::Tensor& pivot,
                                       const torch::Tensor& edited, const cv::Mat& photo) const {
  torch::NoGradGuard no_grad;
  const auto g = s_->g();
  RenderedFace out;
  // G(pivot) of the prepared photo is kept: a session previews one photo many times.
  if (s_->prep && pivot.is_same(s_->prep->pivot)) {
    if (!s_->reconstruction.defined()) s_->reconstruction = g->generate(pivot, space);
    out.reconstruction = s_->reconstruction;
    out.edited_image = g->generate(edited, space);
  } else {  // a video frame: both in one batch
    const auto images = g->generate(torch::cat({pivot, edited}), space);
    out.reconstruction = images.narrow(0, 0, 1);
    out.edited_image = images.narrow(0, 1, 1);
  }
  // The generator's change (edited - reconstruction) on the photo's own crop, or its face (replace).
  out.edited_crop = face::add_change(face.crop, out.reconstruction, out.edited_image, s_->p.replace);
  out.blended_crop = face::blend_crops(face.crop, out.edited_crop, mask);
  if (!photo.empty()) {
    face::FuseParams fp;
    fp.poisson = s_->p.poisson;
    out.photo = face::fuse(photo, face, out.edited_crop, mask, fp);
  }
  return out;
}

cv::Mat PhotoSession::preview(const std::vector<PhotoEdit>& edits) const {
  const auto& prep = prepared();
  if (edits.empty()) return prep.face.crop;
  std::vector<AppliedEdit> applied;
  const auto latent = edit_latent(prep.pivot, prep.space, edits, applied);
  return render_face(prep.face, prep.mask, prep.space, prep.pivot, latent).blended_crop;
}

PhotoResult PhotoSession::render(const std::vector<PhotoEdit>& edits) {
  auto& s = *s_;
  const auto& prep = prepared();
  if (edits.empty()) fail("photo", "no edit given");
  PhotoResult out;
  out.cache_hit = prep.from_cache;
  out.timings = s.prep_timings;
  out.inversion = prep.inversion;
  out.personalization = prep.personalization;
  out.space = prep.space;

  // 4. Edits in sequence in latent space.
  auto t0 = Clock::now();
  out.edited_latent = edit_latent(prep.pivot, prep.space, edits, out.edits);
  out.timings["edit"] = seconds_since(t0);
  nlohmann::json edit_info = nlohmann::json::array();
  for (const auto& a : out.edits) edit_info.push_back({{"attribute", a.attribute}, {"method", a.method}, {"strength", a.strength}});
  s.stage("edit", out.timings["edit"], {{"edits", edit_info}});

  // 5. Synthesize and fuse.
  t0 = Clock::now();
  torch::NoGradGuard no_grad;
  auto face = render_face(prep.face, prep.mask, prep.space, prep.pivot, out.edited_latent, prep.photo);
  out.reconstruction = face.reconstruction;
  out.edited_image = face.edited_image;
  out.ffhq = prep.ffhq;
  out.face = prep.face;
  out.edited_crop = face.edited_crop;
  out.blended_crop = face.blended_crop;
  out.photo = face.photo;
  out.timings["fusion"] = seconds_since(t0);
  s.stage("fusion", out.timings["fusion"]);
  return out;
}

void PhotoSession::save_intermediates(const fs::path& dir, const PhotoResult& r) const {
  const auto& prep = prepared();
  const int crop = s_->p.crop;
  fs::create_directories(dir);
  io::write_image((dir / "aligned.png").string(), prep.face.crop);
  io::write_image((dir / "reconstruction.png").string(), upscale(to_image(r.reconstruction[0]), crop));
  io::write_image((dir / "edited_generator.png").string(), upscale(to_image(r.edited_image[0]), crop));
  io::write_image((dir / "edited_crop.png").string(), r.edited_crop);
  cv::Mat mask8;
  prep.mask.convertTo(mask8, CV_8U, 255.0);
  io::write_image((dir / "mask.png").string(), mask8);
  cv::Mat before_after;
  cv::hconcat(prep.photo, r.photo, before_after);
  io::write_image((dir / "before_after.jpg").string(), before_after);
  io::write_safetensors((dir / "latents.safetensors").string(), {{"pivot", prep.pivot.cpu()}, {"edited", r.edited_latent.detach().cpu()}},
                        {{"faceedit.space", models::to_string(prep.space)}, {"faceedit.model", s_->model}});
  for (size_t k = 0; k < r.edits.size(); ++k)
    if (r.edits[k].walk) r.edits[k].walk->save((dir / ("walk_" + std::to_string(k) + ".safetensors")).string());
  if (!prep.delta.empty()) save_weight_delta((dir / "personalized.delta.safetensors").string(), prep.delta, *s_->base, s_->model);
}

cv::Mat edit_mask(const face::AlignedFace& face, models::PortraitSegmenter* segmenter) {
  const int size = face.crop.cols;
  // The portrait usually runs past the crop's edges (the DCGAN's crop is tight): fade the mask out
  // towards the edges, or the edit would stop at a visible square seam in the photo.
  return face::portrait_mask(face.crop, face::landmarks_in_crop(face, size), segmenter, face::FuseParams{}).mul(face::square_mask(size, std::max(2, size / 8)));
}

face::AlignmentQuad framed_quad(const face::AlignmentQuad& ffhq, const models::Generator& g, const PhotoParams& p) {
  const auto framing = g.face_framing();
  const double zoom = p.zoom > 0 ? p.zoom : framing.zoom, shift = p.shift >= -0.5 ? p.shift : framing.shift;
  return zoom == 1.0 && shift == 0.0 ? ffhq : face::reframe_quad(ffhq, zoom, shift);
}

void measure_result(PhotoResult& result, const PhotoMeasure& measure, const StageCallback& on_stage) {
  if (!measure) return;
  const auto t0 = Clock::now();
  result.metrics = measure(result);
  result.timings["metrics"] = seconds_since(t0);
  if (on_stage) on_stage({"metrics", result.timings["metrics"], result.metrics});
}

PhotoResult edit_photo(const cv::Mat& photo, const std::string& name, std::shared_ptr<const models::Generator> g, const std::string& model_name,
                       std::vector<PhotoEdit> edits, const PhotoParams& params, StageCallback on_stage, fs::path keep, PhotoMeasure measure) {
  const auto t_start = Clock::now();
  if (edits.empty()) fail(name, "no edit given");
  PhotoResult result;
  if (is_l2mgan_edit(edits)) {  // an image editor: no inversion (photo_l2mgan.h)
    result = L2MGanPhotoEditor(edits, params, g->device()).edit(photo, name, on_stage, keep);
  } else {
    PhotoSession session(g, model_name, params, on_stage);
    session.open(edits);  // every editor opens (and fails on a bad spec) before any slow work
    session.prepare(photo, name, session.space_of(edits), wants_personalization(params, edits));
    result = session.render(edits);
    if (!keep.empty()) session.save_intermediates(keep, result);
  }
  measure_result(result, measure, on_stage);
  result.timings["total"] = seconds_since(t_start);
  return result;
}

}  // namespace faceedit::pipeline
