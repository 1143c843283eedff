// faceedit — `faceedit boundary` as one library call: an InterFaceGAN boundary trained from a sample
// directory (edit/sampling.h) and written as NAME.safetensors and NAME.npy (InterFaceGAN's layout);
// with conditions (Shen et al.'s conditional editing) the direction projected orthogonal to the
// conditions' directions, those trained from the same samples or read from files, and the
// unprojected one beside it as NAME.plain.safetensors / NAME.plain.npy.
//
//   edit::BoundaryJob job;  job.samples = "samples/";  job.attribute = "smiling";  job.conditions = {"male"};
//   auto report = edit::train_boundary_files(job, "smiling.safetensors");
//
// Every input is resolved before training (an Error naming it): the output's name and directory,
// the space (z or w), a score column the samples lack, condition files of another dimension or not
// one per condition.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "faceedit/edit/interfacegan/boundary.h"

namespace faceedit::edit {

struct BoundaryJob {
  std::string samples;                               // a `faceedit sample` directory
  std::string attribute;                             // its score column to separate
  std::optional<models::LatentSpace> space;          // Z or W (none: W when the samples have it, else Z)
  std::vector<std::string> conditions;               // attributes to stay independent of
  std::vector<std::string> condition_files;          // their boundaries (.npy/.safetensors; default: trained here)
  BoundaryParams params;
};

// Trains and writes the files; returns the report (the primary's, or the projection's with each
// condition's source and training) with "written": the files, in order.
nlohmann::json train_boundary_files(const BoundaryJob& job, const std::string& out);

}  // namespace faceedit::edit
