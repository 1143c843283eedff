// Helpers shared by the C++ tests: where shared data is, temp dirs, converted fixtures.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "faceedit/models/stylegan2.h"
#include "faceedit/face/align.h"

namespace faceedit::test {

// Path under the shared data root, or "" (and the test should GTEST_SKIP) when absent.
std::string shared_file(const std::string& relative);
// True when FACEEDIT_REQUIRE_SHARED=1 (CI): missing shared data fails a test instead of skipping it.
bool shared_required();

// A fresh temporary directory, removed at process exit.
std::filesystem::path temp_dir();

// Converts a shared checkpoint once per test process (cached in temp_dir()); "" when absent.
// network: "G_ema" or "D" (faceedit convert --network).
std::string converted(const std::string& relative_source, const std::string& network = "G_ema");

// A small StyleGAN2 (16 px, w_dim 8, 8 channels) for tests that train or differentiate one.
models::StyleGAN2Config small_stylegan2_config();

// max |a - b| / max |b|.
double relative_max_error(const torch::Tensor& a, const torch::Tensor& b);

// The message of the faceedit::Error that f throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

// One dlib detector + landmark model per test process (loading takes ~0.6 s).
const face::FaceDetector& face_detector();

// Runs a command through the shell; returns its exit status.
int run_command(const std::string& command);

}  // namespace faceedit::test

// Skips the test when shared data is missing, or fails it with FACEEDIT_REQUIRE_SHARED=1 (so a CI
// run without ../shared cannot turn green by skipping everything).
#define FACEEDIT_SHARED_MISSING(what)                                                                \
  if (::faceedit::test::shared_required()) FAIL() << "shared data " << what << " not found (FACEEDIT_REQUIRE_SHARED=1)"; \
  else GTEST_SKIP() << "shared data " << what << " not found (set FACEEDIT_SHARED)"

#define FACEEDIT_REQUIRE_SHARED(var, relative)                                                   \
  const std::string var = ::faceedit::test::shared_file(relative);                               \
  if (var.empty()) { FACEEDIT_SHARED_MISSING(relative); }

// dlib's model is a system package (libdlib-data), not shared data: skip, saying so, without it.
#define FACEEDIT_REQUIRE_LANDMARK_MODEL()                                                            \
  if (!std::filesystem::exists(::faceedit::face::FaceDetector::default_landmarks_path()))        \
  GTEST_SKIP() << ::faceedit::face::FaceDetector::default_landmarks_path()                       \
               << " absent (Debian package libdlib-data)"
