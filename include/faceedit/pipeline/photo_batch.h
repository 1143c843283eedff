// faceedit — a collection of photos edited as one job: `faceedit photo --batch DIR|LIST -o OUTDIR`,
// also shared among processes (`mpirun -n N ...`, or `--shard K/N` tasks; distributed.h).
//
// Every photo is a work item: process K of N edits the photos i with i % N == K through the photo
// pipeline (pipeline/photo.h) and writes OUTDIR/<stem><ext> (the edited photo, the input's format)
// and OUTDIR/<stem>.json (its edits and metrics; or its error: a photo without a face is recorded
// and left, not retried). Then the merging process writes OUTDIR/batch.json, every photo's record
// in input order. A photo's result does not depend on which process edits it or on the photos
// edited before it (the session restores the generator bit for bit), so the directory is
// byte-identical to a single process's. Rerun after an interruption: photos with a record are
// skipped. OUTDIR/job.json names the job's settings (model, edits, inversion, fusion); a job of
// other settings in the same directory is refused. The photo list may grow between runs: photos
// edited before are kept, and batch.json lists the photos of the last run.
//
//   auto photos = pipeline::list_batch_photos("shots/");      // sorted image files, or a list file
//   pipeline::PhotoBatchParams p;  p.edits = {{spec, 1.0, true}};
//   auto r = pipeline::edit_photo_batch(photos, g, "dcgan-celeba32", p, "out/");
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faceedit/distributed.h"
#include "faceedit/pipeline/photo.h"

namespace faceedit::pipeline {

// DIR: its image files (.jpg .jpeg .png .bmp .webp), sorted by name. A file: a list, one
// path a line (relative to the list's folder; blank lines and lines starting with # skipped).
// Errors name the argument: missing, empty, two photos with one output name.
std::vector<std::string> list_batch_photos(const std::string& dir_or_list);

struct PhotoBatchParams {
  std::vector<PhotoEdit> edits;
  PhotoParams photo;
  WorkShare share;  // default: this process edits every photo
  PhotoMeasure measure;  // each record's "metrics" (eval::PhotoMeasurer::callback(); empty: none)
};

struct PhotoBatchItem {
  size_t index;
  std::string photo;
  bool skipped;            // its record existed (an earlier run, or another process)
  const PhotoResult* result;  // null when skipped or failed
  std::string error;       // non-empty when it failed
};
using PhotoBatchCallback = std::function<void(const PhotoBatchItem&)>;

struct PhotoBatchResult {
  nlohmann::json json;  // batch.json: {"format", "model", "photos": [records], "edited", "failed"}
  bool merged = true;   // false in a process that only edited its share
  int64_t edited_here = 0, failed_here = 0, skipped_here = 0;
};

PhotoBatchResult edit_photo_batch(const std::vector<std::string>& photos, std::shared_ptr<models::Generator> g,
                                  const std::string& model_name, const PhotoBatchParams& params,
                                  const std::string& out_dir, const PhotoBatchCallback& on_photo = {});

}  // namespace faceedit::pipeline
