#include "faceedit/pipeline/video.h"

#include <opencv2/imgproc.hpp>

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
#include "faceedit/models/judges.h"  // the portrait segmenter
#include "faceedit/face/fuse.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/pipeline/personalize.h"
#include "faceedit/pipeline/photo_l2mgan.h"
#include "faceedit/io/content_hash.h"
#include "faceedit/progress.h"

namespace faceedit::pipeline {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string frame_name(const std::string& prefix, int t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%06d.safetensors", prefix.c_str(), t);
  return buf;
}

void write_json_atomic(const fs::path& path, const nlohmann::json& j) {
  const std::string text = j.dump();
  io::write_file_atomic(path, text.data(), text.size());
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return nullptr;
  io::check_json_numbers(j, path.string());
  return j;
}

void check_stop(const std::string& what) {
  if (stop_requested()) fail(what, "interrupted; run the same command again to resume where it stopped");
}

// Gaussian over time on per-frame tensors (undefined: a gap that separates runs): temporal_weights().
std::vector<torch::Tensor> smooth_tensors(const std::vector<torch::Tensor>& series, double sigma) {
  const int n = static_cast<int>(series.size());
  std::vector<torch::Tensor> out(series.size());
  for (int t = 0; t < n; ++t) {
    if (!series[t].defined()) continue;
    torch::Tensor sum = torch::zeros_like(series[t]);
    for (const auto& [u, w] : face::temporal_weights(t, n, sigma, [&](int v) { return series[v].defined(); })) sum += w * series[u];
    out[t] = sum;
  }
  return out;
}

// The work directory: per-frame results of the passes that are worth resuming.
struct Work {
  fs::path dir;
  bool temporary = false;
  fs::path track() const { return dir / "track.json"; }
  fs::path partial_track() const { return dir / "track.partial.json"; }
  fs::path frame(int t) const { return dir / frame_name("frame_", t); }
  fs::path delta(int frames, int steps) const {  // one per personalization setting
    const auto name = std::to_string(frames) + "x" + std::to_string(steps) + ".delta.safetensors";
    // "personalised_": work directories made before the API settled on one spelling; still used.
    if (fs::exists(dir / ("personalised_" + name))) return dir / ("personalised_" + name);
    return dir / ("personalized_" + name);
  }
  ~Work() {
    std::error_code ec;
    if (temporary) fs::remove_all(dir, ec);
  }
};

struct FrameLatent {
  torch::Tensor latent;  // [1, ...]
  cv::Mat mask;          // CV_32F crop x crop, from the stored 8-bit mask
  nlohmann::json info;   // inversion report
};

void save_frame(const fs::path& path, const torch::Tensor& latent, const cv::Mat& mask, const nlohmann::json& info) {
  cv::Mat m8;
  mask.convertTo(m8, CV_8U, 255.0);
  io::write_safetensors(path.string(),
                        {{"latent", latent.detach().cpu().contiguous()},
                         {"mask", torch::from_blob(m8.data, {m8.rows, m8.cols}, torch::kUInt8).clone()}},
                        {{"faceedit.inversion", info.dump()}});
}

FrameLatent load_frame(const fs::path& path, const models::Generator& g) {
  io::SafetensorsReader file(path.string());
  FrameLatent f;
  f.latent = file.load("latent").to(g.device());
  const auto m = file.load("mask").to(torch::kUInt8).contiguous();  // stored as 8 bits
  cv::Mat(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_8U, m.data_ptr<uint8_t>()).convertTo(f.mask, CV_32F, 1 / 255.0);
  const auto meta = file.metadata();
  const auto it = meta.find("faceedit.inversion");
  f.info = it == meta.end() ? nlohmann::json::object() : nlohmann::json::parse(it->second, nullptr, false);
  return f;
}

class Reporter {
 public:
  Reporter(std::string stage, int total, VideoStageCallback cb) : stage_(std::move(stage)), total_(total), cb_(std::move(cb)),
                                                                   progress_(stage_, total, "frames") {}
  void update(int done, const std::string& extra = "") {
    progress_.update(done, extra);
    if (cb_) cb_({stage_, done, total_, progress_.elapsed_seconds()});
  }
  double finish() {
    progress_.finish();
    return progress_.elapsed_seconds();
  }

