// Video editing (pipeline/video.h, video_track.h, io/video.h) on a short synthetic clip made here: a
// real photo moved by small known affine motions, with one frame that has no face.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/io/video.h"
#include "faceedit/models/model_files.h"
#include "faceedit/pipeline/photo_l2mgan.h"
#include "faceedit/pipeline/video.h"
#include "test_support.h"

namespace faceedit {
namespace {

namespace fs = std::filesystem;

TEST(SmoothSeries, ClosedForms) {
  // A constant stays constant, a straight line stays straight inside a run (the kernel is symmetric),
  // and a gap separates runs: the value after it is not pulled by the values before.
  std::vector<std::optional<cv::Vec2d>> s;
  for (int t = 0; t < 20; ++t) s.push_back(cv::Vec2d(3.0 * t, 5.0));
  s[10].reset();
  for (int t = 11; t < 20; ++t) s[t] = cv::Vec2d(1000.0 + t, 5.0);
  const auto out = face::smooth_series(s, 1.0);  // kernel radius 3 frames
  EXPECT_FALSE(out[10].has_value());
  for (int t = 0; t < 20; ++t) {
    if (!out[t]) continue;
    EXPECT_NEAR((*out[t])[1], 5.0, 1e-9);
  }
  for (int t = 3; t <= 6; ++t) EXPECT_NEAR((*out[t])[0], 3.0 * t, 1e-9) << t;  // whole kernel inside the run
  EXPECT_GT((*out[0])[0], 0.0);  // at the run's start the kernel is one-sided: pulled inwards
  EXPECT_GT((*out[11])[0], 1000.0);       // only the run after the gap
  EXPECT_LT((*out[9])[0], 30.0);
  EXPECT_EQ(face::smooth_series(s, 0)[3], s[3]);
}

// The photo moved by frame t's affine motion (rotation about the centre, then a shift), size x size.
cv::Matx23d motion(int t, int size) {
  const double angle = 2.0 * std::sin(t * 0.7), dx = 6.0 * std::sin(t * 0.45), dy = 4.0 * std::cos(t * 0.6);
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(size / 2.0f, size / 2.0f), angle, 1.0);
  m.at<double>(0, 2) += dx;
  m.at<double>(1, 2) += dy;
  return cv::Matx23d(m);
}

class VideoClip : public ::testing::Test {
 protected:
  static constexpr int kFrames = 10, kSize = 320, kBlank = 6;
  void SetUp() override {
    FACEEDIT_REQUIRE_LANDMARK_MODEL();
    FACEEDIT_REQUIRE_SHARED(photo_path, "data/celebahq-photos/000004.jpg");
    cv::Mat photo;
    cv::resize(io::read_image(photo_path), photo, cv::Size(kSize, kSize), 0, 0, cv::INTER_AREA);
    for (int t = 0; t < kFrames; ++t) {
      cv::Mat f;
      cv::warpAffine(photo, f, cv::Mat(motion(t, kSize)), photo.size(), cv::INTER_CUBIC, cv::BORDER_REFLECT);
      if (t == kBlank) f = cv::Mat(photo.size(), photo.type(), cv::Scalar(90, 120, 150));  // no face here
      frames.push_back(f);
    }
  }
  fs::path write_clip(const std::string& name) {
    const auto path = test::temp_dir() / name;
    io::VideoWriter w(path, frames[0].size(), 12.0);
    for (const auto& f : frames) w.write(f);
    w.finish();
    return path;
  }
  std::vector<cv::Mat> frames;
};

// Jitter: the spread of the quads' centres and axes mapped back through the known motions (a
// perfect tracker maps every frame's quad onto the same one).
double quad_jitter(const face::FaceTrack& track) {
  std::vector<cv::Vec4d> back;
  for (int t = 0; t < track.frames(); ++t) {
    if (!track.quads[t]) continue;
    const auto inv = face::invert_affine(motion(t, 320));
    const auto& q = track.quads[t]->corners;
    const auto map = [&](const cv::Point2d& p) { return cv::Point2d(inv(0, 0) * p.x + inv(0, 1) * p.y + inv(0, 2), inv(1, 0) * p.x + inv(1, 1) * p.y + inv(1, 2)); };
    const auto c = map((q[0] + q[2]) * 0.5), x = map(q[3]) - map(q[0]);
    back.emplace_back(c.x, c.y, x.x, x.y);
  }
  cv::Vec4d mean(0, 0, 0, 0);
  for (const auto& b : back) mean += b;
  mean /= double(back.size());
  double ss = 0;
  for (const auto& b : back) ss += cv::norm(b - mean, cv::NORM_L2SQR);
  return std::sqrt(ss / back.size());
}

TEST_F(VideoClip, SmoothingReducesLandmarkJitter) {
  const auto& detector = test::face_detector();
  face::TrackParams raw;
  raw.optical_flow = false;
  raw.landmark_sigma = raw.quad_sigma = 0;
  face::FaceTracker a(detector, raw), b(detector, face::TrackParams{});
  for (const auto& f : frames) a.add(f), b.add(f);
  const auto ta = a.finish(), tb = b.finish();
  EXPECT_EQ(ta.faces_found(), kFrames - 1);
  EXPECT_FALSE(tb.quads[kBlank].has_value());
  const double j_raw = quad_jitter(ta), j_smooth = quad_jitter(tb);
  std::cout << "quad jitter (px): raw " << j_raw << ", flow + smoothing " << j_smooth << "\n";
  EXPECT_LT(j_smooth, j_raw);
  // The track survives a JSON round trip (what an interrupted run resumes from).
  const auto again = face::FaceTrack::from_json(tb.to_json(), face::TrackParams{});
  ASSERT_EQ(again.frames(), tb.frames());
  EXPECT_NEAR(again.quads[0]->corners[0].x, tb.quads[0]->corners[0].x, 1e-3);
}

class VideoEdit : public VideoClip {
 protected:
  void SetUp() override {
    VideoClip::SetUp();
    if (IsSkipped()) return;
    FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
    model = test::converted("models/dcgan-celeba32/generator.pt");
    boundary = (test::temp_dir() / "video_smiling.safetensors").string();
    edit::save_boundary(edit::random_boundary(100, models::LatentSpace::Z, "smiling", 7), boundary);
    params.photo.crop = 128;
    params.photo.inversion_steps = 8;
    params.photo.starts = 1;
    params.photo.guide = "none";
    params.photo.segmenter = "none";
    params.warm_steps = 3;
  }
  pipeline::PhotoEdit smile() const {
    pipeline::PhotoEdit e;
    e.editor.method = "interfacegan";
    e.editor.boundary = boundary;
    e.strength = 3.0;
    return e;
  }
  std::string model, boundary;
  pipeline::VideoParams params;
};

double mean_abs(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  return cv::sum(cv::mean(d))[0] / 3.0;
}

TEST_F(VideoEdit, KeepsFramesSizeAndRateAndPassesFacelessFramesThrough) {
  const auto clip = write_clip("clip.mp4");
  const auto out = test::temp_dir() / "edited.mp4";
  params.work_dir = test::temp_dir() / "video-work";
  const auto r = pipeline::edit_video(clip, out, models::load_generator(model), model, {smile()}, params);
  EXPECT_EQ(r.frames, kFrames);
  EXPECT_EQ(r.faces, kFrames - 1);
  io::VideoReader edited(out), source(clip);
  EXPECT_EQ(edited.info().width, kSize);
  EXPECT_EQ(edited.info().height, kSize);
  EXPECT_NEAR(edited.info().fps, 12.0, 1e-6);
  EXPECT_TRUE(fs::exists(pipeline::side_by_side_path(out)));
  EXPECT_EQ(io::VideoReader(pipeline::side_by_side_path(out)).info().width, 2 * kSize);
  cv::Mat e, s;
  int n = 0;
  while (edited.read(e) && source.read(s)) {
    // A flat frame re-encoded by H.264 (yuv420p) moves by about one level: the codec's noise.
    std::cout << "frame " << n << ": mean |edited - source| " << mean_abs(e, s) << "\n";
    if (n == kBlank) EXPECT_LT(mean_abs(e, s), 1.5) << "the face-less frame changed beyond the codec's noise";
    else EXPECT_GT(mean_abs(e, s), 2.0) << "frame " << n << " was not edited";
    ++n;
  }
  EXPECT_EQ(n, kFrames);
  // Every frame's report, and the no-face frame says so.
  ASSERT_EQ(r.per_frame.size(), size_t(kFrames));
  EXPECT_FALSE(r.per_frame[kBlank]["face"].get<bool>());
}

TEST_F(VideoEdit, BadInputIsAClearError) {
  const auto not_video = test::temp_dir() / "not_a_video.mp4";
  std::ofstream(not_video) << "this is text, not a video";
  const std::shared_ptr<models::Generator> g = models::load_generator(model);
  EXPECT_NE(test::error_of([&] { pipeline::edit_video(not_video, test::temp_dir() / "x.mp4", g, model, {smile()}, params); })
                .find("not_a_video.mp4"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { pipeline::edit_video(test::temp_dir() / "absent.mp4", test::temp_dir() / "x.mp4", g, model, {smile()}, params); })
                .find("no such file"),
            std::string::npos);
  // A clip without a face anywhere.
  for (auto& f : frames) f = cv::Mat(f.size(), f.type(), cv::Scalar(40, 80, 120));
  const auto blank = write_clip("blank.mp4");
  EXPECT_NE(test::error_of([&] { pipeline::edit_video(blank, test::temp_dir() / "x.mp4", g, model, {smile()}, params); }).find("no face found"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(test::temp_dir() / "x.mp4"));
}

// L2M-GAN edits the frames' crops (no inversion). With tracking reduced to per-frame detection (no
// flow, no smoothing over time) every frame is the photo pipeline's edit of that decoded frame, but
// for the work directory's 8-bit masks: encoded the same way, the two videos differ by well under
// the codec's own noise (measured 0.46-0.88 levels; the codec's noise ~1.5, the edit ~3.8; a wrong
// framing or strength differs by the edit's size). A second run reuses the stored edits: same bytes.
TEST_F(VideoEdit, L2MGanFramesAreThePhotoEditOfEachFrame) {
  const auto clip = write_clip("clip_l2mgan.mp4");
  params.track.optical_flow = false;
  params.track.landmark_sigma = params.track.quad_sigma = 0;
  params.mask_sigma = params.latent_sigma = 0;
  params.work_dir = test::temp_dir() / "video-work-l2mgan";
  pipeline::PhotoEdit smile;
  smile.editor.method = pipeline::kL2MGanMethod;
  smile.editor.attribute = "smiling";
  smile.strength = 2.0;
  const std::shared_ptr<models::Generator> g = models::load_generator(model);  // L2M-GAN uses only its device
  const auto out = test::temp_dir() / "l2mgan.mp4";
  const auto r = pipeline::edit_video(clip, out, g, model, {smile}, params);
  ASSERT_EQ(r.frames, kFrames);
  EXPECT_EQ(r.summary["edits"][0]["method"], "l2m-gan");
  EXPECT_FALSE(r.summary.contains("inversion"));
  // The reference: the photo pipeline's edit of every decoded frame, encoded the same way.
  pipeline::L2MGanPhotoEditor photo_editor({smile}, params.photo, torch::kCPU);
  const auto reference = test::temp_dir() / "l2mgan_reference.mp4";
  std::vector<double> change;
  {
    io::VideoReader source(clip);
    io::VideoWriter w(reference, cv::Size(kSize, kSize), 12.0);
    cv::Mat s;
    for (int t = 0; source.read(s); ++t) {
      const cv::Mat expected = t == kBlank ? s : photo_editor.edit(s, "frame " + std::to_string(t)).photo;
      change.push_back(mean_abs(expected, s));
      w.write(expected);
    }
    w.finish();
  }
  io::VideoReader ref(reference), edited(out);
  cv::Mat a, b;
  for (int t = 0; t < kFrames && ref.read(a) && edited.read(b); ++t) {
    const double differ = mean_abs(a, b);
    std::cout << "frame " << t << ": mean |photo edit - source| " << change[t] << ", |video - photo edits' video| " << differ << "\n";
    if (t != kBlank) EXPECT_GT(change[t], 2.0) << "frame " << t << ": the photo edit changed little";
    EXPECT_LT(differ, 1.0) << "frame " << t << ": the video's frame is not the photo pipeline's edit";
  }
  const auto again = test::temp_dir() / "l2mgan_again.mp4";
  pipeline::edit_video(clip, again, g, model, {smile}, params);
  std::ifstream first(out, std::ios::binary), second(again, std::ios::binary);
  EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(first), {}, std::istreambuf_iterator<char>(second))) << "the rerun's video differs";
}

