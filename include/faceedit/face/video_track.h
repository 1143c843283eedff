// faceedit — one face followed through a video, aligned without jitter.
//
// Per-frame detection + 68 landmarks jitter by a pixel or two even on a still face, and an FFHQ
// crop amplifies that into a shaking face (the Latent Transformer's and STIT's video pipelines both
// stabilise it). FaceTracker does it in three steps:
//   1. detect    dlib's 68 landmarks per frame (the face nearest the previous one when several);
//   2. flow      each landmark also tracked from the previous frame with OpenCV's pyramidal
//                Lucas-Kanade; where flow and detection agree (within flow_tolerance of the eye
//                distance) the flow's point wins, smoothly handing over to the detection as they
//                disagree (a real, fast motion the flow missed, or a flow failure);
//   3. smooth    landmark trajectories Gaussian-smoothed over time (landmark_sigma frames), and the
//                FFHQ quads made from them smoothed again in centre and axes (quad_sigma), each
//                within a run of consecutive frames with a face (a cut or a lost face is not blurred
//                across). The kernels are centred: nothing is delayed.
//
//   face::FaceTracker tracker(detector, {});
//   for (frame : video) tracker.add(frame);
//   face::FaceTrack track = tracker.finish();      // quads[t]: nullopt where no face
//
// Thread-safety: a FaceTracker is used by one thread; the free functions are pure.
#pragma once

#include <opencv2/core.hpp>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "faceedit/face/align.h"

namespace faceedit::face {

struct TrackParams {
  bool optical_flow = true;      // refine detections with Lucas-Kanade flow from the previous frame
  double flow_tolerance = 0.05;  // flow/detection disagreement (fraction of the eye distance) where they weigh equally
  double landmark_sigma = 1.5;   // Gaussian over time, frames (0: raw landmarks)
  double quad_sigma = 2.0;       // Gaussian over time on the quads' centre and axes, frames (0: none)
};

struct FaceTrack {
  std::vector<std::optional<Landmarks>> landmarks;  // per frame, after detection and flow (not smoothed)
  std::vector<std::optional<Landmarks>> smoothed;   // after landmark smoothing
  std::vector<std::optional<AlignmentQuad>> quads;  // FFHQ quads of the smoothed landmarks, smoothed
  int frames() const { return static_cast<int>(landmarks.size()); }
  int faces_found() const;
  nlohmann::json to_json() const;  // the landmarks (smoothing is redone from them: see smooth_track)
  static FaceTrack from_json(const nlohmann::json& j, const TrackParams& params);
};

class FaceTracker {
 public:
  FaceTracker(const FaceDetector& detector, TrackParams params);
  // Detects the face in the next frame (8-bit BGR) and refines it with the flow from the previous one.
  void add(const cv::Mat& frame);
  FaceTrack finish() const;  // smoothing over all frames added
  // Continues an interrupted track: the landmarks found so far and the last frame they came from.
  void resume(std::vector<std::optional<Landmarks>> done, const cv::Mat& last_frame);
  const std::vector<std::optional<Landmarks>>& landmarks() const { return landmarks_; }
  int frames() const { return static_cast<int>(landmarks_.size()); }

 private:
  const FaceDetector& detector_;
  TrackParams p_;
  std::vector<std::optional<Landmarks>> landmarks_;
  cv::Mat previous_grey_;
};

// Refined landmarks -> smoothed landmarks and quads (the 'smooth' step above).
FaceTrack smooth_track(std::vector<std::optional<Landmarks>> landmarks, const TrackParams& params);

// The one temporal kernel of the video pipeline (landmarks, quads, edit offsets, masks): the frames
// around t within its run (present(u) true for every frame between; the first gap either way ends
// it), each with its Gaussian weight exp(-k^2 / 2 sigma^2) for |u - t| = k <= ceil(3 sigma), the
// weights summing to 1. sigma <= 0: frame t alone.
std::vector<std::pair<int, double>> temporal_weights(int t, int frames, double sigma, const std::function<bool(int)>& present);

// Gaussian smoothing over time of per-frame values (nullopt: a gap, which separates runs); each
// point's kernel is renormalised where it runs past a run's ends.
std::vector<std::optional<cv::Vec2d>> smooth_series(const std::vector<std::optional<cv::Vec2d>>& series, double sigma);

}  // namespace faceedit::face