 private:
  std::string stage_;
  int total_;
  VideoStageCallback cb_;
  Progress progress_;
};

// 1. Track the face through the clip (resumable every few frames).
face::FaceTrack track_faces(const fs::path& input, const Work& work, const VideoParams& p, int frames, int expected, const VideoStageCallback& cb) {
  if (const auto j = read_json(work.track()); j.is_object()) return face::FaceTrack::from_json(j, p.track);
  static const face::FaceDetector& detector = *new face::FaceDetector();  // never destroyed: see align_single_face()
  face::FaceTracker tracker(detector, p.track);
  io::VideoReader in(input);
  cv::Mat frame;
  if (const auto j = read_json(work.partial_track()); j.is_object()) {
    const auto done = face::FaceTrack::from_json(j, p.track).landmarks;
    while (in.position() < static_cast<int>(done.size()) && in.read(frame)) {
    }
    if (in.position() == static_cast<int>(done.size())) {
      tracker.resume(done, frame);
      log_line(log_text("track: resuming at frame ", done.size()));
    } else {
      in = io::VideoReader(input);
    }
  }
  Reporter rep("track", expected, cb);
  while (tracker.frames() < frames && in.read(frame)) {
    tracker.add(frame);
    rep.update(tracker.frames());
    if (tracker.frames() % 10 == 0) write_json_atomic(work.partial_track(), face::FaceTrack{tracker.landmarks(), {}, {}}.to_json());
    check_stop(input.string());
  }
  rep.finish();
  auto track = tracker.finish();
  if (track.frames() == 0) fail(input.string(), "has no frames that decode");
  write_json_atomic(work.track(), track.to_json());
  std::error_code ec;
  fs::remove(work.partial_track(), ec);
  return track;
}

// 2. Invert every frame with a face, each from the previous frame's latent (resumable per frame).
void invert_frames(const fs::path& input, const Work& work, const face::FaceTrack& track, models::Generator& g, const InversionGuide& guide,
                   models::LatentSpace space, const VideoParams& p, const VideoStageCallback& cb) {
  std::unique_ptr<models::PortraitSegmenter> segmenter;
  std::unique_ptr<models::Encoder> encoder;  // p.photo.encoder: cold starts begin at its code
  io::VideoReader in(input);
  Reporter rep("invert", track.frames(), cb);
  torch::Tensor previous;
  cv::Mat frame;
  for (int t = 0; t < track.frames() && in.read(frame); ++t) {
    if (!track.quads[t]) {
      previous = torch::Tensor();  // after a gap (a cut, a lost face) start afresh
      continue;
    }
    if (fs::exists(work.frame(t))) {
      previous = load_frame(work.frame(t), g).latent;
      continue;
    }
    if (!segmenter && p.photo.segmenter != "none") {
      segmenter = models::open_segmenter(p.photo.segmenter);
      segmenter->to(g.device());
    }
    face::AlignedFace face = face::align_face(frame, framed_quad(*track.quads[t], g, p.photo), p.photo.crop);
    face.landmarks = *track.smoothed[t];
    const cv::Mat mask = edit_mask(face, segmenter.get());
    InversionParams ip;
    ip.space = space;
    const bool warm = p.warm_start && previous.defined();
    ip.steps = warm ? p.warm_steps : p.photo.inversion_steps;
    ip.starts = warm ? 1 : p.photo.starts;
    const auto target = generator_target(face.crop, g);
    if (warm) {
      ip.init = previous;
      ip.lr = 0.02;  // a small step from a good start, not a search
      ip.warmup = std::min(5, ip.steps / 4);
    } else if (!p.photo.encoder.empty()) {
      if (!encoder) encoder = models::Encoder::load(p.photo.encoder, g.device());
      ip.init = encoder_start(*encoder, g, target, space, p.photo.encoder);
    }
    const auto inv = invert(g, target, {guide.features.get(), guide.identity.get()}, ip);
    auto info = inv.to_json();
    info["warm"] = warm;
    save_frame(work.frame(t), inv.latent, mask, info);
    previous = inv.latent.detach();
    rep.update(t + 1, "psnr " + std::to_string(inv.psnr).substr(0, 5) + " dB");
    check_stop(input.string());
  }
  rep.finish();
}

// 2b. One generator personalized on keyframes of the clip (STIT's idea), stored as a weight delta.
nlohmann::json personalize_clip(const fs::path& input, const Work& work, const face::FaceTrack& track, models::Generator& g,
                                const InversionGuide& guide, models::LatentSpace space, const VideoParams& p, const std::string& model_name) {
  const auto delta_path = work.delta(p.personalize_frames, p.photo.personalize_steps);
  if (fs::exists(delta_path)) {
    apply_weight_delta(g, delta_path.string());
    return {{"keyframes", p.personalize_frames}, {"from_work_dir", true}};
  }
  std::vector<int> faces;
  for (int t = 0; t < track.frames(); ++t)
    if (track.quads[t]) faces.push_back(t);
  const int k = std::min<int>(p.personalize_frames, static_cast<int>(faces.size()));
  std::vector<int> keys;
  for (int i = 0; i < k; ++i) keys.push_back(faces[(2 * i + 1) * faces.size() / (2 * k)]);  // evenly spread
  std::vector<torch::Tensor> pivots, targets, masks;
  io::VideoReader in(input);
  cv::Mat frame;
  const int64_t r = g.resolution();
  for (int t = 0; t < track.frames() && in.read(frame); ++t) {
    if (std::find(keys.begin(), keys.end(), t) == keys.end()) continue;
    const auto f = load_frame(work.frame(t), g);
    const face::AlignedFace face = face::align_face(frame, framed_quad(*track.quads[t], g, p.photo), p.photo.crop);
    cv::Mat small;
    cv::resize(f.mask, small, cv::Size(static_cast<int>(r), static_cast<int>(r)), 0, 0, cv::INTER_AREA);
    pivots.push_back(f.latent);
    targets.push_back(generator_target(face.crop, g));
    masks.push_back(torch::from_blob(small.data, {1, 1, r, r}, torch::kFloat32).clone().to(g.device()));
  }
  PersonalizeParams pp;
  pp.steps = p.photo.personalize_steps;
  pp.progress = true;
  const auto res = personalize(g, torch::cat(pivots), space, torch::cat(targets), torch::cat(masks), guide.features.get(), pp);
  save_weight_delta(delta_path.string(), res.delta, g, model_name);
  auto j = res.to_json();
  j["keyframes"] = keys;
  return j;
}


// 3. The edits per frame. A flip's sign (and with walk = "first", a PFSF walk) is decided on the
// first frame with a face, so the edit cannot change direction mid-clip.
struct EditedFrames {
  std::vector<torch::Tensor> pivots, edited;  // per frame ([1, ...]; undefined without a face)
  std::vector<AppliedEdit> applied;           // as applied to the first face
  std::vector<nlohmann::json> inversions;     // per frame: the inversion's report
};

EditedFrames edit_frames(const Work& work, const face::FaceTrack& track, const models::Generator& g, const PhotoSession& session,
                         const std::vector<PhotoEdit>& edits, models::LatentSpace space, const VideoParams& p, const VideoStageCallback& cb) {
  EditedFrames out;
  const int n = track.frames();
  out.pivots.resize(n);
  out.edited.resize(n);
  out.inversions.resize(n);
  for (int t = 0; t < n; ++t)
    if (track.quads[t] && fs::exists(work.frame(t))) {
      auto f = load_frame(work.frame(t), g);
      out.pivots[t] = f.latent;
      out.inversions[t] = {{"psnr", f.info.value("psnr", 0.0)}, {"seconds", f.info.value("seconds", 0.0)}, {"warm", f.info.value("warm", false)}};
    }
  int first = 0;
  while (first < n && !out.pivots[first].defined()) ++first;
  if (first == n) fail("video", "no frame was inverted");
  out.edited[first] = session.edit_latent(out.pivots[first], space, edits, out.applied);
  std::vector<PhotoEdit> fixed = edits;  // the first face's signs, for every frame
  bool walks = false;
  for (size_t k = 0; k < fixed.size(); ++k) {
    fixed[k].strength = out.applied[k].strength;
    fixed[k].flip = false;
    walks = walks || out.applied[k].walk.has_value();
  }
  const bool reuse = walks && p.walk == "first";
  const torch::Tensor offset = out.edited[first] - out.pivots[first];
  Reporter rep("edit", n, cb);
  for (int t = first + 1; t < n; ++t) {
    if (!out.pivots[t].defined()) continue;
    if (reuse) {
      out.edited[t] = out.pivots[t] + offset;
    } else {
      std::vector<AppliedEdit> applied;
      out.edited[t] = session.edit_latent(out.pivots[t], space, fixed, applied).detach();
    }
    rep.update(t + 1);
    check_stop("video");
  }
  rep.finish();
  // Offsets smoothed over time (the pivots keep each frame's own reconstruction).
  std::vector<torch::Tensor> offsets(n);
  for (int t = 0; t < n; ++t)
    if (out.pivots[t].defined()) offsets[t] = out.edited[t] - out.pivots[t];
  offsets = smooth_tensors(offsets, p.latent_sigma);
  for (int t = 0; t < n; ++t)
    if (out.pivots[t].defined()) out.edited[t] = (out.pivots[t] + offsets[t]).detach();
  return out;
}

void accumulate(cv::Mat& sum, const cv::Mat& x, double w) {
  if (sum.empty()) sum = cv::Mat::zeros(x.size(), CV_32F);
  cv::scaleAdd(x, w, sum, sum);
}
void accumulate(torch::Tensor& sum, const torch::Tensor& x, double w) { sum = sum.defined() ? sum + w * x : w * x; }

// A per-frame value (a mask, an image change) smoothed over the frames around t (a Gaussian over
// time; temporal_weights), each loaded from the work directory once while the window passes over it.
template <typename T>
class FrameWindow {
 public:
  FrameWindow(const std::vector<bool>& present, double sigma, std::function<T(int)> load)
      : present_(present), sigma_(sigma), load_(std::move(load)) {}
  T at(int t) {
    const auto weights = face::temporal_weights(t, static_cast<int>(present_.size()), sigma_, [&](int u) { return bool(present_[u]); });
    int first = t;  // values before the window are no longer needed
    for (const auto& [u, w] : weights) first = std::min(first, u);
    for (auto it = cache_.begin(); it != cache_.end();) it = it->first < first ? cache_.erase(it) : std::next(it);
    T sum;
    for (const auto& [u, w] : weights) {
      auto it = cache_.find(u);
      if (it == cache_.end()) it = cache_.emplace(u, load_(u)).first;
      accumulate(sum, it->second, w);
    }
    return sum;
  }

