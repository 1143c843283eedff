#include "faceedit/pipeline/photo_batch.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"
#include "faceedit/io/json_checks.h"
#include "faceedit/io/json_file.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/photo_l2mgan.h"
#include "faceedit/progress.h"

namespace faceedit::pipeline {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::set<std::string> known = {".jpg", ".jpeg", ".png", ".bmp", ".webp"};
  return known.count(ext) > 0;
}

using io::write_json_file;
nlohmann::json read_record(const fs::path& path) {
  auto j = io::read_json_file(path, "a batch record (damaged? delete it to redo the photo)");
  if (!j.is_object()) fail(path.string(), "is not a batch record (delete it to redo the photo)");
  return j;
}

// Everything that shapes a photo's result: a directory edited with other settings is refused. The
// photo list is not part of it: a later run may add photos (records of the others are kept).
nlohmann::json batch_job(const models::Generator& g, const std::string& model_name,
                         const PhotoBatchParams& p, const std::vector<PhotoEdit>& opened) {
  nlohmann::json edits = nlohmann::json::array();
  for (const auto& e : opened) edits.push_back({{"editor", e.opened->describe()}, {"strength", e.strength}, {"flip", e.flip}});
  const auto& q = p.photo;
  return {{"format", "faceedit.photo-batch-job/1"}, {"model", model_name}, {"config", g.config()}, {"edits", edits}, {"crop", q.crop}, {"zoom", q.zoom}, {"shift", q.shift}, {"steps", q.inversion_steps},
          {"starts", q.starts}, {"personalize", static_cast<int>(q.personalize)}, {"personalize_steps", q.personalize_steps},
          {"guide", q.guide}, {"perceptual", q.perceptual}, {"segmenter", q.segmenter}, {"identity_judge", q.identity_judge},
          {"poisson", q.poisson}, {"replace", q.replace}};
}

}  // namespace

std::vector<std::string> list_batch_photos(const std::string& spec) {
  const fs::path root(spec);
  std::vector<std::string> photos;
  std::error_code ec;
  if (fs::is_directory(root, ec)) {
    for (const auto& e : fs::directory_iterator(root, ec))
      if (e.is_regular_file(ec) && is_image_name(e.path())) photos.push_back(e.path().string());
    std::sort(photos.begin(), photos.end());
    if (photos.empty()) fail(spec, "holds no image files (.jpg, .jpeg, .png, .bmp, .webp)");
  } else if (fs::is_regular_file(root, ec)) {
    std::ifstream in(root);
    std::string line;
    int64_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      if (line.find('\0') != std::string::npos) fail(spec + ":" + std::to_string(number), "is not a text line (give a list of photo paths, one a line)");
      fs::path p(line);
      photos.push_back((p.is_absolute() ? p : root.parent_path() / p).string());
    }
    if (photos.empty()) fail(spec, "lists no photos (one path a line)");
  } else {
    fail(spec, "no such directory or list file");
  }
  std::map<std::string, std::string> by_stem;
  for (const auto& p : photos) {
    const auto stem = fs::path(p).stem().string();
    auto [it, fresh] = by_stem.emplace(stem, p);
    if (!fresh) fail(spec, "two photos would both be written as '" + stem + "': " + it->second + " and " + p);
  }
  return photos;
}

PhotoBatchResult edit_photo_batch(const std::vector<std::string>& photos, std::shared_ptr<models::Generator> g,
                                  const std::string& model_name, const PhotoBatchParams& p, const std::string& out_dir,
                                  const PhotoBatchCallback& on_photo) {
  if (photos.empty()) fail("photo batch", "no photos given");
  if (p.edits.empty()) fail("photo batch", "no edit given");
  const fs::path out(out_dir);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (!fs::is_directory(out)) fail(out_dir, "cannot create the output directory" + (ec ? ": " + ec.message() : ""));
  JobLock lock(out, p.share, "faceedit photo --batch");

  PhotoSession session(g, model_name, p.photo);
  auto edits = p.edits;
  // l2m-gan edits the image with its own model (photo_l2mgan.h); the other methods edit latents.
  std::unique_ptr<L2MGanPhotoEditor> l2mgan;
  if (is_l2mgan_edit(edits)) l2mgan = std::make_unique<L2MGanPhotoEditor>(edits, p.photo, g->device());
  if (!l2mgan) session.open(edits);  // a bad spec fails before any photo
  const bool personalize = !l2mgan && wants_personalization(p.photo, edits);
  const auto space = l2mgan ? models::LatentSpace::Z : session.space_of(edits);
  auto job = batch_job(*g, model_name, p, l2mgan ? std::vector<PhotoEdit>{} : edits);
  if (l2mgan) job["edits"] = l2mgan->describe();
  const fs::path job_path = out / "job.json";
  const auto claim = [&] { io::claim_job_file(job_path, job, "another batch (other model, edits or settings): use another -o directory"); };
  p.share.claim_job(claim);

  const auto record_path = [&](size_t i) { return out / (fs::path(photos[i]).stem().string() + ".json"); };
  const auto output_name = [&](size_t i) { return fs::path(photos[i]).stem().string() + fs::path(photos[i]).extension().string(); };
  PhotoBatchResult result;
  for (size_t i = 0; i < photos.size(); ++i) {
    if (!p.share.owns(static_cast<int64_t>(i))) continue;
    if (fs::exists(record_path(i))) {
      ++result.skipped_here;
      if (on_photo) on_photo({i, photos[i], true, nullptr, ""});
      continue;
    }
    if (stop_requested()) fail(out_dir, "interrupted; rerun the same command to continue with the photos not yet edited");
    nlohmann::json record = {{"photo", photos[i]}};
    try {
      const cv::Mat photo = io::read_image(photos[i]);
      auto r = l2mgan ? l2mgan->edit(photo, photos[i]) : (session.prepare(photo, photos[i], space, personalize), session.render(edits));
      measure_result(r, p.measure, {});
      io::write_image((out / output_name(i)).string(), r.photo);
      const auto summary = r.to_json();
      record.update({{"output", output_name(i)}, {"edits", summary["edits"]}, {"metrics", summary["metrics"]}});
      write_json_file(record_path(i), record);  // after the photo: a record means the photo is whole
      ++result.edited_here;
      if (on_photo) on_photo({i, photos[i], false, &r, ""});
    } catch (const Error& e) {
      record["error"] = e.what();
      write_json_file(record_path(i), record);
      ++result.failed_here;
      if (on_photo) on_photo({i, photos[i], false, nullptr, e.what()});
    }
  }
  p.share.wait_for_all();
  if (!p.share.merges()) {
    result.merged = false;
    return result;
  }
  nlohmann::json records = nlohmann::json::array();
  int64_t edited = 0, failed = 0;
  for (size_t i = 0; i < photos.size(); ++i) {
    if (!fs::exists(record_path(i)))
      fail(record_path(i).string(), "is missing: a task of the batch has not finished (rerun without --shard to edit it)");
    records.push_back(read_record(record_path(i)));
    (records.back().contains("error") ? failed : edited) += 1;
  }
  result.json = {{"format", "faceedit.photo-batch/1"}, {"model", model_name}, {"edits", job["edits"]},
                 {"photos", records}, {"edited", edited}, {"failed", failed}};
  write_json_file(out / "batch.json", result.json);
  return result;
}

}  // namespace faceedit::pipeline
