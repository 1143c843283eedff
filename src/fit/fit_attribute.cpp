// `faceedit fit-attribute`: an attribute no classifier has, from labelled photos, added to a pack
// (fit/fit.h). Photos -> aligned crops -> inverted latents (cached per photo) -> linear SVM ->
// an interfacegan editor calibrated on the SVM's verdict -> pack.json.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/editor_factory.h"
#include "faceedit/edit/pack.h"
#include "faceedit/eval/edit_sweep.h"
#include "faceedit/models/classifier_features.h"
#include "faceedit/error.h"
#include "faceedit/fit/fit.h"
#include "faceedit/io/content_hash.h"
#include "faceedit/io/image.h"
#include "faceedit/io/json_file.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/model_files.h"
#include "faceedit/face/align.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/pipeline/photo.h"
#include "faceedit/progress.h"
#include "faceedit/seeds.h"

namespace faceedit::fit {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMinPhotosPerSide = 5;

bool is_photo(const fs::path& f) {
  auto ext = f.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp";
}

// The photos of a labelled folder, sorted by name; an error naming the folder when it is missing or
// holds too few.
std::vector<fs::path> list_photos(const std::string& dir, const std::string& side) {
  if (dir.empty()) fail("fit-attribute --" + side, "name a folder of photos");
  if (!fs::exists(dir)) fail(dir, "does not exist (the " + side + " photos' folder)");
  if (!fs::is_directory(dir)) fail(dir, "is not a folder (the " + side + " photos' folder)");
  std::vector<fs::path> photos;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && is_photo(entry.path())) photos.push_back(entry.path());
  std::sort(photos.begin(), photos.end());
  if (static_cast<int64_t>(photos.size()) < kMinPhotosPerSide)
    fail(dir, "holds " + std::to_string(photos.size()) + " photos (jpg, jpeg, png, bmp, webp); the " + side + " side needs at least " +
                  std::to_string(kMinPhotosPerSide));
  return photos;
}