 private:
  std::vector<bool> present_;
  double sigma_;
  std::function<T(int)> load_;
  std::map<int, T> cache_;
};

}  // namespace


fs::path side_by_side_path(const fs::path& output) {
  auto name = output.stem().string() + ".side-by-side" + output.extension().string();
  return output.parent_path() / name;
}

nlohmann::json VideoResult::to_json() const {
  std::vector<std::string> outs;
  for (const auto& o : outputs) outs.push_back(o.string());
  return {{"input", input.to_json()}, {"frames", frames},   {"faces", faces},       {"outputs", outs},
          {"summary", summary},       {"encoding", encoding}, {"per_frame", per_frame}};
}

namespace {

// How the frames with a face are edited and rendered: the latent methods (each frame's inversion
// and its edited latent, rendered by the generator) or an image editor (L2M-GAN: the frame's crop).
struct ClipEdit {
  explicit ClipEdit(const face::FaceTrack& track) : faces(track.frames()), frame_info(track.frames()) {
    for (int t = 0; t < track.frames(); ++t) faces[t] = track.quads[t].has_value();
  }
  std::vector<bool> faces;                 // frames with a face to edit
  std::vector<AppliedEdit> applied;        // as applied to the first face
  std::vector<nlohmann::json> frame_info;  // per frame: what its edit reports (the inversion), or null
  models::FaceClassifier* guide = nullptr;
  std::function<face::AlignmentQuad(const face::AlignmentQuad& ffhq)> frame;  // the crop's quad from the tracked one
  std::function<cv::Mat(int t)> mask;                             // frame t's stored mask
  std::function<RenderedFace(int t, const face::AlignedFace& face, const cv::Mat& mask, const cv::Mat& frame)> render;
  nlohmann::json inversion, personalization;  // the summary's (latent methods; null otherwise)
};

// 3 (L2M-GAN). Per frame with a face: the crop in the model's framing, its mask, the model's
// reconstruction and edit (signs decided on the first face), stored per frame (resumable).
struct ImageEditFrame {
  torch::Tensor reconstruction, edited;  // [1, 3, R, R]
  cv::Mat mask;                          // CV_32F crop x crop
};

void save_image_edit(const fs::path& path, const ImageEditFrame& f) {
  cv::Mat m8;
  f.mask.convertTo(m8, CV_8U, 255.0);
  io::write_safetensors(path.string(), {{"reconstruction", f.reconstruction.detach().cpu().contiguous()},
                                        {"edited", f.edited.detach().cpu().contiguous()},
                                        {"mask", torch::from_blob(m8.data, {m8.rows, m8.cols}, torch::kUInt8).clone()}});
}

ImageEditFrame load_image_edit(const fs::path& path, torch::Device device) {
  io::SafetensorsReader file(path.string());
  ImageEditFrame f;
  f.reconstruction = file.load("reconstruction").to(device);
  f.edited = file.load("edited").to(device);
  const auto m = file.load("mask").to(torch::kUInt8).contiguous();
  cv::Mat(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_8U, m.data_ptr<uint8_t>()).convertTo(f.mask, CV_32F, 1 / 255.0);
  return f;
}

// The edits' subdirectory of an image editor's work directory: keyed by the model's bytes and the edits.
fs::path image_edit_dir(const Work& work, const L2MGanPhotoEditor& editor, const std::vector<PhotoEdit>& edits) {
  io::ContentHash h;
  h.add_file(editor.model_file());
  for (const auto& e : edits) h.add(e.editor.attribute + "=" + std::to_string(e.strength) + (e.flip ? ",flip;" : ";"));
  return work.dir / ("l2m-gan-" + h.hex());
}

std::vector<AppliedEdit> edit_frames_image(const fs::path& input, const fs::path& dir, const face::FaceTrack& track, L2MGanPhotoEditor& editor,
                                           const std::vector<PhotoEdit>& edits, const VideoParams& p, const VideoStageCallback& cb) {
  fs::create_directories(dir);
  std::vector<AppliedEdit> first_applied;
  io::VideoReader in(input);
  Reporter rep("edit", track.frames(), cb);
  cv::Mat frame;
  for (int t = 0; t < track.frames() && in.read(frame); ++t) {
    if (!track.quads[t]) continue;
    const fs::path path = dir / frame_name("frame_", t);
    const bool first = first_applied.empty();
    if (fs::exists(path) && !first) continue;  // the first face is always edited again: its signs fix the clip's
    face::AlignedFace face = face::align_face(frame, editor.framed_quad(*track.quads[t]), p.photo.crop);
    face.landmarks = *track.smoothed[t];
    ImageEditFrame f;
    f.mask = editor.mask(face);
    std::vector<AppliedEdit> applied;
    std::tie(f.reconstruction, f.edited) = editor.edit_crop(face.crop, applied);
    if (first) {
      first_applied = applied;
      std::vector<PhotoEdit> fixed = edits;  // the first face's signs, for every frame
      for (size_t k = 0; k < fixed.size(); ++k) fixed[k].strength = applied[k].strength, fixed[k].flip = false;
      editor.set_edits(fixed);
    }
    if (!fs::exists(path)) save_image_edit(path, f);
    rep.update(t + 1);
    check_stop(input.string());
  }
  rep.finish();
  return first_applied;
}

// 4. Every frame rendered in order (faces through `clip`) and written; each shown to `on_frame`.
void render_clip(const fs::path& input, const fs::path& output, const face::FaceTrack& track, const ClipEdit& clip, const VideoParams& p,
                 VideoResult& result, nlohmann::json& timings, const VideoStageCallback& cb, const FrameCallback& on_frame) {
  auto t0 = Clock::now();
  const cv::Size size(result.input.width, result.input.height);
  io::VideoReader in(input);
  io::VideoWriter out(output, size, result.input.fps);
  std::unique_ptr<io::VideoWriter> sbs;
  if (p.side_by_side) sbs = std::make_unique<io::VideoWriter>(side_by_side_path(output), cv::Size(2 * size.width, size.height), result.input.fps);
  FrameWindow<cv::Mat> masks(clip.faces, p.mask_sigma, clip.mask);
  cv::Mat frame;
  Reporter rep("render", track.frames(), cb);
  for (int t = 0; t < track.frames() && in.read(frame); ++t) {
    const auto tf = Clock::now();
    nlohmann::json fj{{"frame", t}, {"face", bool(clip.faces[t])}};
    if (clip.faces[t] && !clip.frame_info[t].is_null()) fj["inversion"] = clip.frame_info[t];
    RenderedFrame shown;
    shown.index = t;
    shown.source = &frame;
    shown.applied = &clip.applied;
    shown.report = &fj;
    cv::Mat result_frame = frame, mask;
    face::AlignedFace face;
    RenderedFace rendered;
    if (clip.faces[t]) {
      torch::NoGradGuard no_grad;
      face = face::align_face(frame, clip.frame(*track.quads[t]), p.photo.crop);
      mask = masks.at(t);
      rendered = clip.render(t, face, mask, frame);
      result_frame = rendered.photo;
      fj["seconds_render"] = seconds_since(tf);
      if (clip.guide) {  // the edit's own view of the frame (the judges, in eval/, are independent of it)
        const auto gp = clip.guide->predict(torch::cat({rendered.reconstruction, rendered.edited_image}).clamp(-1, 1));
        for (const auto& a : clip.applied) {
          if (!clip.guide->has_column(a.attribute)) continue;
          const int64_t c = clip.guide->column(a.attribute);
          fj["guide"][a.attribute] = {gp[0][c].item<double>(), gp[1][c].item<double>()};
        }
      }
      shown.ffhq = *track.quads[t];
      shown.crop_quad = face.quad;
      shown.source_crop = &face.crop;
      shown.blended_crop = &rendered.blended_crop;
      shown.mask = &mask;
    }
    shown.edited = &result_frame;
    if (on_frame) on_frame(shown);
    out.write(result_frame);
    if (sbs) {
      cv::Mat both;
      cv::hconcat(frame, result_frame, both);
      sbs->write(both);
    }
    result.per_frame.push_back(fj);
    rep.update(t + 1);
    check_stop(input.string());
  }
  rep.finish();
  result.frames = out.frames();
  if (result.frames != track.frames())
    fail(input.string(), log_text("decoded ", result.frames, " frames now, ", track.frames(), " when tracking (did the file change?)"));
  if (result.input.frames > 0 && result.frames != result.input.frames && p.max_frames == 0)
    log_line(log_text(input.string(), ": the container says ", result.input.frames, " frames; ", result.frames, " decode"));
  timings["render"] = seconds_since(t0);

  result.encoding = out.finish(input);
  result.outputs.push_back(output);
  if (sbs) {
    sbs->finish(input);
    result.outputs.push_back(side_by_side_path(output));
  }
  auto& s = result.summary;
  s["edits"] = nlohmann::json::array();
  for (const auto& a : clip.applied) s["edits"].push_back({{"attribute", a.attribute}, {"method", a.method}, {"strength", a.strength}});
}

nlohmann::json inversion_summary(const std::vector<nlohmann::json>& inversions, int faces) {
  double psnr_sum = 0, warm_seconds = 0, cold_seconds = 0;
  int warm = 0, cold = 0;
  for (const auto& inv : inversions) {
    if (inv.is_null()) continue;
    psnr_sum += inv["psnr"].get<double>();
    (inv["warm"].get<bool>() ? warm_seconds : cold_seconds) += inv["seconds"].get<double>();
    ++(inv["warm"].get<bool>() ? warm : cold);
  }
  return {{"mean_psnr", faces ? psnr_sum / faces : 0.0}, {"warm_frames", warm}, {"cold_frames", cold},
          {"seconds_per_warm_frame", warm ? warm_seconds / warm : 0.0}, {"seconds_per_cold_frame", cold ? cold_seconds / cold : 0.0}};
}

}  // namespace

