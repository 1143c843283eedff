// encode, edit-latents, classify-latents: codes in, codes (or logits) out, nothing rendered.
#include <iostream>

#include "faceedit/edit/editor_factory.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/checkpoint_formats.h"
#include "faceedit/models/latent_classifier.h"
#include "faceedit/models/model_files.h"
#include "faceedit/models/psp_encoder.h"
#include "format_commands.h"

namespace faceedit::cli {

namespace {

torch::Tensor read_latents(const std::string& path, const std::string& key = "latents") {
  io::SafetensorsReader file(path);
  if (!file.contains(key)) fail(path, "has no tensor named '" + key + "'");
  auto t = file.load(key);
  if (t.dim() < 2 || t.size(0) < 1) fail(path, "'" + key + "' of shape " + c10::str(t.sizes()) + " is not a batch of codes [N, ...]");
  if (!torch::isfinite(t).all().item<bool>()) fail(path, "'" + key + "' has NaN or infinite values");
  return t;
}

// Stands in for a generator when edit-latents gets codes and no --model: it has the codes' shape
// (W+ [N, L, D]: num_ws L, w_dim D; [N, D]: z_dim = w_dim = D), so editors check against it, and
// renders nothing (pfsf, which walks through images, needs --model).
class CodeShape : public models::Generator {
 public:
  explicit CodeShape(const torch::Tensor& codes)
      : dim_(codes.size(-1)), num_ws_(codes.dim() == 3 ? codes.size(1) : 1) {}
  std::string arch() const override { return "codes"; }
  int64_t z_dim() const override { return dim_; }
  int64_t w_dim() const override { return dim_; }
  int64_t num_ws() const override { return num_ws_; }
  int64_t resolution() const override { return 0; }
  torch::Tensor sample_z(int64_t, uint64_t) const override { fail("edit-latents", "samples nothing (give --model)"); }
  torch::Tensor map(const torch::Tensor&, double, int) const override { fail("edit-latents", "maps nothing (give --model)"); }
  torch::Tensor synthesize(const torch::Tensor&, models::NoiseMode) const override {
    fail("edit-latents", "this editor renders images: give --model");
  }
  std::vector<torch::Tensor> parameters() const override { return {}; }
  std::unique_ptr<models::Generator> clone() const override { return std::make_unique<CodeShape>(*this); }
  torch::OrderedDict<std::string, torch::Tensor> named_tensors() const override { return torch::OrderedDict<std::string, torch::Tensor>(); }
  void to(torch::Device, torch::ScalarType) override {}
  torch::Device device() const override { return torch::kCPU; }
  double synthesis_gflop() const override { return 0; }
  nlohmann::json config() const override { return {{"dim", dim_}, {"num_ws", num_ws_}}; }

 private:
  int64_t dim_, num_ws_;
};

}  // namespace

void add_encode_command(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string encoder, images, output;
    std::vector<std::string> files;
    int batch = 8;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("encode", "Encode face images into W+ codes with a pSp or e4e encoder (no optimisation)");
  cmd->add_option("--encoder", o->encoder, "pSp/e4e checkpoint (.pt) or its converted .safetensors")->required();
  auto* files = cmd->add_option("images", o->files, "aligned face crops (FFHQ framing), resized to the encoder's input size");
  auto* tensors = cmd->add_option("--images", o->images,
                                  "safetensors file, key 'images': NCHW float32 in [-1, 1] at the encoder's input size, used as given");
  files->excludes(tensors);
  cmd->add_option("-o,--output", o->output, "codes file (key 'latents': W+ [N, n_styles, w_dim])")->required();
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->callback([o, &global] {
    if (o->files.empty() == o->images.empty()) fail("encode", "give image files or --images X.safetensors");
    auto enc = models::PspEncoder::load(models::resolve_psp_encoder(o->encoder), parse_device(global.device));
    const auto s = enc->config().input_size;
    torch::Tensor x;
    if (!o->images.empty()) {
      x = read_latents(o->images, "images");
    } else {
      std::vector<torch::Tensor> rows;
      for (const auto& f : o->files) {
        auto t = io::image_to_tensor(io::read_image(f));
        rows.push_back(torch::nn::functional::interpolate(
            t, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{s, s}).mode(torch::kBilinear)
                   .align_corners(false).antialias(t.size(2) > s)));
      }
      x = torch::cat(rows);
    }
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> codes;
    for (int64_t i = 0; i < x.size(0); i += o->batch) codes.push_back(enc->encode(x.narrow(0, i, std::min<int64_t>(o->batch, x.size(0) - i))).cpu());
    auto all = torch::cat(codes);
    io::write_safetensors(o->output, {{"latents", all}},
                          {{"faceedit.space", "wplus"}, {"faceedit.encoder", o->encoder}, {"faceedit.encoder_kind", enc->config().kind}});
    std::cout << nlohmann::json{{"output", o->output}, {"images", all.size(0)}, {"shape", all.sizes().vec()}}.dump() << "\n";
  });
}

