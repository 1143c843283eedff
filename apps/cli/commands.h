// faceedit CLI: each subcommand registers itself on the app and runs through a callback.
#pragma once

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace faceedit::cli {

struct GlobalOptions {
  int threads = 0;  // 0: all cores
  std::string device = "cpu";
  bool tf32 = false;  // CUDA: TF32 convolutions/matmuls instead of IEEE fp32
  bool reference_ops = false;  // the plain LibTorch composition instead of the fused kernels
  std::string precision = "fp32";  // the synthesis convolutions' arithmetic for inference
};

void add_info_command(CLI::App& app, const GlobalOptions& global);
void add_generate_command(CLI::App& app, const GlobalOptions& global);
void add_convert_command(CLI::App& app, const GlobalOptions& global);
void add_bench_command(CLI::App& app, const GlobalOptions& global);
void add_train_classifier_command(CLI::App& app, const GlobalOptions& global);
void add_analyze_command(CLI::App& app, const GlobalOptions& global);
void add_eval_classifiers_command(CLI::App& app, const GlobalOptions& global);
void add_edit_command(CLI::App& app, const GlobalOptions& global);
void add_evaluate_command(CLI::App& app, const GlobalOptions& global);
void add_evaluate_sequence_command(CLI::App& app, const GlobalOptions& global);
void add_evaluate_images_command(CLI::App& app, const GlobalOptions& global);
void add_evaluate_photos_command(CLI::App& app, const GlobalOptions& global);
void add_report_command(CLI::App& app, const GlobalOptions& global);
void add_train_latent_classifier_command(CLI::App& app, const GlobalOptions& global);
void add_train_encoder_command(CLI::App& app, const GlobalOptions& global);
void add_evaluate_inversion_command(CLI::App& app, const GlobalOptions& global);
void add_boundary_command(CLI::App& app, const GlobalOptions& global);
void add_train_editor_command(CLI::App& app, const GlobalOptions& global);
void add_train_gan_command(CLI::App& app, const GlobalOptions& global);
void add_train_l2mgan_command(CLI::App& app, const GlobalOptions& global);
void add_evaluate_gan_command(CLI::App& app, const GlobalOptions& global);

// "0-15", "3,7,9", "0-3,10" -> seeds (errors name --seeds).
std::vector<uint64_t> parse_seeds(const std::string& text);
void add_sample_command(CLI::App& app, const GlobalOptions& global);
void add_fit_command(CLI::App& app, const GlobalOptions& global);
void add_fit_attribute_command(CLI::App& app, const GlobalOptions& global);
void add_photo_command(CLI::App& app, const GlobalOptions& global);
void add_video_command(CLI::App& app, const GlobalOptions& global);
void add_serve_command(CLI::App& app, const GlobalOptions& global);

// Makes an option take attribute names as users write them (models::canonical_attribute: any case,
// aliases such as smile -> smiling); returns the option for chaining.
CLI::Option* attribute_option(CLI::Option* option);

// For commands whose library job polls faceedit::stop_requested() (sample, the trainers): the first
// SIGINT/SIGTERM asks the job to stop between items (it says how to resume), a second one ends the
// process. Other commands keep the default: a signal ends them at once.
void stop_cleanly_on_signals();

// Parses "cpu", "cuda", "cuda:1"; throws faceedit::Error when CUDA is asked for but absent.
torch::Device parse_device(const std::string& s);

}  // namespace faceedit::cli