// 3 (L2M-GAN): every tracked crop edited by the model (stored in the work directory, resumable);
// the change, smoothed over time, rendered onto each frame's own crop.
ClipEdit image_clip(const fs::path& input, const Work& work, const face::FaceTrack& track, std::shared_ptr<L2MGanPhotoEditor> editor,
                    const std::vector<PhotoEdit>& edits, torch::Device device, const VideoParams& p, const VideoStageCallback& cb,
                    nlohmann::json& timings) {
  ClipEdit clip(track);
  const auto t0 = Clock::now();
  const fs::path dir = image_edit_dir(work, *editor, edits);
  clip.applied = edit_frames_image(input, dir, track, *editor, edits, p, cb);
  timings["edit"] = seconds_since(t0);
  auto load = [dir, device](int t) { return load_image_edit(dir / frame_name("frame_", t), device); };
  auto changes = std::make_shared<FrameWindow<torch::Tensor>>(clip.faces, p.latent_sigma, [load](int u) {
    const auto f = load(u);
    return torch::Tensor(f.edited - f.reconstruction);
  });
  clip.guide = editor->guide();
  clip.frame = [editor](const face::AlignmentQuad& q) { return editor->framed_quad(q); };
  clip.mask = [load](int t) { return load(t).mask; };
  clip.render = [editor, load, changes](int t, const face::AlignedFace& face, const cv::Mat& mask, const cv::Mat& frame) {
    const auto rec = load(t).reconstruction;
    return editor->render_face(face, mask, rec, rec + changes->at(t), frame);
  };
  return clip;
}