void add_edit_latents_command(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string spec, latents, alphas, output, model, space;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("edit-latents", "Apply any editor to given codes at several strengths (nothing rendered)");
  cmd->add_option("--edit", o->spec, "editor spec: method=...,editor=...|boundary=...,... (the keys of evaluate-sequence --step)")->required();
  cmd->add_option("--latents", o->latents, "codes (key 'latents': [N, dim] or W+ [N, num_ws, dim])")->required();
  cmd->add_option("--alpha", o->alphas, "strengths: a,b,c or start:stop:count")->required();
  cmd->add_option("-o,--output", o->output, "edited codes (key 'latents': [N, A, ...] in the order of --alpha)")->required();
  cmd->add_option("--model", o->model, "the codes' generator (default: none; editors that render, such as pfsf, need it)");
  cmd->callback([o, &global] {
    const auto alphas = edit::parse_alphas(o->alphas);
    auto step = edit::parse_edit_step(o->spec);
    auto codes = read_latents(o->latents);
    std::shared_ptr<models::Generator> g;
    if (!o->model.empty()) g = models::open_generator(o->model, parse_device(global.device));
    else g = std::make_shared<CodeShape>(codes);
    if (!step.editor.space && codes.dim() == 3) step.editor.space = models::LatentSpace::WPlus;
    auto editor = edit::open_editor(step.editor, g);
    g->check_latents(codes, editor->space(), o->latents);
    torch::NoGradGuard no_grad;
    codes = codes.to(g->device());
    std::vector<torch::Tensor> out;
    for (double a : alphas) out.push_back(editor->edit(codes, torch::full({codes.size(0)}, a, codes.options())).cpu());
    auto all = torch::stack(out, 1);
    io::write_safetensors(o->output, {{"latents", all}, {"alphas", torch::tensor(alphas, torch::kFloat)}},
                          {{"faceedit.editor", editor->describe().dump()}});
    std::cout << nlohmann::json{{"output", o->output}, {"shape", all.sizes().vec()}, {"editor", editor->describe()}}.dump() << "\n";
  });
}

void add_classify_latents_command(CLI::App& app, const GlobalOptions& global) {
  struct Options {
    std::string classifier, latents, output;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("classify-latents", "A latent classifier's logits for given codes");
  cmd->add_option("--classifier", o->classifier,
                  "latent classifier: ours (.safetensors) or the Latent Transformer's latent_classifier_epoch_20.pth")->required();
  cmd->add_option("--latents", o->latents, "codes (key 'latents')")->required();
  cmd->add_option("-o,--output", o->output, "logits file (key 'logits': [N, K]; metadata: the column names)")->required();
  cmd->callback([o, &global] {
    auto lc = models::load_latent_classifier(models::resolve_latent_classifier(o->classifier));
    lc->to(parse_device(global.device));
    auto codes = read_latents(o->latents);
    torch::NoGradGuard no_grad;
    auto logits = lc->forward(codes.to(parse_device(global.device))).cpu();
    io::write_safetensors(o->output, {{"logits", logits}}, {{"faceedit.columns", nlohmann::json(lc->config().columns).dump()}});
    std::cout << nlohmann::json{{"output", o->output}, {"shape", logits.sizes().vec()}}.dump() << "\n";
  });
}

}  // namespace faceedit::cli