std::string read_bytes(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  if (!in) fail(f.string(), "cannot be read");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void check_name(const std::string& name) {
  if (name.empty()) fail("fit-attribute --name", "name the attribute");
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_'))
      fail("fit-attribute --name " + name, "use letters, digits and '_' only (the name is also a file name)");
}

// One photo's inversion, cached under its key.
struct PhotoLatent {
  fs::path photo, cache;
  torch::Tensor latent;  // [1, dim]
  double psnr = 0;
};

// The pack's latent space: its samples', else its first editor's.
models::LatentSpace pack_space(const edit::Pack& pack) {
  if (pack.json.contains("samples") && pack.json["samples"].contains("space"))
    return models::parse_latent_space(pack.json["samples"]["space"].get<std::string>());
  for (const auto& e : pack.editors)
    if (e.space) return *e.space;
  return models::LatentSpace::Z;
}

// What a scorer learned: the direction (a boundary in the pack's latent space), the verdict that
// calibrates it (labels of codes: true = has the attribute), and its report.
struct Learned {
  edit::Boundary boundary;
  std::function<torch::Tensor(const torch::Tensor& codes)> labels;
  std::string verdict;
  nlohmann::json report;
};

// A photo's face as the generator draws faces: aligned, framed, downsampled to its resolution.
torch::Tensor generator_framed_face(const fs::path& photo_file, const models::Generator& g, const pipeline::PhotoParams& pp) {
  const auto photo = io::read_image(photo_file.string());
  const auto ffhq = face::align_single_face(photo, pp.crop, photo_file.string());
  const auto face = face::align_face(photo, pipeline::framed_quad(ffhq.quad, g, pp), pp.crop);
  return models::resize_images(io::image_to_tensor(face.crop), g.resolution(), g.resolution());
}

// The SVM of the photos: positives first (+1), then negatives (-1), so train_boundary's top and
// bottom k are exactly the two folders; a 70/30 split for the held-out accuracy, then all but one
// photo per side for the direction.
std::pair<edit::Boundary, double> photo_svm(const torch::Tensor& X, int64_t k) {
  const auto y = torch::cat({torch::ones({k}), -torch::ones({k})});
  edit::BoundaryParams bp;
  bp.ratio = 0.5;
  bp.split = 0.7;
  const auto held = edit::train_boundary(X, y, bp);
  bp.split = (static_cast<double>(k) - 0.5) / static_cast<double>(k);
  auto b = edit::train_boundary(X, y, bp);
  b.report.erase("train_seconds");
  b.report.erase("total_seconds");
  return {b, held.report["validation"]["accuracy"].get<double>()};
}

torch::Tensor flat(const torch::Tensor& c) { return c.reshape({c.size(0), -1}).to(torch::kFloat32); }

// Scorer "head": a linear SVM on the guide's pooled features of the photos' faces, then InterFaceGAN
// on generated faces scored by it.
Learned learn_with_head(const FitAttributeParams& p, const std::vector<fs::path>& photos, int64_t k, std::shared_ptr<models::Generator> g,
                        models::LatentSpace space, const pipeline::PhotoParams& pp, const std::string& name) {
  const auto guide = pipeline::open_inversion_guide(pp, p.device);
  if (!guide.classifier) fail("fit-attribute --scorer head", "needs the pack's guide classifier (the pack names '" + pp.guide + "')");
  auto embedder = std::make_shared<models::ClassifierEmbedder>(*guide.classifier);
  auto classifier = guide.classifier;  // kept alive with the embedder
  const auto features = [embedder, classifier](const torch::Tensor& images) {
    torch::NoGradGuard no_grad;
    return embedder->embed(images).to(torch::kCPU, torch::kFloat32);
  };
  std::vector<torch::Tensor> faces;
  {
    Progress progress("fit-attribute " + name + ": align", static_cast<int64_t>(photos.size()), "photos", p.progress);
    for (size_t i = 0; i < photos.size(); ++i) {
      if (stop_requested()) fail("fit-attribute " + name, "interrupted; rerun the same command");
      faces.push_back(generator_framed_face(photos[i], *g, pp).to(p.device));
      progress.update(static_cast<int64_t>(i) + 1);
    }
    progress.finish();
  }
  auto [head, held_out] = photo_svm(features(torch::cat(faces)), k);
  auto head_ptr = std::make_shared<edit::Boundary>(head);
  // Head scores of codes' faces, a batch at a time (memory stays flat for any count).
  auto scores = [g, space, features, head_ptr](const torch::Tensor& codes) {
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < codes.size(0); i += 500) {
      const auto images = eval::generate_in_batches(*g, codes.narrow(0, i, std::min<int64_t>(500, codes.size(0) - i)), space, 1.0, 250);
      out.push_back(edit::signed_distance(features(images), *head_ptr));
    }
    return torch::cat(out);
  };
  const auto codes = g->sample_codes(p.samples, seeds::kFitAttributeSeed, space);
  torch::Tensor s;
  {
    Progress progress("fit-attribute " + name + ": score", p.samples, "faces", p.progress);
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < p.samples; i += 2000) {
      if (stop_requested()) fail("fit-attribute " + name, "interrupted; rerun the same command");
      parts.push_back(scores(codes.narrow(0, i, std::min<int64_t>(2000, p.samples - i))));
      progress.update(std::min<int64_t>(i + 2000, p.samples));
    }
    progress.finish();
    s = torch::cat(parts);
  }
  Learned out;
  out.boundary = edit::train_boundary(flat(codes), s, edit::BoundaryParams{});  // the extreme 2% per side, as fit
  out.boundary.report.erase("train_seconds");
  out.boundary.report.erase("total_seconds");
  out.labels = [scores](const torch::Tensor& c) { return scores(c) >= 0; };
  out.verdict = "guide-feature-head";
  out.report = {{"scorer", "head"},
                {"head", {{"features", embedder->name()}, {"dim", embedder->dim()}, {"train_accuracy", head.report["train"]["accuracy"]},
                          {"held_out_accuracy_at_split_0.7", held_out}}},
                {"samples", p.samples},
                {"positive_share_of_samples", (s >= 0).to(torch::kDouble).mean().item<double>()},
                {"boundary_validation_accuracy", out.boundary.report["validation"]["accuracy"]}};
  return out;
}

