// faceedit — a video edit measured (what `faceedit video` reports): the judges on every frame,
// STIT's temporal identity (TL-ID: adjacent frames, TG-ID: all pairs, each the edited video's mean
// cosine divided by the source's), flicker (frame-to-frame change inside the mask on the stabilised
// crops, edited / source), the share of frames where the attribute judge sees the first edit, and
// the background change outside the crops' quads after decoding, beside the codec's own round-trip
// noise (the unedited frames encoded the same way).
//
//   auto r = eval::edit_and_measure_video("clip.mp4", "out.mp4", g, "dcgan-celeba32", {smile}, params);
//   r.summary["tl_id"], r.summary["flicker_ratio"], r.per_frame[t]["judge"]["smiling"] (before, after)
//
// The pipeline (pipeline/video.h) renders; VideoMeasurer watches each frame it writes.
#pragma once

#include <filesystem>
#include <memory>

#include "faceedit/models/judges.h"
#include "faceedit/pipeline/video.h"

namespace faceedit::eval {

class VideoMeasurer {
 public:
  // `input` is the video being edited (its size and frame rate for the codec's round trip).
  VideoMeasurer(models::JudgePanel& judges, torch::Device device, const std::filesystem::path& input);
  ~VideoMeasurer();
  // Each frame as edit_video() writes it (its FrameCallback): judges it, adds to its report.
  void add(const pipeline::RenderedFrame& frame);
  // After edit_video() returned `result`: the clip's measurements into result.summary (and each
  // frame's identity to the first edited face into result.per_frame).
  void finish(pipeline::VideoResult& result);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// pipeline::edit_video() measured by a VideoMeasurer with the default judge panel (`measure` false:
// the pipeline alone).
pipeline::VideoResult edit_and_measure_video(const std::filesystem::path& input, const std::filesystem::path& output,
                                             std::shared_ptr<models::Generator> g, const std::string& model_name,
                                             const std::vector<pipeline::PhotoEdit>& edits, const pipeline::VideoParams& params,
                                             bool measure = true, pipeline::VideoStageCallback on_stage = {});

}  // namespace faceedit::eval
