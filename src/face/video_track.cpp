#include "faceedit/face/video_track.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <cmath>

#include "faceedit/error.h"

namespace faceedit::face {

namespace {

cv::Point2d mean_point(const Landmarks& lm) {
  cv::Point2d m(0, 0);
  for (const auto& p : lm) m += cv::Point2d(p.x, p.y);
  return m / double(lm.size());
}

double eye_distance(const Landmarks& lm) {
  cv::Point2d l(0, 0), r(0, 0);
  for (int i = 36; i < 42; ++i) l += cv::Point2d(lm[i].x, lm[i].y);
  for (int i = 42; i < 48; ++i) r += cv::Point2d(lm[i].x, lm[i].y);
  const auto d = (r - l) / 6.0;
  return std::hypot(d.x, d.y);
}

cv::Mat grey_of(const cv::Mat& frame) {
  cv::Mat grey;
  if (frame.channels() == 1) return frame;
  cv::cvtColor(frame, grey, frame.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  return grey;
}

// The quad as centre and half-axis x (y is x turned 90 degrees, as ffhq_quad makes it).
cv::Vec2d quad_centre(const AlignmentQuad& q) {
  cv::Point2d c(0, 0);
  for (const auto& p : q.corners) c += p;
  c *= 0.25;
  return {c.x, c.y};
}
cv::Vec2d quad_axis(const AlignmentQuad& q) {
  const auto x = (q.corners[3] - q.corners[0]) * 0.5;
  return {x.x, x.y};
}
AlignmentQuad quad_of(const cv::Vec2d& centre, const cv::Vec2d& axis) {
  const cv::Point2d c(centre[0], centre[1]), x(axis[0], axis[1]), y(-axis[1], axis[0]);
  return AlignmentQuad{{c - x - y, c - x + y, c + x + y, c + x - y}};
}

}  // namespace

int FaceTrack::faces_found() const {
  int n = 0;
  for (const auto& l : landmarks) n += l.has_value();
  return n;
}

nlohmann::json FaceTrack::to_json() const {
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& l : landmarks) {
    if (!l) {
      frames.push_back(nullptr);
      continue;
    }
    nlohmann::json pts = nlohmann::json::array();
    for (const auto& p : *l) pts.push_back({p.x, p.y});
    frames.push_back(pts);
  }
  return {{"landmarks", frames}};
}

FaceTrack FaceTrack::from_json(const nlohmann::json& j, const TrackParams& params) {
  std::vector<std::optional<Landmarks>> lms;
  for (const auto& f : j.at("landmarks")) {
    if (f.is_null()) {
      lms.emplace_back();
      continue;
    }
    if (f.size() != 68) fail("face track", "a frame with " + std::to_string(f.size()) + " landmarks (68 expected)");
    Landmarks l;
    for (size_t i = 0; i < l.size(); ++i) l[i] = {f.at(i).at(0).get<float>(), f.at(i).at(1).get<float>()};
    lms.push_back(l);
  }
  return smooth_track(std::move(lms), params);
}

FaceTracker::FaceTracker(const FaceDetector& detector, TrackParams params) : detector_(detector), p_(params) {
  if (!(p_.flow_tolerance > 0) || p_.landmark_sigma < 0 || p_.quad_sigma < 0 || p_.landmark_sigma > 100 || p_.quad_sigma > 100)
    fail("face tracking", "flow_tolerance must be > 0 and the sigmas in [0, 100] frames");
}

void FaceTracker::add(const cv::Mat& frame) {
  const auto faces = detector_.detect(frame);
  const std::optional<Landmarks>& previous = landmarks_.empty() ? std::nullopt : landmarks_.back();
  std::optional<Landmarks> found;
  if (!faces.empty()) {
    size_t best = 0;  // the largest face, or the one nearest the face of the previous frame
    if (previous) {
      const auto c = mean_point(*previous);
      double nearest = 1e300;
      for (size_t i = 0; i < faces.size(); ++i) {
        const auto d = mean_point(faces[i].landmarks) - c;
        if (std::hypot(d.x, d.y) < nearest) nearest = std::hypot(d.x, d.y), best = i;
      }
    }
    found = faces[best].landmarks;
  }
  const cv::Mat grey = grey_of(frame);
  if (found && previous && p_.optical_flow && !previous_grey_.empty() && previous_grey_.size() == grey.size()) {
    std::vector<cv::Point2f> from(previous->begin(), previous->end()), to;
    std::vector<uchar> status;
    std::vector<float> err;
    cv::calcOpticalFlowPyrLK(previous_grey_, grey, from, to, status, err, cv::Size(21, 21), 3);
    // Weight of the flow's point: 1 where it matches the detection, 1/2 at flow_tolerance eye
    // distances apart, towards 0 beyond (then the detection saw a motion the flow did not).
    const double scale = p_.flow_tolerance * std::max(1.0, eye_distance(*found));
    for (size_t i = 0; i < found->size(); ++i) {
      if (!status[i]) continue;
      const cv::Point2d d(to[i].x - (*found)[i].x, to[i].y - (*found)[i].y);
      const double w = std::exp(-std::log(2.0) * (d.x * d.x + d.y * d.y) / (scale * scale));
      (*found)[i] = cv::Point2f(static_cast<float>(w * to[i].x + (1 - w) * (*found)[i].x),
                                static_cast<float>(w * to[i].y + (1 - w) * (*found)[i].y));
    }
  }
  previous_grey_ = grey.clone();
  landmarks_.push_back(found);
}

void FaceTracker::resume(std::vector<std::optional<Landmarks>> done, const cv::Mat& last_frame) {
  landmarks_ = std::move(done);
  previous_grey_ = landmarks_.empty() ? cv::Mat() : grey_of(last_frame).clone();
}

FaceTrack FaceTracker::finish() const { return smooth_track(landmarks_, p_); }

std::vector<std::pair<int, double>> temporal_weights(int t, int frames, double sigma, const std::function<bool(int)>& present) {
  if (sigma <= 0) return {{t, 1.0}};
  const int radius = static_cast<int>(std::ceil(3 * sigma));
  std::vector<std::pair<int, double>> w;
  double total = 0;
  for (int dir = -1; dir <= 1; dir += 2)
    for (int k = dir < 0 ? 0 : 1; k <= radius; ++k) {
      const int u = t + dir * k;
      if (u < 0 || u >= frames || !present(u)) break;
      w.emplace_back(u, std::exp(-0.5 * k * k / (sigma * sigma)));
      total += w.back().second;
    }
  for (auto& [u, weight] : w) weight /= total;
  return w;
}

std::vector<std::optional<cv::Vec2d>> smooth_series(const std::vector<std::optional<cv::Vec2d>>& series, double sigma) {
  const int n = static_cast<int>(series.size());
  std::vector<std::optional<cv::Vec2d>> out(series.size());
  for (int t = 0; t < n; ++t) {
    if (!series[t]) continue;
    cv::Vec2d sum(0, 0);
    for (const auto& [u, w] : temporal_weights(t, n, sigma, [&](int v) { return series[v].has_value(); })) sum += w * *series[u];
    out[t] = sum;
  }
  return out;
}

FaceTrack smooth_track(std::vector<std::optional<Landmarks>> landmarks, const TrackParams& params) {
  FaceTrack track;
  const size_t n = landmarks.size();
  track.smoothed = landmarks;
  for (size_t i = 0; i < 68; ++i) {
    std::vector<std::optional<cv::Vec2d>> s(n);
    for (size_t t = 0; t < n; ++t)
      if (landmarks[t]) s[t] = cv::Vec2d((*landmarks[t])[i].x, (*landmarks[t])[i].y);
    s = smooth_series(s, params.landmark_sigma);
    for (size_t t = 0; t < n; ++t)
      if (s[t]) (*track.smoothed[t])[i] = cv::Point2f(static_cast<float>((*s[t])[0]), static_cast<float>((*s[t])[1]));
  }
  std::vector<std::optional<cv::Vec2d>> centres(n), axes(n);
  for (size_t t = 0; t < n; ++t)
    if (track.smoothed[t]) {
      const auto q = ffhq_quad(*track.smoothed[t]);
      centres[t] = quad_centre(q);
      axes[t] = quad_axis(q);
    }
  centres = smooth_series(centres, params.quad_sigma);
  axes = smooth_series(axes, params.quad_sigma);
  track.quads.resize(n);
  for (size_t t = 0; t < n; ++t)
    if (centres[t]) track.quads[t] = quad_of(*centres[t], *axes[t]);
  track.landmarks = std::move(landmarks);
  return track;
}

}  // namespace faceedit::face