// Scorer "latents": each photo inverted (cached per photo), a linear SVM on the latents.
Learned learn_from_latents(const FitAttributeParams& p, const std::vector<fs::path>& positives, const std::vector<fs::path>& negatives,
                           int64_t k, std::shared_ptr<models::Generator> g, models::LatentSpace space, const pipeline::PhotoParams& pp,
                           const edit::Pack& pack, const fs::path& dir, const std::string& name) {
  // 2. Align every photo not yet inverted (cheap; a photo without one face stops here, naming it).
  const fs::path cache_dir = p.latents_cache.empty() ? dir / "fit-attribute" / "latents" : fs::path(p.latents_cache);
  const nlohmann::json inversion_settings = {{"format", "faceedit.fit-attribute-latent/1"}, {"model_hash", pack.model_hash},
                                             {"space", models::to_string(space)}, {"steps", p.inversion_steps},
                                             {"starts", p.starts}, {"crop", p.crop}, {"guide", pack.guide}};
  std::vector<PhotoLatent> items;
  for (const auto* side : {&positives, &negatives})
    for (const auto& f : *side) {
      PhotoLatent it;
      it.photo = f;
      it.cache = cache_dir / (io::ContentHash().add(read_bytes(f)).add(inversion_settings.dump()).hex() + ".safetensors");
      items.push_back(it);
    }
  std::vector<torch::Tensor> targets(items.size());
  int64_t to_invert = 0;
  {
    Progress progress("fit-attribute " + name + ": align", static_cast<int64_t>(items.size()), "photos", p.progress);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!fs::exists(items[i].cache)) {
        const auto photo = io::read_image(items[i].photo.string());
        const auto ffhq = face::align_single_face(photo, p.crop, items[i].photo.string());
        const auto face = face::align_face(photo, pipeline::framed_quad(ffhq.quad, *g, pp), p.crop);
        targets[i] = pipeline::generator_target(face.crop, *g).to(p.device);
        ++to_invert;
      }
      progress.update(static_cast<int64_t>(i) + 1);
    }
    progress.finish();
  }

  // 3. Invert (each latent written atomically as soon as it is found: a rerun continues).
  if (to_invert > 0) {
    const auto guide = pipeline::open_inversion_guide(pp, p.device);
    fs::create_directories(cache_dir);
    Progress progress("fit-attribute " + name + ": invert", to_invert, "photos", p.progress);
    int64_t done = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!targets[i].defined()) continue;
      if (stop_requested()) fail("fit-attribute " + name, "interrupted; rerun the same command to continue");
      pipeline::InversionParams ip;
      ip.space = space;
      ip.steps = p.inversion_steps;
      ip.starts = p.starts;
      const auto inv = pipeline::invert(*g, targets[i], {guide.features.get(), guide.identity.get()}, ip);
      io::write_safetensors(items[i].cache.string(),
                            {{"latent", inv.latent.detach().to(torch::kCPU).contiguous()}, {"psnr", torch::tensor({inv.psnr})}},
                            {{"photo", items[i].photo.string()}, {"settings", inversion_settings.dump()}});
      targets[i] = torch::Tensor();
      progress.update(++done, "psnr " + std::to_string(inv.psnr).substr(0, 5));
    }
    progress.finish();
  }
  for (auto& it : items) {
    const io::SafetensorsReader file(it.cache.string());
    it.latent = file.load("latent").reshape({1, -1});
    it.psnr = file.load("psnr").item<double>();
  }

  // 4. The linear SVM on the latents.
  std::vector<torch::Tensor> rows;
  double psnr_sum = 0;
  for (const auto& it : items) rows.push_back(it.latent), psnr_sum += it.psnr;
  auto [b, held_out] = photo_svm(torch::cat(rows), k);
  Learned out;
  out.boundary = b;
  auto boundary_ptr = std::make_shared<edit::Boundary>(b);
  out.labels = [boundary_ptr](const torch::Tensor& c) { return edit::signed_distance(flat(c), *boundary_ptr) >= 0; };
  out.verdict = "svm-on-latents";
  out.report = {{"scorer", "latents"},
                {"svm", {{"train_accuracy", b.report["train"]["accuracy"]}, {"held_out_accuracy_at_split_0.7", held_out}}},
                {"inverted_here", to_invert},
                {"inversion", inversion_settings},
                {"inversion_psnr_mean", psnr_sum / static_cast<double>(items.size())}};
  return out;
}

}  // namespace

