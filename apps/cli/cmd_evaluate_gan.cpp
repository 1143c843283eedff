// faceedit evaluate-gan: KID, face-detection rate and attribute distribution of generators' samples
// against real CelebA-HQ faces (eval/gan_quality.h); JSON plus an HTML report beside it.
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "commands.h"
#include "faceedit/error.h"
#include "faceedit/eval/gan_quality.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/model_files.h"
#include "faceedit/runtime.h"
#include "faceedit/train/gan/train_gan.h"

namespace faceedit::cli {

namespace fs = std::filesystem;

namespace {

// The kimg a train-gan file records (snapshots and final models), if any.
std::optional<double> recorded_kimg(const std::string& spec) {
  if (fs::path(spec).extension() != ".safetensors" || !fs::exists(spec)) return std::nullopt;
  io::SafetensorsReader file(spec);
  auto it = file.metadata().find("faceedit.training");
  if (it == file.metadata().end()) return std::nullopt;
  auto j = nlohmann::json::parse(it->second, nullptr, false);
  if (j.is_object() && j.contains("kimg") && j["kimg"].is_number()) return j["kimg"].get<double>();
  return std::nullopt;
}

}  // namespace

void add_evaluate_gan_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("evaluate-gan",
                                 "Measure generators against real CelebA-HQ faces: KID in the identity judge's "
                                 "embedding space, face-detection rate, attribute distribution");
  struct Options {
    std::vector<std::string> models;
    std::string real, output;
    eval::GanQualityParams params;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("models", o->models, "generators (files or known names, e.g. dcgan-celeba32); train-gan snapshots "
                                       "are plotted against their kimg")->required();
  cmd->add_option("--real", o->real, "real faces: a CelebA-HQ archive (default: the shared data/celebahq-64.tar)");
  cmd->add_option("--samples", o->params.samples, "generated and real images each")->capture_default_str()
      ->check(CLI::Range(int64_t{20}, int64_t{100000}));
  cmd->add_option("--detect-samples", o->params.detect_samples, "of those, how many the face detector checks")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{100000}));
  cmd->add_option("--truncation", o->params.truncation, "truncation psi of the samples")->capture_default_str();
  cmd->add_option("--seed", o->params.seed, "seed of the latents and of the real subset")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "JSON results (an HTML report is written beside it)")->required();
  cmd->callback([o, &global] {
    auto& p = o->params;
    const auto device = parse_device(global.device);
    const std::string real = o->real.empty() ? (shared_root() / "data/celebahq-64.tar").string() : o->real;
    torch::Tensor real_images;
    std::map<int64_t, eval::ImageSetFeatures> real_features;  // per resolution
    std::map<int64_t, cv::Mat> real_grids;
    nlohmann::json results = nlohmann::json::array();
    std::vector<eval::GanQualityEntry> entries;
    for (const auto& spec : o->models) {
      auto g = models::open_generator(spec, device);
      const int64_t res = g->resolution();
      if (!real_features.count(res)) {
        if (!real_images.defined()) real_images = train::load_gan_images(real, 64 >= res ? 64 : res);
        const auto reals = eval::real_subset(real_images, res, p);
        real_features[res] = eval::image_set_features(reals, p, "reals at " + std::to_string(res) + " px");
        real_grids[res] = io::make_grid(reals.narrow(0, 0, std::min<int64_t>(64, reals.size(0))), 0, 2, res < 64 ? 64 / res : 1);
      }
      const auto samples = eval::generator_samples(*g, p);
      auto r = eval::compare_image_sets(eval::image_set_features(samples, p, spec), real_features[res], p);
      r["model"] = spec;
      r["resolution"] = res;
      r["samples"] = p.samples;
      if (auto kimg = recorded_kimg(spec)) r["kimg"] = *kimg;
      std::cerr << "evaluate-gan: " << spec << ": KID " << r["kid"]["mean"] << " (std " << r["kid"]["std"]
                << "), faces detected " << r["detection_rate"]["samples"] << " (reals " << r["detection_rate"]["reals"]
                << "), attribute |diff| " << r["attribute_mean_abs_diff"] << "\n";
      results.push_back(r);
      entries.push_back({r, io::make_grid(samples.narrow(0, 0, std::min<int64_t>(64, samples.size(0))), 0, 2,
                                          res < 64 ? static_cast<int>(64 / res) : 1)});
    }
    const std::string text = results.dump(2);
    io::write_file_atomic(o->output, text.data(), text.size());
    const auto html = fs::path(o->output).replace_extension(".html").string();
    eval::write_gan_quality_report(html, entries, real_grids.begin()->second);
    std::cout << nlohmann::json{{"output", o->output}, {"report", html}}.dump() << "\n";
  });
}

}  // namespace faceedit::cli
