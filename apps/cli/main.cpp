// faceedit — command-line interface. `faceedit --help` lists the subcommands.
#include <torch/torch.h>

#include <csignal>
#include <iostream>
#include <optional>

#include "commands.h"
#include "format_commands.h"
#include "faceedit/distributed.h"
#include "faceedit/progress.h"
#include "faceedit/error.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"
#include "faceedit/nn/ops.h"
#include "faceedit/face/pose.h"
#include "faceedit/runtime.h"

namespace faceedit::cli {

torch::Device parse_device(const std::string& s) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(s);
  } catch (const c10::Error&) {
    fail("device '" + s + "'", "unknown (use cpu, cuda or cuda:N)");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    fail("device '" + s + "'", "CUDA is not available in this LibTorch build or on this machine");
  return device;
}

namespace {
void on_stop_signal(int sig) {
  faceedit::request_stop();
  std::signal(sig, SIG_DFL);  // a second signal ends the process at once (writes are atomic: safe too)
}
}  // namespace

void stop_cleanly_on_signals() {
  faceedit::clear_stop();
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

CLI::Option* attribute_option(CLI::Option* option) {
  return option->transform([](const std::string& name) { return faceedit::models::canonical_attribute(name); },
                           "", "attribute");
}

}  // namespace faceedit::cli

int main(int argc, char** argv) {
  using namespace faceedit::cli;
  faceedit::init_distributed(&argc, &argv);  // only when an MPI launcher started us
  CLI::App app{"faceedit: disentangled face attribute editing in the latent space of GANs"};
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--threads", global.threads, "CPU threads for LibTorch (default: all cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--device", global.device, "cpu, cuda or cuda:N");
  app.add_flag("--tf32", global.tf32,
               "CUDA: TF32 convolutions and matmuls (faster on Ampere and later; ~6e-4 relative error)");
  app.add_flag("--reference-ops", global.reference_ops,
               "run the StyleGAN2 layers as the plain LibTorch composition instead of the fused kernels (slower; "
               "the baseline the kernels are tested and timed against)");
  app.add_option("--precision", global.precision,
                 "synthesis convolutions for inference: fp32, bf16 (CPU with avx512_bf16, or CUDA) or fp16 (CUDA); "
                 "gradients (inversion, fine-tuning) stay fp32")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->capture_default_str();
  faceedit::face::register_pose_classifier();
  std::optional<faceedit::nn::ReferenceOpsGuard> reference_ops;  // this thread's, for the whole command
  app.parse_complete_callback([&] {
    faceedit::set_threads(global.threads);
    faceedit::set_cuda_tf32(global.tf32);
    if (global.reference_ops) reference_ops.emplace();
    const auto precision = faceedit::models::parse_precision(global.precision);
    faceedit::models::set_default_precision(precision);
    if (precision == faceedit::models::Precision::BFloat16 && global.device == "cpu" && !faceedit::models::cpu_has_bf16())
      std::cerr << "warning: this CPU has no avx512_bf16: bf16 convolutions are emulated, likely slower than fp32\n";
  });
  add_info_command(app, global);
  add_generate_command(app, global);
  add_convert_command(app, global);
  add_bench_command(app, global);
  add_train_classifier_command(app, global);
  add_analyze_command(app, global);
  add_eval_classifiers_command(app, global);
  add_edit_command(app, global);
  add_evaluate_command(app, global);
  add_evaluate_sequence_command(app, global);
  add_evaluate_images_command(app, global);
  add_evaluate_photos_command(app, global);
  add_report_command(app, global);
  add_train_latent_classifier_command(app, global);
  add_train_encoder_command(app, global);
  add_evaluate_inversion_command(app, global);
  add_boundary_command(app, global);
  add_sample_command(app, global);
  add_fit_command(app, global);
  add_fit_attribute_command(app, global);
  add_photo_command(app, global);
  add_video_command(app, global);
  add_serve_command(app, global);
  add_train_editor_command(app, global);
  add_train_gan_command(app, global);
  add_train_l2mgan_command(app, global);
  add_evaluate_gan_command(app, global);
  add_encode_command(app, global);
  add_edit_latents_command(app, global);
  add_classify_latents_command(app, global);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const faceedit::Error& e) {
    faceedit::abort_job_on_error(e.what());
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    faceedit::abort_job_on_error(e.what_without_backtrace());
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    faceedit::abort_job_on_error(e.what());
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
