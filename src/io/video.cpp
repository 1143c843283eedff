#include "faceedit/io/video.h"

#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "faceedit/error.h"
#include "faceedit/progress.h"

namespace faceedit::io {

namespace fs = std::filesystem;

nlohmann::json VideoInfo::to_json() const { return {{"width", width}, {"height", height}, {"fps", fps}, {"frames", frames}}; }

VideoReader::VideoReader(const fs::path& path) : path_(path) {
  const std::string name = path.string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(name, "no such file");
  if (!cap_.open(name, cv::CAP_FFMPEG) || !cap_.isOpened())
    fail(name, "is not a video OpenCV's FFmpeg backend can read (not a video, or an unsupported codec)");
  info_.width = static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_WIDTH));
  info_.height = static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_HEIGHT));
  info_.fps = cap_.get(cv::CAP_PROP_FPS);
  info_.frames = static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_COUNT));
  if (info_.width <= 0 || info_.height <= 0) fail(name, "has a " + std::to_string(info_.width) + "x" + std::to_string(info_.height) + " frame size");
  if (static_cast<int64_t>(info_.width) * info_.height > kMaxVideoPixels)
    fail(name, "frames of " + std::to_string(info_.width) + "x" + std::to_string(info_.height) + " are larger than 8K (7680x4320)");
  if (!(info_.fps > 0 && info_.fps < 1000)) {
    log_line(name + ": no usable frame rate in the file (" + std::to_string(info_.fps) + "); using 25 frames/s");
    info_.fps = 25;
  }
}

bool VideoReader::read(cv::Mat& frame) {
  if (!cap_.read(frame) || frame.empty()) return false;
  if (frame.cols != info_.width || frame.rows != info_.height)
    fail(path_.string(), "frame " + std::to_string(position_) + " is " + std::to_string(frame.cols) + "x" + std::to_string(frame.rows) +
                             ", the video's first frames " + std::to_string(info_.width) + "x" + std::to_string(info_.height));
  if (frame.type() != CV_8UC3) fail(path_.string(), "frame " + std::to_string(position_) + " is not 8-bit colour");
  ++position_;
  return true;
}

int run_program(const std::vector<std::string>& args, const fs::path& log) {
  if (args.empty()) return 127;
  const pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    const int out = log.empty() ? open("/dev/null", O_WRONLY) : open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    const int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool ffmpeg_available() {
  static const bool available = run_program({"ffmpeg", "-hide_banner", "-version"}) == 0;
  return available;
}

namespace {

fs::path temp_beside(const fs::path& path, const std::string& tag, const std::string& ext) {
  return path.parent_path() / ("." + path.filename().string() + "." + tag + std::to_string(::getpid()) + ext);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first audio stream's codec name, "" when none (or no ffprobe).
std::string audio_codec(const fs::path& video, const fs::path& scratch) {
  fs::remove(scratch);
  if (run_program({"ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                   video.string()},
                  scratch) != 0)
    return "";
  auto s = read_text(scratch);
  fs::remove(scratch);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

VideoWriter::VideoWriter(const fs::path& path, cv::Size size, double fps) : path_(path), size_(size), fps_(fps) {
  if (size.width <= 0 || size.height <= 0 || !(fps > 0)) fail(path.string(), "cannot write a video of this size or frame rate");
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  // Lossless frames first when ffmpeg will encode them; else OpenCV's own MPEG-4 into the container.
  const bool lossless = ffmpeg_available();
  tmp_ = temp_beside(path, "frames", lossless ? ".mkv" : path.extension().string());
  const int fourcc = lossless ? cv::VideoWriter::fourcc('F', 'F', 'V', '1') : cv::VideoWriter::fourcc('m', 'p', '4', 'v');
  if (!writer_.open(tmp_.string(), cv::CAP_FFMPEG, fourcc, fps, size, true) || !writer_.isOpened())
    fail(path.string(), "OpenCV cannot write this video (container " + path.extension().string() + ")");
}

VideoWriter::~VideoWriter() {
  if (finished_) return;
  writer_.release();
  std::error_code ec;
  fs::remove(tmp_, ec);
}

void VideoWriter::write(const cv::Mat& frame) {
  if (frame.size() != size_ || frame.type() != CV_8UC3) fail(path_.string(), "a frame of another size or type than the video's");
  writer_.write(frame);
  ++frames_;
}

nlohmann::json VideoWriter::finish(const fs::path& audio_from) {
  writer_.release();
  nlohmann::json info{{"frames", frames_}, {"fps", fps_}};
  std::error_code ec;
  if (!ffmpeg_available()) {
    fs::rename(tmp_, path_);
    finished_ = true;
    info["codec"] = "mpeg4 (OpenCV)";
    info["audio"] = "not carried over: the ffmpeg program is not installed (Debian package ffmpeg)";
    return info;
  }
  const auto encoded = temp_beside(path_, "encoded", path_.extension().string()), log = temp_beside(path_, "ffmpeg", ".log");
  const std::string audio = audio_from.empty() ? "" : audio_codec(audio_from, log);
  std::vector<std::string> args = {"ffmpeg", "-y", "-v", "error", "-i", tmp_.string()};
  if (!audio.empty()) args.insert(args.end(), {"-i", audio_from.string(), "-map", "0:v:0", "-map", "1:a:0"});
  args.insert(args.end(), {"-c:v", "libx264", "-preset", "medium", "-crf", "17", "-pix_fmt", "yuv420p", "-r", std::to_string(fps_),
                           "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact"});
  if (!audio.empty()) args.insert(args.end(), {"-c:a", "copy", "-shortest"});
  args.push_back(encoded.string());
  int rc = run_program(args, log);
  if (rc != 0 && !audio.empty()) {  // a codec the container cannot hold as is: AAC instead
    for (auto& a : args)
      if (a == "copy") a = "aac";
    rc = run_program(args, log);
    info["audio"] = "re-encoded to AAC (" + audio + " does not fit the container)";
  } else {
    info["audio"] = audio.empty() ? nlohmann::json("none in the source") : nlohmann::json("copied (" + audio + ")");
  }
  if (rc != 0) {
    const std::string why = read_text(log);
    fs::remove(encoded, ec);
    fs::remove(log, ec);
    fail(path_.string(), "ffmpeg could not encode the video (exit " + std::to_string(rc) + "): " + why.substr(0, 400));
  }
  fs::remove(log, ec);
  fs::remove(tmp_, ec);
  fs::rename(encoded, path_);
  finished_ = true;
  info["codec"] = "h264 (ffmpeg libx264, crf 17)";
  return info;
}

}  // namespace faceedit::io
