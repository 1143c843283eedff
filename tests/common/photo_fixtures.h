// Shared pieces of the photo tests (test_photo_eval, test_photo_batch): a photo without a face, the
// cheapest photo settings that still run every stage, and an InterFaceGAN edit along a random
// boundary (the tests check what the pipeline does with an edit, not what the edit means).
#pragma once

#include <opencv2/imgcodecs.hpp>
#include <string>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/pipeline/photo.h"
#include "test_support.h"

namespace faceedit::test {

// A flat grey 256x256 JPEG in the test's temp directory: no face to find.
inline std::string write_faceless_photo(const std::string& name = "grey.jpg") {
  const auto path = (temp_dir() / name).string();
  cv::imwrite(path, cv::Mat(256, 256, CV_8UC3, cv::Scalar(128, 128, 128)));
  return path;
}

// 128-px crop, 8 inversion steps from one start, no guide, segmenter or identity judge.
inline void use_fast_photo_params(pipeline::PhotoParams& p) {
  p.crop = 128;
  p.inversion_steps = 8;
  p.starts = 1;
  p.guide = "none";
  p.segmenter = "none";
  p.identity_judge = "none";
}

// An interfacegan edit of `attribute` along a random unit normal in the DCGAN's Z (seeded).
inline pipeline::PhotoEdit random_boundary_edit(const std::string& file_name, const std::string& attribute, uint64_t seed,
                                                double strength = 1.0) {
  const auto boundary = (temp_dir() / file_name).string();
  edit::save_boundary(edit::random_boundary(100, models::LatentSpace::Z, attribute, seed), boundary);
  pipeline::PhotoEdit e;
  e.editor.method = "interfacegan";
  e.editor.boundary = boundary;
  e.strength = strength;
  return e;
}

}  // namespace faceedit::test
