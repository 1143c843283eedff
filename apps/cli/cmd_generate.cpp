#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <regex>

#include "commands.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/checkpoint_formats.h"
#include "faceedit/models/model_files.h"
#include "faceedit/models/stylegan3.h"

namespace faceedit::cli {

// "0-15", "3,7,9", "0-3,10" -> seeds.
std::vector<uint64_t> parse_seeds(const std::string& text) {
  std::vector<uint64_t> seeds;
  const std::regex item("^(\\d{1,10})(?:-(\\d{1,10}))?$");
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    std::smatch m;
    if (!std::regex_match(part, m, item)) fail("--seeds " + text, "expected numbers and ranges like 0-15,20");
    const uint64_t a = std::stoull(m[1]), b = m[2].matched ? std::stoull(m[2]) : a;
    if (b < a) fail("--seeds " + text, "range " + part + " is reversed");
    if (b > 0xffffffffull) fail("--seeds " + text, "seeds must be below 2^32");
    if (seeds.size() + (b - a + 1) > 100000) fail("--seeds " + text, "more than 100000 seeds");
    for (uint64_t s = a; s <= b; ++s) seeds.push_back(s);
  }
  if (seeds.empty()) fail("--seeds", "no seeds given");
  return seeds;
}

namespace {


// --translate X,Y / --rotate DEG as gen_images.py: synthesis.input.transform = inverse of its matrix
// (without them, the transform stored in the checkpoint: identity in NVIDIA's releases).
void set_stylegan3_transform(models::Generator& g, const std::string& translate, double rotate) {
  auto* sg3 = dynamic_cast<models::StyleGAN3*>(&g);
  if (!sg3) fail("--translate/--rotate", "only StyleGAN3 models have an input transform (this is " + g.arch() + ")");
  double tx = 0, ty = 0;
  if (!translate.empty()) {
    const auto comma = translate.find(',');
    try {
      size_t u1 = 0, u2 = 0;
      if (comma == std::string::npos) throw std::invalid_argument(translate);
      tx = std::stod(translate.substr(0, comma), &u1);
      ty = std::stod(translate.substr(comma + 1), &u2);
      if (u1 != comma || u2 != translate.size() - comma - 1 || !std::isfinite(tx) || !std::isfinite(ty))
        throw std::invalid_argument(translate);
    } catch (const std::exception&) {
      fail("--translate " + translate, "expected two numbers X,Y, e.g. 0.3,-0.1");
    }
  }
  if (!std::isfinite(rotate)) fail("--rotate", "must be a finite number of degrees");
  sg3->set_input_transform(models::StyleGAN3::user_transform(tx, ty, rotate));
}

std::string sibling(const std::string& path, const std::string& suffix) {
  std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + suffix)).string();
}

}  // namespace