// 3 (latent methods): every frame inverted, optionally one generator personalized on keyframes (the
// clip's own copy, never g itself), the edits applied per frame; a session on the clip's generator
// renders each frame (a walk walks it).
ClipEdit latent_clip(const fs::path& input, const Work& work, const face::FaceTrack& track, std::shared_ptr<models::Generator> g,
                     const std::string& model_name, const PhotoSession& session, const std::vector<PhotoEdit>& opened,
                     models::LatentSpace space, const PhotoParams& pp, const VideoParams& p, const VideoStageCallback& cb,
                     nlohmann::json& timings) {
  ClipEdit clip(track);
  const InversionGuide& guide = session.guide();
  auto t0 = Clock::now();
  invert_frames(input, work, track, *g, guide, space, p, cb);
  timings["invert"] = seconds_since(t0);
  std::shared_ptr<const models::Generator> clip_g = g;
  clip.personalization = nullptr;
  if (p.personalize_frames > 0 && p.photo.personalize_steps > 0) {
    t0 = Clock::now();
    std::shared_ptr<models::Generator> personal = g->clone();
    clip.personalization = personalize_clip(input, work, track, *personal, guide, space, p, model_name);
    clip_g = personal;
    timings["personalize"] = seconds_since(t0);
  }
  auto frames = std::make_shared<PhotoSession>(clip_g, model_name, pp);
  t0 = Clock::now();
  auto edited = std::make_shared<EditedFrames>(edit_frames(work, track, *clip_g, *frames, opened, space, p, cb));
  timings["edit"] = seconds_since(t0);
  for (int t = 0; t < track.frames(); ++t) {
    clip.faces[t] = edited->edited[t].defined();
    clip.frame_info[t] = edited->inversions[t];
  }
  clip.applied = edited->applied;
  clip.inversion = inversion_summary(edited->inversions, track.faces_found());
  clip.guide = guide.classifier.get();
  const PhotoParams framing = p.photo;
  clip.frame = [g, framing](const face::AlignmentQuad& q) { return framed_quad(q, *g, framing); };
  clip.mask = [dir = work.dir, g](int t) { return load_frame(dir / frame_name("frame_", t), *g).mask; };
  clip.render = [frames, edited, space](int t, const face::AlignedFace& face, const cv::Mat& mask, const cv::Mat& frame) {
    return frames->render_face(face, mask, space, edited->pivots[t], edited->edited[t], frame);
  };
  return clip;
}

