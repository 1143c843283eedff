// Helpers shared by the C++ tests: where shared data is, temp dirs, converted fixtures.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>

namespace faceedit::test {

// Path under the shared data root, or "" (and the test should GTEST_SKIP) when absent.
std::string shared_file(const std::string& relative);

// A fresh temporary directory, removed at process exit.
std::filesystem::path temp_dir();

// Converts a shared checkpoint once per test process (cached in temp_dir()); "" when absent.
std::string converted(const std::string& relative_source);

// max |a - b| / max |b|.
double relative_max_error(const torch::Tensor& a, const torch::Tensor& b);

// The message of the faceedit::Error that f throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

// Runs a command through the shell; returns its exit status.
int run_command(const std::string& command);

}  // namespace faceedit::test

#define FACEEDIT_REQUIRE_SHARED(var, relative)                                                   \
  const std::string var = ::faceedit::test::shared_file(relative);                               \
  if (var.empty()) GTEST_SKIP() << "shared data " << (relative) << " not found (set FACEEDIT_SHARED)"
