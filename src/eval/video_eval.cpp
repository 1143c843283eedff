#include "faceedit/eval/video_eval.h"

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <unistd.h>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/io/video.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/face/align.h"

namespace faceedit::eval {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double cosine(const torch::Tensor& a, const torch::Tensor& b) { return (a * b).sum().item<double>() / (a.norm() * b.norm()).item<double>(); }

// Mean cosine of the embeddings' pairs: adjacent frames only (a gap breaks the chain), or all pairs.
double mean_pair_cosine(const std::vector<torch::Tensor>& e, bool adjacent_only) {
  double sum = 0;
  int n = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    if (!e[i].defined()) continue;
    for (size_t j = i + 1; j < e.size(); ++j) {
      if (!e[j].defined()) {
        if (adjacent_only) break;
        continue;
      }
      sum += cosine(e[i], e[j]);
      ++n;
      if (adjacent_only) break;
    }
  }
  return n ? sum / n : 1.0;
}

// The pixels a face's crop can change (its quad, 2 px more for the warp's interpolation): 255.
cv::Mat quad_support(cv::Size size, const face::AlignmentQuad& quad) {
  cv::Mat m = cv::Mat::zeros(size, CV_8U);
  std::vector<cv::Point> pts;
  for (const auto& c : quad.corners) pts.emplace_back(cvRound(c.x), cvRound(c.y));
  cv::fillConvexPoly(m, pts, cv::Scalar(255));
  cv::dilate(m, m, cv::Mat(), {-1, -1}, 2);
  return m;
}

// Mean |a - b| over the pixels outside `keep_out` (8-bit mask, 255 = excluded), in /255.
double mean_abs_outside(const cv::Mat& a, const cv::Mat& b, const cv::Mat& keep_out) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  const auto m = cv::mean(diff, ~keep_out);
  return (m[0] + m[1] + m[2]) / (3.0 * 255.0);
}

}  // namespace

struct VideoMeasurer::State {
  models::JudgePanel& judges;
  torch::Device device;
  fs::path input, passthrough;
  io::VideoInfo info;
  std::unique_ptr<io::VideoWriter> pass;  // the unedited frames encoded the same way: the codec's noise
  std::vector<torch::Tensor> source_id, edited_id;  // identity embeddings of the FFHQ crops (undefined: no face)
  std::vector<std::optional<face::AlignmentQuad>> quads;
  std::vector<pipeline::AppliedEdit> applied;
  cv::Mat prev_source, prev_blend;
  int prev_t = -2, flicker_pairs = 0, seen = 0, judged = 0;
  double flicker_edited = 0, flicker_source = 0, seconds = 0;
  State(models::JudgePanel& j, torch::Device d) : judges(j), device(d) {}
};