VideoResult edit_video(const fs::path& input, const fs::path& output, std::shared_ptr<models::Generator> g, const std::string& model_name,
                       const std::vector<PhotoEdit>& edits, const VideoParams& p, VideoStageCallback cb, FrameCallback on_frame) {
  const auto t_start = Clock::now();
  if (!g) fail("video", "needs a generator");
  if (edits.empty()) fail(input.string(), "no edit given");
  if (p.walk != "first" && p.walk != "each") fail("walk " + p.walk, "must be first or each");
  if (p.warm_steps < 1 || p.personalize_frames < 0 || p.latent_sigma < 0 || p.mask_sigma < 0 || p.max_frames < 0)
    fail("video", "warm_steps must be >= 1; personalize_frames, the sigmas and max_frames >= 0");
  std::error_code ec;
  if (fs::weakly_canonical(input, ec) == fs::weakly_canonical(output, ec)) fail(output.string(), "is the input video; choose another output");
  VideoResult result;
  result.input = io::VideoReader(input).info();  // fails early on a file that is not a video
  const int frames_wanted = p.max_frames > 0 ? p.max_frames : std::numeric_limits<int>::max();

  // Editors and the guide open (and fail on a bad spec) before any slow work.
  PhotoParams pp = p.photo;
  pp.cache_dir.clear();
  const bool image_edit = is_l2mgan_edit(edits);
  std::unique_ptr<PhotoSession> session;
  std::shared_ptr<L2MGanPhotoEditor> image_editor;
  std::vector<PhotoEdit> opened = edits;
  models::LatentSpace space = models::LatentSpace::Z;
  if (image_edit) {
    image_editor = std::make_shared<L2MGanPhotoEditor>(edits, pp, g->device());
  } else {
    session = std::make_unique<PhotoSession>(g, model_name, pp);
    session->open(opened);
    space = session->space_of(opened);
  }

  Work work;
  if (p.work_dir.empty()) {
    work.dir = fs::temp_directory_path() / ("faceedit-video-" + std::to_string(::getpid()));
    work.temporary = true;
  } else {
    work.dir = p.work_dir / (image_edit ? image_editor_video_work_key(input, kL2MGanMethod, p) : video_work_key(input, model_name, *g, p, space));
  }
  fs::create_directories(work.dir);
  log_line("video: work directory " + work.dir.string());
  nlohmann::json timings;

  auto t0 = Clock::now();
  const int expected = result.input.frames > 0 ? std::min(frames_wanted, result.input.frames) : 0;  // for progress only
  const face::FaceTrack track = track_faces(input, work, p, frames_wanted, expected, cb);
  timings["track"] = seconds_since(t0);
  result.faces = track.faces_found();
  if (result.faces == 0) fail(input.string(), "no face found in any of its " + std::to_string(track.frames()) + " frames");
  if (result.faces < track.frames())
    log_line(log_text("video: ", track.frames() - result.faces, " of ", track.frames(), " frames have no face; they pass through unchanged"));

  ClipEdit clip = image_edit ? image_clip(input, work, track, image_editor, edits, g->device(), p, cb, timings)
                              : latent_clip(input, work, track, g, model_name, *session, opened, space, pp, p, cb, timings);
  render_clip(input, output, track, clip, p, result, timings, cb, on_frame);

  auto& s = result.summary;
  if (!image_edit) s["inversion"] = clip.inversion;
  s["personalization"] = clip.personalization;
  timings["total"] = seconds_since(t_start);
  timings["per_frame"] = timings["total"].get<double>() / std::max(1, result.frames);
  s["seconds"] = timings;
  s["faces_found"] = result.faces;
  s["frames"] = result.frames;
  return result;
}

}  // namespace faceedit::pipeline