void add_generate_command(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string model = "dcgan-celeba32", seeds, latents, space = "z", noise = "const", output, save_tensors, translate, truncation_mean;
    double truncation = 1.0, rotate = 0.0;
    int cutoff = -1, batch = 8, cols = 0, scale = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("generate", "Generate faces from seeds or saved latents");
  cmd->add_option("--model,-m", o->model, "model file or known name")->capture_default_str();
  auto* seeds = cmd->add_option("--seeds", o->seeds, "seeds, e.g. 0-15 or 1,5,9 (latents as NVIDIA's generate.py draws them)");
  auto* latents = cmd->add_option("--latents", o->latents, "safetensors file with key 'latents'");
  seeds->excludes(latents);
  cmd->add_option("--space", o->space, "space of --latents: z, w or wplus")->capture_default_str();
  cmd->add_option("--truncation", o->truncation, "truncation psi (1: none)")->check(CLI::Range(-2.0, 2.0))->capture_default_str();
  cmd->add_option("--truncation-mean", o->truncation_mean,
                  "latents file (key 'latents', [1, w_dim]): truncate towards this W instead of the model's average "
                  "(e.g. rosinality's mean_latent)");
  cmd->add_option("--cutoff", o->cutoff, "truncate only the first N W+ codes (default: all)");
  cmd->add_option("--noise", o->noise, "noise mode: const, random or none")->capture_default_str();
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--cols", o->cols, "grid columns (default: near square)")->check(CLI::Range(0, 1000));
  cmd->add_option("--scale", o->scale, "enlarge grid tiles N times (default: to at least 128 px)")->check(CLI::Range(0, 64));
  cmd->add_option("-o,--output", o->output, "grid image (.png/.jpg); latents are saved beside it");
  auto* translate = cmd->add_option("--translate", o->translate, "StyleGAN3: translate the output by X,Y (gen_images.py's input transform)");
  auto* rotate = cmd->add_option("--rotate", o->rotate, "StyleGAN3: rotate the output by DEG degrees (gen_images.py's input transform)");
  cmd->add_option("--save-tensors", o->save_tensors, "safetensors file for the raw images (key 'images', NCHW float32, unclamped)");
  cmd->callback([o, &global, translate, rotate] {
    if (o->seeds.empty() && o->latents.empty()) fail("generate", "give --seeds or --latents");
    if (o->output.empty() && o->save_tensors.empty()) fail("generate", "give -o GRID.png and/or --save-tensors OUT.safetensors");
    const auto noise = models::parse_noise_mode(o->noise);
    auto g = models::open_generator(o->model, parse_device(global.device));
    if (translate->count() + rotate->count() > 0) set_stylegan3_transform(*g, o->translate, o->rotate);
    if (!o->truncation_mean.empty()) models::set_truncation_mean(*g, o->truncation_mean);
    torch::NoGradGuard no_grad;

    torch::Tensor lat;
    models::LatentSpace space = models::LatentSpace::Z;
    std::vector<uint64_t> seed_list;
    if (!o->seeds.empty()) {
      seed_list = parse_seeds(o->seeds);
      std::vector<torch::Tensor> rows;
      for (auto s : seed_list) rows.push_back(g->sample_z(1, s));
      lat = torch::cat(rows);
    } else {
      space = models::parse_latent_space(o->space);
      io::SafetensorsReader file(o->latents);
      if (!file.contains("latents")) fail(o->latents, "has no tensor named 'latents'");
      lat = file.load("latents");
      g->check_latents(lat, space, o->latents);
    }

    const int64_t n = lat.size(0);
    std::vector<torch::Tensor> images;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; i += o->batch) {
      const int64_t b = std::min<int64_t>(o->batch, n - i);
      images.push_back(g->generate(lat.narrow(0, i, b), space, o->truncation, noise, o->cutoff).cpu());
      std::cerr << "\rgenerated " << i + b << "/" << n << std::flush;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << " (" << secs << " s, " << n / std::max(secs, 1e-9) << " images/s)\n";
    auto all = torch::cat(images);

    if (!o->save_tensors.empty()) {
      io::write_safetensors(o->save_tensors, {{"images", all}},
                            {{"faceedit.model", o->model}, {"faceedit.space", models::to_string(space)},
                             {"faceedit.truncation", std::to_string(o->truncation)}, {"faceedit.noise", o->noise}});
      std::cout << "wrote " << o->save_tensors << "\n";
    }
    if (!o->output.empty()) {
      int scale = o->scale > 0 ? o->scale : std::max<int>(1, static_cast<int>((128 + g->resolution() - 1) / g->resolution()));
      io::write_image(o->output, io::make_grid(all, o->cols, 2, scale));
      std::map<std::string, std::string> meta = {{"faceedit.model", o->model}, {"faceedit.space", models::to_string(space)}};
      if (!seed_list.empty()) {
        std::string s;
        for (auto v : seed_list) s += (s.empty() ? "" : ",") + std::to_string(v);
        meta["faceedit.seeds"] = s;
      }
      const std::string lat_path = sibling(o->output, ".latents.safetensors");
      io::write_safetensors(lat_path, {{"latents", lat.cpu()}}, meta);
      std::cout << "wrote " << o->output << " and " << lat_path << "\n";
    }
  });
}

}  // namespace faceedit::cli
