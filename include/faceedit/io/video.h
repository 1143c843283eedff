// faceedit — reading and writing videos (OpenCV's FFmpeg backend; the ffmpeg program when present).
//
//   io::VideoReader in("clip.mp4");                 // Error naming the file: not a video, no frames, bad size
//   io::VideoWriter out("edited.mp4", in.info());   // frames go to a temp file next to the output
//   cv::Mat frame;
//   while (in.read(frame)) out.write(edit(frame));
//   out.finish("clip.mp4");                         // encode, carry the audio over, rename: all or nothing
//
// With the ffmpeg program on PATH (Debian package ffmpeg), frames are written losslessly (FFV1) and
// encoded once to H.264 (CRF 17, yuv420p, the input's frame rate) with the source's audio track
// copied over; without it, OpenCV writes MPEG-4 part 2 directly and there is no audio (info says so).
// Encoding is deterministic: the same frames give the same file.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace faceedit::io {

struct VideoInfo {
  int width = 0, height = 0;
  double fps = 0;
  int frames = 0;  // as the container reports it (decoding may find fewer: VideoReader::read says)
  nlohmann::json to_json() const;
};

// The largest frame accepted (width * height): 8K.
inline constexpr int64_t kMaxVideoPixels = 7680LL * 4320;

class VideoReader {
 public:
  explicit VideoReader(const std::filesystem::path& path);
  // The next frame (8-bit BGR); false at the end. A frame of another size than the first is an Error.
  bool read(cv::Mat& frame);
  const VideoInfo& info() const { return info_; }
  int position() const { return position_; }  // frames read so far
 private:
  std::filesystem::path path_;
  cv::VideoCapture cap_;
  VideoInfo info_;
  int position_ = 0;
};

// True when the ffmpeg program can be run (checked once).
bool ffmpeg_available();

class VideoWriter {
 public:
  // Frames of `size` at `fps`; nothing appears at `path` before finish().
  VideoWriter(const std::filesystem::path& path, cv::Size size, double fps);
  ~VideoWriter();  // without finish(): the temp files are removed
  void write(const cv::Mat& frame);
  // Encodes, copies `audio_from`'s audio track when there is one (and ffmpeg is present) and renames
  // the result to the path. Returns what happened: codec, audio copied or why not.
  nlohmann::json finish(const std::filesystem::path& audio_from = {});
  int frames() const { return frames_; }

 private:
  std::filesystem::path path_, tmp_;
  cv::Size size_;
  double fps_;
  cv::VideoWriter writer_;
  int frames_ = 0;
  bool finished_ = false;
};

// Runs a program (no shell) and waits; returns its exit status (127: could not run it). Its output
// goes to `log` (appended) when given, else is discarded.
int run_program(const std::vector<std::string>& args, const std::filesystem::path& log = {});

}  // namespace faceedit::io