nlohmann::json fit_attribute(const FitAttributeParams& p, const std::string& pack_dir) {
  const auto t_start = std::chrono::steady_clock::now();
  // 1. Everything checkable before slow work: name, pack, folders, model.
  check_name(p.name);
  const std::string name = models::canonical_attribute(p.name);
  if (p.inversion_steps < 1 || p.starts < 1) fail("fit-attribute", "inversion steps and starts must be >= 1");
  if (p.calibration_n < 10) fail("fit-attribute --calibration-n", "needs at least 10 held-out faces");
  if (p.scorer != "head" && p.scorer != "latents") fail("fit-attribute --scorer " + p.scorer, "is head or latents");
  if (p.scorer == "head" && p.samples < 1000) fail("fit-attribute --samples", "needs at least 1000 faces to score");
  auto pack = edit::load_pack(pack_dir);
  const fs::path dir = fs::absolute(pack_dir);
  const auto pack_file = (dir / "pack.json").string();
  std::vector<std::string> existing;
  for (const auto& e : pack.editors)
    if (e.attribute == name) existing.push_back(e.method);
  if (!existing.empty() && !p.replace) {
    std::string list;
    for (const auto& m : existing) list += (list.empty() ? "" : ", ") + m;
    fail(pack_file, "already has editors for '" + name + "' (" + list + "): pass --replace to replace them, or choose another --name");
  }
  auto positives = list_photos(p.positive, "positive");
  auto negatives = list_photos(p.negative, "negative");
  const int64_t k = static_cast<int64_t>(std::min(positives.size(), negatives.size()));
  positives.resize(static_cast<size_t>(k));
  negatives.resize(static_cast<size_t>(k));
  std::shared_ptr<models::Generator> g = models::open_generator(pack.model, p.device);
  edit::check_pack_model(pack, *g);
  const auto space = pack_space(pack);

  pipeline::PhotoParams pp;
  pp.crop = p.crop;
  pp.guide = pack.guide.empty() ? pp.guide : pack.guide;
  std::vector<fs::path> photos = positives;
  photos.insert(photos.end(), negatives.begin(), negatives.end());
  // 2-4. The direction, by the chosen scorer.
  Learned learned = p.scorer == "head" ? learn_with_head(p, photos, k, g, space, pp, name)
                                       : learn_from_latents(p, positives, negatives, k, g, space, pp, pack, dir, name);
  auto& boundary = learned.boundary;
  boundary.attribute = name;
  boundary.space = space;
  boundary.report["photos_per_side"] = k;
  const auto out_dir = dir / "fit-attribute" / name;
  fs::create_directories(out_dir);
  const auto editor_file = out_dir / "interfacegan.safetensors";
  edit::save_boundary(boundary, editor_file.string());

  // 5. Calibration: the native strength at which the verdict's label flips on the median held-out
  // face (each moved towards its other side through the editor itself).
  edit::PackEditor pe;
  pe.attribute = name;
  pe.method = "interfacegan";
  pe.space = space;
  pe.file = editor_file.string();
  pe.unit = "labels-median-crossing";
  auto editor = edit::open_editor(edit::pack_editor_spec(pe), g);
  const auto codes = g->sample_codes(p.calibration_n, seeds::kCalibrationSeed, space);
  const auto label0 = learned.labels(codes);
  const auto sign = editor->flip_sign(codes).to(codes.dtype());
  nlohmann::json probes = nlohmann::json::array();
  const auto rate = [&](double alpha) {
    if (alpha == 0) return 0.0;
    const auto label = learned.labels(editor->edit(codes, sign * alpha));
    const double r = (label != label0).to(torch::kDouble).mean().item<double>();
    probes.push_back({{"alpha", alpha}, {"target_change", r}});
    return r;
  };
  const auto crossing = find_crossing(rate, 0.5, 1.0, 64.0, 8);
  if (!crossing.reached) fail(pack_file, "the learned direction of '" + name + "' flips no held-out face's label by strength 64");
  pe.scale = crossing.alpha;
  pe.calibration = {{"unit", pe.unit},      {"verdict", learned.verdict},     {"reached", crossing.reached},
                    {"n", p.calibration_n}, {"seed", seeds::kCalibrationSeed}, {"probes", probes}};
  pe.scores = learned.report;
  pe.scores["photos_per_side"] = k;

  // 6. pack.json, last: NAME's old editors out (with replace), the new one in, best = it.
  std::vector<edit::PackEditor> kept;
  for (auto& e : pack.editors)
    if (e.attribute != name) kept.push_back(std::move(e));
  kept.push_back(pe);
  pack.editors = std::move(kept);
  pack.dir = dir.string();
  if (!pack.json.contains("best") || !pack.json["best"].is_object()) pack.json["best"] = nlohmann::json::object();
  pack.json["best"][name] = "interfacegan";
  if (!pack.json.contains("from_photos") || !pack.json["from_photos"].is_object()) pack.json["from_photos"] = nlohmann::json::object();
  pack.json["from_photos"][name] = {{"positive", fs::absolute(p.positive).string()}, {"negative", fs::absolute(p.negative).string()},
                                    {"photos_per_side", k}, {"scorer", p.scorer}};
  edit::save_pack(pack);
  return {{"pack", pack_file},
          {"attribute", name},
          {"file", editor_file.string()},
          {"photos_per_side", k},
          {"inverted_here", learned.report.value("inverted_here", int64_t{0})},
          {"scorer", learned.report},
          {"calibration", {{"scale", pe.scale}, {"unit", pe.unit}}},
          {"replaced", existing},
          {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count()}};
}

}  // namespace faceedit::fit
