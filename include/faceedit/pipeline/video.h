// faceedit — editing a face through a whole video, as one library call.
//
//   auto g = models::open_generator("dcgan-celeba32");
//   pipeline::VideoParams params;  params.work_dir = faceedit::cache_dir() / "videos";
//   pipeline::PhotoEdit smile;  smile.editor.method = "interfacegan";  smile.editor.attribute = "smiling";
//   auto r = pipeline::edit_video("clip.mp4", "clip_smiling.mp4", g, "dcgan-celeba32", {smile}, params);
//   // also clip_smiling.side-by-side.mp4 (original | edited) and r.to_json() (per frame, summary);
//   // eval::edit_and_measure_video() is the same call with the judges' measurements.
//
// Passes (each frame is read again per pass, so memory does not grow with the clip):
//   1. track      detect + 68 landmarks, Lucas-Kanade refinement, Gaussian smoothing of the landmarks
//                 and of the FFHQ quads over time (pipeline/video_track.h): crops do not jitter;
//   2. invert     each frame's crop inverted, starting from the previous frame's latent
//                 (warm_steps, not a cold start), and its portrait mask; optionally one generator
//                 personalized on keyframes of the whole clip (as STIT does) instead of per frame;
//   3. edit       the edits per frame; the sign of a flip and a PFSF walk are decided once, on the
//                 first frame with a face ("first": its latent offset is applied to every frame), or
//                 walked per frame (walk = "each"); the edit offsets (edited - inverted) optionally
//                 smoothed over time (centred Gaussian: no frame is dropped or delayed);
//   4. render     per frame: the generator's change added to the frame's own crop, blended through the
//                 mask smoothed over time, warped back; pixels outside the mask are the input's; frames
//                 without a face pass through unchanged; encoded with the audio carried over. Each
//                 frame is shown to `on_frame` as it is written: eval/video_eval.h measures the clip
//                 from it (the judges on every frame, STIT's TL-ID / TG-ID, flicker, background).
// With method l2m-gan (an image editor, photo_l2mgan.h) passes 2-3 are one: each tracked crop, in
// the model's framing, is encoded and edited (the first face's flip signs for every frame), and its
// mask, reconstruction and edited image are stored per frame; render adds the model's change
// (smoothed over time with latent_sigma) to the frame's own crop. No generator is used (g gives the
// device), nothing is inverted or personalized.
// Passes 1-3 store their results per frame in a work directory keyed by the video's bytes, the model
// and every setting that shapes them: a run that was interrupted (Ctrl-C, kill -9) resumes where it
// stopped, and other edits of the same clip skip straight to pass 3. Outputs appear whole (temp +
// rename), only at the end.
//
// Errors (faceedit::Error naming the file): not a video, an unreadable codec, zero frames, frames
// larger than 8K, no face in any frame.
//
// Thread-safety: g is never changed (a personalization fine-tunes the clip's own copy); one call per thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/io/video.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/photo.h"
#include "faceedit/face/video_track.h"

namespace faceedit::pipeline {

struct VideoParams {
  PhotoParams photo;               // crop, framing, guide, segmenter, the first frame's inversion (steps, starts)
  face::TrackParams track;
  bool warm_start = true;          // frames after the first start from the previous frame's latent
  int warm_steps = 40;             // inversion steps of a warm-started frame
  int personalize_frames = 0;      // > 0: one generator personalized on this many keyframes (photo.personalize_steps)
  std::string walk = "first";      // PFSF: "first" (the first face's walk offset for all frames) or "each"
  double latent_sigma = 0;         // Gaussian over time on the edit offsets (l2m-gan: its image change), frames (0: none)
  double mask_sigma = 1.0;         // Gaussian over time on the fusion masks, frames (0: none)
  bool side_by_side = true;        // also OUT.side-by-side.EXT: original | edited
  std::filesystem::path work_dir;  // per-frame results for resuming and re-editing ("": a temp dir, removed)
  int max_frames = 0;              // > 0: only the first frames (a quick look)
};

struct VideoStage {
  std::string name;  // "track", "invert", "personalize", "edit", "render"
  int done = 0, total = 0;
  double seconds = 0;
};
using VideoStageCallback = std::function<void(const VideoStage&)>;

struct VideoResult {
  io::VideoInfo input;
  int frames = 0, faces = 0;       // frames written; frames where a face was edited
  std::vector<std::filesystem::path> outputs;
  nlohmann::json per_frame = nlohmann::json::array();  // index, face, seconds by stage, the guide's probabilities
  // edits (as applied), inversion, personalization, time by stage and total (eval/video_eval.h adds
  // its measurements).
  nlohmann::json summary = nlohmann::json::object();
  nlohmann::json encoding;         // codec and audio, as io::VideoWriter::finish reports them
  nlohmann::json to_json() const;
};

// One rendered frame, as edit_video() writes it (the pointers live for the callback's duration).
struct RenderedFrame {
  int index = 0;
  const cv::Mat* source = nullptr;              // the decoded input frame
  const cv::Mat* edited = nullptr;              // the frame written (the source where no face was edited)
  std::optional<face::AlignmentQuad> ffhq, crop_quad; // the tracked FFHQ quad and the edit's crop quad (none: no face)
  const cv::Mat* source_crop = nullptr;         // the stabilised crop (crop_quad), and it edited and blended
  const cv::Mat* blended_crop = nullptr;
  const cv::Mat* mask = nullptr;                // the fusion mask on the crop (CV_32F)
  const std::vector<AppliedEdit>* applied = nullptr;  // the clip's edits, signed as applied to every frame
  nlohmann::json* report = nullptr;             // the frame's per_frame entry: an observer may add to it
};
using FrameCallback = std::function<void(const RenderedFrame&)>;

VideoResult edit_video(const std::filesystem::path& input, const std::filesystem::path& output, std::shared_ptr<models::Generator> g,
                       const std::string& model_name, const std::vector<PhotoEdit>& edits, const VideoParams& params,
                       VideoStageCallback on_stage = {}, FrameCallback on_frame = {});

// The side-by-side video's path for an output path: OUT.side-by-side.EXT.
std::filesystem::path side_by_side_path(const std::filesystem::path& output);

// Bumped when what a work directory holds changes.
inline constexpr int kVideoWorkVersion = 1;
// The work directory's key for a video under these settings (hex).
std::string video_work_key(const std::filesystem::path& input, const std::string& model_name, const models::Generator& g,
                           const VideoParams& params, models::LatentSpace space);
// The same for an image editor (method l2m-gan): tracking, framing and masks; its edits are kept
// in a subdirectory keyed by the model's bytes and the edits.
std::string image_editor_video_work_key(const std::filesystem::path& input, const std::string& method, const VideoParams& params);

}  // namespace faceedit::pipeline