VideoMeasurer::VideoMeasurer(models::JudgePanel& judges, torch::Device device, const fs::path& input)
    : s_(std::make_unique<State>(judges, device)) {
  s_->input = input;
  s_->info = io::VideoReader(input).info();
  s_->passthrough = fs::temp_directory_path() / ("faceedit-passthrough-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(reinterpret_cast<uintptr_t>(this)) + ".mp4");
  judges.attributes->to(device);
  judges.identity->to(device);
}

VideoMeasurer::~VideoMeasurer() {
  std::error_code ec;
  s_->pass.reset();
  fs::remove(s_->passthrough, ec);
}

void VideoMeasurer::add(const pipeline::RenderedFrame& f) {
  const auto t0 = Clock::now();
  auto& s = *s_;
  if (!s.pass) s.pass = std::make_unique<io::VideoWriter>(s.passthrough, f.source->size(), s.info.fps);
  s.pass->write(*f.source);
  const int t = f.index;
  if (static_cast<int>(s.quads.size()) <= t) {
    s.quads.resize(t + 1);
    s.source_id.resize(t + 1);
    s.edited_id.resize(t + 1);
  }
  if (!f.ffhq) {
    s.seconds += seconds_since(t0);
    return;
  }
  torch::NoGradGuard no_grad;
  s.quads[t] = f.crop_quad;
  s.applied = *f.applied;
  auto& fj = *f.report;
  if (s.prev_t == t - 1) {  // flicker: frame-to-frame change inside the mask, on the stabilised crops
    const cv::Mat inside = *f.mask > 0.5f;
    cv::Mat d;
    cv::absdiff(*f.blended_crop, s.prev_blend, d);
    const auto e = cv::mean(d, inside);
    cv::absdiff(*f.source_crop, s.prev_source, d);
    const auto o = cv::mean(d, inside);
    s.flicker_edited += (e[0] + e[1] + e[2]) / 3;
    s.flicker_source += (o[0] + o[1] + o[2]) / 3;
    ++s.flicker_pairs;
  }
  s.prev_blend = f.blended_crop->clone(), s.prev_source = f.source_crop->clone(), s.prev_t = t;
  const cv::Mat src = face::align_face(*f.source, *f.ffhq, 256).crop, out = face::align_face(*f.edited, *f.ffhq, 256).crop;
  const auto batch = torch::cat({io::image_to_tensor(src), io::image_to_tensor(out)}).to(s.device);
  const auto jp = s.judges.attributes->predict(batch);
  for (size_t k = 0; k < f.applied->size(); ++k) {
    const auto& a = (*f.applied)[k];
    if (!s.judges.attributes->has_column(a.attribute)) continue;
    const int64_t c = s.judges.attributes->column(a.attribute);
    const double before = jp[0][c].item<double>(), after = jp[1][c].item<double>();
    fj["judge"][a.attribute] = {before, after};
    if (k == 0) {
      ++s.judged;
      s.seen += a.strength > 0 ? after > 0.5 : after < 0.5;
    }
  }
  const auto e = s.judges.identity->embed(batch);
  s.source_id[t] = e[0].cpu();
  s.edited_id[t] = e[1].cpu();
  fj["identity_to_source"] = cosine(e[0], e[1]);
  fj["seconds_measure"] = seconds_since(t0);
  s.seconds += seconds_since(t0);
}

void VideoMeasurer::finish(pipeline::VideoResult& result) {
  const auto t0 = Clock::now();
  auto& s = *s_;
  auto& sum = result.summary;
  if (!s.pass) fail("video measurement", "no frame was seen");
  s.pass->finish();
  torch::Tensor anchor;  // the first edited face: identity drift is measured against it
  for (size_t t = 0; t < s.edited_id.size() && t < result.per_frame.size(); ++t)
    if (s.edited_id[t].defined()) {
      if (!anchor.defined()) anchor = s.edited_id[t];
      result.per_frame[t]["identity_to_first"] = cosine(s.edited_id[t], anchor);
    }
  const double tl_src = mean_pair_cosine(s.source_id, true), tl_out = mean_pair_cosine(s.edited_id, true);
  const double tg_src = mean_pair_cosine(s.source_id, false), tg_out = mean_pair_cosine(s.edited_id, false);
  sum["tl_id"] = tl_out / tl_src;
  sum["tg_id"] = tg_out / tg_src;
  sum["identity_cosines"] = {{"tl_source", tl_src}, {"tl_edited", tl_out}, {"tg_source", tg_src}, {"tg_edited", tg_out}};
  sum["flicker_ratio"] = s.flicker_source > 0 ? s.flicker_edited / s.flicker_source : 1.0;
  sum["flicker"] = {{"source", s.flicker_pairs ? s.flicker_source / s.flicker_pairs : 0.0},
                    {"edited", s.flicker_pairs ? s.flicker_edited / s.flicker_pairs : 0.0}};
  sum["target_change"] = s.judged ? double(s.seen) / s.judged : 0.0;
  sum["judge"] = s.judges.attributes->name();
  sum["identity_judge"] = s.judges.identity->name();
  // Background: outside the quads, the decoded output against the input, beside the passthrough's.
  io::VideoReader src(s.input), out(result.outputs.at(0)), pass(s.passthrough);
  cv::Mat a, b, c;
  double edited = 0, codec = 0;
  int n = 0;
  for (int t = 0; t < result.frames && src.read(a) && out.read(b) && pass.read(c); ++t) {
    const cv::Mat support = t < static_cast<int>(s.quads.size()) && s.quads[t] ? quad_support(a.size(), *s.quads[t]) : cv::Mat::zeros(a.size(), CV_8U);
    edited += mean_abs_outside(b, a, support);
    codec += mean_abs_outside(c, a, support);
    ++n;
  }
  sum.update({{"background_mean_abs", n ? edited / n : 0.0}, {"codec_mean_abs", n ? codec / n : 0.0},
              {"background_beyond_codec", n ? (edited - codec) / n : 0.0}, {"frames_compared", n}});
  const double finishing = seconds_since(t0);
  auto& sec = sum["seconds"];
  sec["measure"] = s.seconds + finishing;
  if (sec.contains("total")) {
    sec["total"] = sec["total"].get<double>() + finishing;
    sec["per_frame"] = sec["total"].get<double>() / std::max(1, result.frames);
  }
}

pipeline::VideoResult edit_and_measure_video(const fs::path& input, const fs::path& output, std::shared_ptr<models::Generator> g,
                                             const std::string& model_name, const std::vector<pipeline::PhotoEdit>& edits,
                                             const pipeline::VideoParams& params, bool measure, pipeline::VideoStageCallback on_stage) {
  if (!measure) return pipeline::edit_video(input, output, g, model_name, edits, params, std::move(on_stage));
  if (!g) fail("video", "needs a generator");
  (void)io::VideoReader(input).info();  // a file that is not a video fails here, before the judges load
  auto judges = models::open_judge_panel();
  VideoMeasurer measurer(judges, g->device(), input);
  auto result = pipeline::edit_video(input, output, g, model_name, edits, params, std::move(on_stage),
                                     [&](const pipeline::RenderedFrame& f) { measurer.add(f); });
  measurer.finish(result);
  return result;
}

}  // namespace faceedit::eval
