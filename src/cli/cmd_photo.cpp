// faceedit photo: one real photo through the PFSF pipeline (or another editor on its inversion):
// detect + align -> invert -> personalise -> walk / edit -> synthesize -> fuse -> write.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include <opencv2/imgproc.hpp>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/edit/pfsf_walk.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/judges.h"
#include "faceedit/models/model_files.h"
#include "faceedit/pipeline/align.h"
#include "faceedit/pipeline/fuse.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/pipeline/personalize.h"

namespace faceedit::cli {

namespace {

struct PhotoOptions {
  std::string input, output, model = "dcgan-celeba32", keep, perceptual, segmenter = "selfie";
  std::string guide = models::kDefaultGuide;  // our classifier whose features/embedding guide inversion
  std::string judge = "faceres-descriptor";  // identity judge: measures only
  double strength = 1.0;
  int crop = 256, inversion_steps = 300, starts = 4, personalize_steps = 80, walk_steps = 60;
  double step_length = 0.25, threshold = 0.5;
  double zoom = 0, shift = -1;  // 0 / -1: per generator (framing_for)
  bool poisson = false, personalize = false, no_personalize = false, replace = false, flip = false;
  EditorOptions editor;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void stage_line(const std::string& stage, double seconds, nlohmann::json extra = nlohmann::json::object()) {
  extra["stage"] = stage;
  extra["seconds"] = seconds;
  std::cout << extra.dump() << std::endl;
}

cv::Mat to_image(const torch::Tensor& t) { return io::tensor_to_image(t.detach().cpu()); }

cv::Mat upscale(const cv::Mat& img, int size) {
  cv::Mat out;
  cv::resize(img, out, cv::Size(size, size), 0, 0, cv::INTER_NEAREST);  // intermediates: crisp pixels
  return out;
}

// How the generator's training faces were framed relative to FFHQ's crop: the CelebA DCGAN saw tight
// face crops (eyes ~40%, mouth ~75% down), FFHQ-style StyleGAN2 models the FFHQ crop itself.
std::pair<double, double> framing_for(const models::Generator& g) {
  return g.arch() == "dcgan" ? std::pair<double, double>{0.62, 0.05} : std::pair<double, double>{1.0, 0.0};
}

// PFSF's editor for one photo: the walk keeps the identity of the embedding that guided inversion.
std::unique_ptr<edit::PfsfEditor> make_walker(const PhotoOptions& o, std::shared_ptr<const models::Generator> g,
                                              models::LatentSpace space, std::shared_ptr<models::AttributeClassifier> supervision,
                                              std::shared_ptr<models::IdentityEmbedder> identity) {
  edit::PfsfEditorParams p;
  p.attribute = o.editor.attribute;
  p.space = space;
  p.walk.max_steps = o.walk_steps;
  p.walk.step_length = o.step_length;
  p.walk.threshold = o.threshold;
  p.walk.truncation = o.editor.truncation;
  return std::make_unique<edit::PfsfEditor>(std::move(g), std::move(supervision), p, std::move(identity));
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void run_photo(PhotoOptions& o, const GlobalOptions& global) {
  const auto t_start = std::chrono::steady_clock::now();
  if (!std::isfinite(o.strength) || std::abs(o.strength) > 10)
    fail("--strength " + std::to_string(o.strength), "must be a finite number in [-10, 10] (sign: direction, 1: the attribute's crossing)");
  if (o.editor.attribute.empty()) fail("photo", "needs --attr (e.g. smiling)");
  const std::string method = lower(o.editor.method);
  const bool pfsf = method == "pfsf";
  const auto device = parse_device(global.device);

  // Everything that can fail on bad input before any slow work: the photo, the model, the editor.
  const cv::Mat photo = io::read_image(o.input);
  std::shared_ptr<models::Generator> g = models::open_generator(o.model, device);
  std::unique_ptr<edit::Editor> editor;
  std::shared_ptr<models::AttributeClassifier> supervision;
  models::LatentSpace space = pipeline::default_inversion_space(*g);
  if (pfsf) {
    supervision = open_supervision(o.editor.classifiers, device);
    supervision->column(o.editor.attribute);
    if (!o.editor.space.empty()) space = models::parse_latent_space(o.editor.space);
    if (!g->has_space(space)) fail("--space " + o.editor.space, "the " + g->arch() + " generator has no such latent space");
  } else {
    editor = make_editor(o.editor, *g);
    space = editor->space();
  }
  std::unique_ptr<models::FaceClassifier> guide_net;
  if (!o.guide.empty() && o.guide != "none") {
    const std::string path = models::is_trained_set(o.guide) ? models::trained_classifier_path(o.guide).string() : o.guide;
    guide_net = models::load_face_classifier(path);
    guide_net->to(device);
  }
  std::unique_ptr<models::FeatureDistance> perceptual;
  if (!o.perceptual.empty()) perceptual = std::make_unique<models::TorchScriptFeatureDistance>(o.perceptual);
  else if (guide_net) perceptual = std::make_unique<models::ClassifierFeatureDistance>(*guide_net);
  std::shared_ptr<models::IdentityEmbedder> guide_identity;
  if (guide_net) guide_identity = std::make_shared<models::ClassifierEmbedder>(*guide_net);
  // pfsf: photo walks itself (not edit()) to keep the whole path for --keep-intermediates.
  std::unique_ptr<edit::PfsfEditor> walker;
  if (pfsf) walker = make_walker(o, g, space, supervision, guide_identity);
  const edit::Editor& method_editor = pfsf ? static_cast<const edit::Editor&>(*walker) : *editor;
  std::unique_ptr<models::PortraitSegmenter> segmenter;
  if (o.segmenter != "none") {
    segmenter = models::open_segmenter(o.segmenter);
    segmenter->to(device);
  }
  nlohmann::json timings;

  // 1. Detect and align.
  auto t0 = std::chrono::steady_clock::now();
  const pipeline::AlignedFace ffhq = pipeline::align_single_face(photo, o.crop, o.input);
  const auto [auto_zoom, auto_shift] = framing_for(*g);
  const double zoom = o.zoom > 0 ? o.zoom : auto_zoom, shift = o.shift >= -0.5 ? o.shift : auto_shift;
  pipeline::AlignedFace face = zoom == 1.0 && shift == 0.0 ? ffhq : pipeline::align_face(photo, pipeline::reframe_quad(ffhq.quad, zoom, shift), o.crop);
  face.landmarks = ffhq.landmarks;
  pipeline::FuseParams fp;
  fp.poisson = o.poisson;
  // The portrait usually runs past the crop's edges (the DCGAN's crop is tight): fade the mask out
  // towards the edges, or the edit would stop at a visible square seam in the photo.
  const cv::Mat mask = pipeline::portrait_mask(face.crop, pipeline::landmarks_in_crop(face, o.crop), segmenter.get(), fp)
                           .mul(pipeline::square_mask(o.crop, std::max(2, o.crop / 8)));
  timings["align"] = seconds_since(t0);
  stage_line("align", timings["align"], {{"crop", o.crop}, {"zoom", zoom}, {"shift", shift}, {"mask_coverage", cv::mean(mask)[0]}});

  // 2. Invert.
  t0 = std::chrono::steady_clock::now();
  const auto target = pipeline::generator_target(face.crop, *g);
  pipeline::InversionParams ip;
  ip.space = space;
  ip.steps = o.inversion_steps;
  ip.starts = o.starts;
  ip.progress = true;
  const auto inv = pipeline::invert(*g, target, {perceptual.get(), guide_identity.get()}, ip);
  timings["inversion"] = seconds_since(t0);
  stage_line("inversion", timings["inversion"], inv.to_json());

  // 3. Personalise (PFSF; other methods on request).
  const int64_t r = g->resolution();
  cv::Mat small_mask;
  cv::resize(mask, small_mask, cv::Size(static_cast<int>(r), static_cast<int>(r)), 0, 0, cv::INTER_AREA);
  const auto mask_t = torch::from_blob(small_mask.data, {1, 1, r, r}, torch::kFloat32).clone().to(g->device());
  nlohmann::json personalisation = nullptr;
  pipeline::PersonalizeResult pers;
  const bool do_personalize = (pfsf || o.personalize) && !o.no_personalize && o.personalize_steps > 0;
  if (do_personalize) {
    t0 = std::chrono::steady_clock::now();
    pipeline::PersonalizeParams pp;
    pp.steps = o.personalize_steps;
    pp.progress = true;
    pers = pipeline::personalize(*g, inv.latent, space, target, mask_t, perceptual.get(), pp);
    personalisation = pers.to_json();
    timings["personalisation"] = seconds_since(t0);
    stage_line("personalisation", timings["personalisation"], personalisation);
  }

  // 4. Walk (PFSF) or edit.
  t0 = std::chrono::steady_clock::now();
  torch::Tensor edited_latent;
  nlohmann::json edit_json;
  edit::WalkPath path;
  double strength = o.strength;
  if (o.flip) {  // towards the other side of the attribute, as the method itself judges the face
    torch::NoGradGuard no_grad;
    strength = method_editor.flip_sign(inv.latent)[0].item<double>() * std::abs(o.strength);
  }
  if (pfsf) {
    const auto alpha = torch::full({1}, strength);  // sign: direction, magnitude: strength
    path = walker->walk(inv.latent, alpha);
    edited_latent = path.point(alpha.abs());
    edit_json = path.to_json()["samples"][0];
    if (path.crossing[0].item<double>() == 0.0)
      std::cerr << "note: " << o.input << ": " << o.editor.attribute << " is already " << (strength < 0 ? "below" : "above")
                << " the threshold (p = " << path.probs[0][0].item<double>() << "), so the walk stays put; use --strength "
                << (strength < 0 ? "+" : "-") << "1 for the opposite edit or a " << (strength < 0 ? "lower" : "higher")
                << " --threshold\n";
  } else {
    torch::NoGradGuard no_grad;
    edited_latent = editor->edit(inv.latent, torch::full({1}, strength, inv.latent.options()));
    edit_json = editor->describe();
  }
  timings[pfsf ? "walk" : "edit"] = seconds_since(t0);
  stage_line(pfsf ? "walk" : "edit", timings[pfsf ? "walk" : "edit"], edit_json);

  // 5. Synthesize and fuse. The generator's change (edited - reconstruction) is added to the photo's
  // own crop, so the face keeps the photo's detail at any crop size; --replace pastes G's image.
  t0 = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  const auto recon = g->synthesize(g->to_synthesis_codes(inv.latent, space), models::NoiseMode::Const);
  const auto edited_img = g->synthesize(g->to_synthesis_codes(edited_latent, space), models::NoiseMode::Const);
  torch::Tensor edited_crop_t;
  const auto crop_t = io::image_to_tensor(face.crop).to(g->device());
  if (o.replace) edited_crop_t = models::resize_images(edited_img, o.crop, o.crop);
  else edited_crop_t = crop_t + models::resize_images(edited_img - recon, o.crop, o.crop);
  const cv::Mat edited_crop = to_image(edited_crop_t[0]);
  const cv::Mat result = pipeline::fuse(photo, face, edited_crop, mask, fp);
  timings["fusion"] = seconds_since(t0);
  stage_line("fusion", timings["fusion"]);

  nlohmann::json metrics{{"psnr", inv.psnr}, {"identity_cosine", inv.identity_cosine},
                         {"identity_embedder", guide_identity ? guide_identity->name() : "none"}};
  if (guide_identity) {
    const auto e = guide_identity->embed(torch::cat({crop_t, io::image_to_tensor(pipeline::blend_crops(face.crop, edited_crop, mask)).to(g->device())}));
    metrics["identity_cosine_edited"] = (e[0] * e[1]).sum().item<double>();
  }
  if (do_personalize) metrics["psnr_personalised"] = pipeline::psnr(recon.clamp(-1, 1), target);
  if (supervision) {
    const auto col = supervision->column(o.editor.attribute);
    const auto p = supervision->predict(torch::cat({recon, edited_img})).select(1, col);
    metrics["target_prob_before"] = p[0].item<double>();
    metrics["target_prob_after"] = p[1].item<double>();
  }

  // The independent identity judge (never a guide): reconstruction vs the crop, result vs the photo.
  if (o.judge != "none") {
    try {
      auto judge = models::open_embedder(o.judge);
      judge->to(g->device());
      const auto before = io::image_to_tensor(ffhq.crop).to(g->device());
      const auto after = io::image_to_tensor(pipeline::align_face(result, ffhq.quad, o.crop).crop).to(g->device());
      const auto e = judge->embed(torch::cat({before, after, models::resize_images(recon.clamp(-1, 1), o.crop, o.crop), crop_t}));
      metrics["judge"] = judge->name();
      metrics["judge_identity_cosine_photo"] = (e[0] * e[1]).sum().item<double>();
      metrics["judge_identity_cosine_reconstruction"] = (e[2] * e[3]).sum().item<double>();
    } catch (const Error& err) {
      metrics["judge_error"] = err.what();
    }
  }

  if (!o.keep.empty()) {
    const std::filesystem::path dir(o.keep);
    std::filesystem::create_directories(dir);
    io::write_image((dir / "aligned.png").string(), face.crop);
    io::write_image((dir / "reconstruction.png").string(), upscale(to_image(inv.reconstruction[0]), o.crop));
    if (do_personalize) io::write_image((dir / "reconstruction_personalised.png").string(), upscale(to_image(recon[0]), o.crop));
    io::write_image((dir / "edited_generator.png").string(), upscale(to_image(edited_img[0]), o.crop));
    io::write_image((dir / "edited_crop.png").string(), edited_crop);
    cv::Mat mask8;
    mask.convertTo(mask8, CV_8U, 255.0);
    io::write_image((dir / "mask.png").string(), mask8);
    cv::Mat before_after;
    cv::hconcat(photo, result, before_after);
    io::write_image((dir / "before_after.jpg").string(), before_after);
    io::write_safetensors((dir / "latents.safetensors").string(),
                          {{"pivot", inv.latent.cpu()}, {"edited", edited_latent.detach().cpu()}},
                          {{"faceedit.space", models::to_string(space)}, {"faceedit.model", o.model}});
    if (pfsf) path.save((dir / "walk.safetensors").string());
    if (do_personalize) pipeline::save_weight_delta((dir / "personalised.delta.safetensors").string(), pers.delta, *g, o.model);
  }
  io::write_image(o.output, result);
  timings["total"] = seconds_since(t_start);
  std::cout << nlohmann::json{{"input", o.input},           {"output", o.output},   {"model", o.model},
                              {"method", method},           {"attribute", o.editor.attribute},
                              {"strength", strength},     {"space", models::to_string(space)},
                              {"timings", timings},         {"metrics", metrics},   {"inversion", inv.to_json()},
                              {"personalisation", personalisation}, {"edit", edit_json}}
                   .dump()
            << std::endl;
}

}  // namespace

void add_photo_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("photo", "Edit one attribute of the face in a photo: align, invert, personalise, walk (PFSF) or edit, fuse back");
  auto o = std::make_shared<PhotoOptions>();
  o->editor.method = "pfsf";
  cmd->add_option("input", o->input, "photo (JPEG, PNG, ...) with exactly one face")->required();
  cmd->add_option("-o,--output", o->output, "edited photo (same size as the input)")->required();
  add_editor_options(cmd, o->editor);
  cmd->get_option("--method")->description("pfsf (default), or an editor of `faceedit edit` (interfacegan, ...) applied to the inversion");
  cmd->add_option("--strength", o->strength, "edit strength: sign = direction; pfsf: 1 = where the attribute flips")->capture_default_str();
  cmd->add_flag("--flip", o->flip, "move the face to the other side of its attribute (the sign of --strength is ignored)");
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  cmd->add_option("--guide", o->guide, "our classifier guiding inversion (features + identity): name, path or none")->capture_default_str();
  cmd->add_option("--judge-identity", o->judge, "identity judge for the metrics (none: skip)")->capture_default_str();
  cmd->add_option("--perceptual", o->perceptual, "LPIPS-like TorchScript forward(a, b) -> distances, instead of the guide's features");
  cmd->add_option("--segmenter", o->segmenter, "portrait segmenter (judge name or path; none: landmark hull only)")->capture_default_str();
  cmd->add_option("--crop", o->crop, "aligned crop size")->capture_default_str()->check(CLI::Range(32, 1024));
  cmd->add_option("--zoom", o->zoom, "crop = FFHQ's quad scaled by this (default: 0.62 for the DCGAN's tight crops, else 1)")->check(CLI::Range(0.2, 3.0));
  cmd->add_option("--shift", o->shift, "crop moved this fraction of its side towards the chin (default: 0.05 DCGAN, else 0)")->check(CLI::Range(-0.5, 0.5));
  cmd->add_option("--inversion-steps", o->inversion_steps, "inversion steps")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--starts", o->starts, "random starts of a Z inversion")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--personalize-steps", o->personalize_steps, "personalisation steps (0: none)")->capture_default_str()->check(CLI::Range(0, 100000));
  cmd->add_flag("--personalize", o->personalize, "personalise for other methods too");
  cmd->add_flag("--no-personalize", o->no_personalize, "skip personalisation");
  cmd->add_option("--walk-steps", o->walk_steps, "pfsf: walk budget in steps")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--step-length", o->step_length, "pfsf: latent distance per step")->capture_default_str()->check(CLI::Range(1e-6, 100.0));
  cmd->add_option("--threshold", o->threshold, "pfsf: target probability that counts as flipped")->capture_default_str()->check(CLI::Range(0.01, 0.99));
  cmd->add_option("--keep-intermediates", o->keep, "directory for the aligned crop, reconstruction, edit, mask, before/after, walk, delta");
  cmd->add_flag("--poisson", o->poisson, "Poisson (seamless) blending inside the mask");
  cmd->add_flag("--replace", o->replace, "paste the generator's face instead of adding its change to the photo's crop");
  cmd->callback([o, &global] { run_photo(*o, global); });
}

}  // namespace faceedit::cli