#ifdef FACEEDIT_CLI
std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int count_frames_done(const fs::path& work) {
  int n = 0;
  std::error_code ec;
  for (const auto& d : fs::recursive_directory_iterator(work, ec))
    n += d.path().filename().string().rfind("frame_", 0) == 0 && d.path().extension() == ".safetensors";
  return n;
}

TEST_F(VideoEdit, ResumesAfterKillMinus9WithIdenticalOutput) {
  const auto clip = write_clip("clip_resume.mp4");
  const auto dir = test::temp_dir();
  const std::string common = std::string(FACEEDIT_CLI) + " video " + clip.string() + " --model " + model +
                             " --method interfacegan --boundary " + boundary +
                             " --strength 3 --crop 128 --inversion-steps 200 --starts 1 --warm-steps 40 --guide none --segmenter none"
                             " --no-measure --no-side-by-side";
  // Uninterrupted.
  ASSERT_EQ(test::run_command(common + " --work-dir " + (dir / "work_a").string() + " -o " + (dir / "a.mp4").string() + " >/dev/null 2>&1"), 0);
  // Killed (SIGKILL: nothing gets to clean up) once a few frames are done, then run again.
  const auto work_b = dir / "work_b";
  ASSERT_EQ(test::run_command(common + " --work-dir " + work_b.string() + " -o " + (dir / "b.mp4").string() +
                              " >/dev/null 2>&1 & echo $! > " + (dir / "pid").string()),
            0);
  const auto start = std::chrono::steady_clock::now();
  while (count_frames_done(work_b) < 3 && std::chrono::steady_clock::now() - start < std::chrono::seconds(240))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GE(count_frames_done(work_b), 3) << "the run made no progress";
  test::run_command("kill -9 $(cat " + (dir / "pid").string() + ")");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int done_before = count_frames_done(work_b);
  EXPECT_LT(done_before, kFrames - 1) << "killed too late to test resuming";
  EXPECT_FALSE(fs::exists(dir / "b.mp4")) << "an output appeared before the run finished";
  ASSERT_EQ(test::run_command(common + " --work-dir " + work_b.string() + " -o " + (dir / "b.mp4").string() + " >" +
                              (dir / "b.out").string() + " 2>" + (dir / "b.err").string()),
            0);
  const std::string log = read_bytes(dir / "b.err");
  EXPECT_EQ(read_bytes(dir / "a.mp4"), read_bytes(dir / "b.mp4")) << "the resumed output differs from an uninterrupted run";
  std::cout << "resumed after " << done_before << " of " << kFrames - 1 << " inverted frames\n";
}
#endif

}  // namespace
}  // namespace faceedit
