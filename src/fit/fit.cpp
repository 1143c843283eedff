#include "faceedit/fit/fit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/editor_factory.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/eval/edit_sweep.h"
#include "faceedit/io/image.h"
#include "faceedit/io/json_file.h"
#include "faceedit/models/latent_classifier.h"
#include "faceedit/models/model_files.h"
#include "faceedit/face/pose.h"
#include "faceedit/progress.h"
#include "faceedit/seeds.h"
#include "faceedit/train/train_editor.h"
#include "faceedit/train/train_latent_classifier.h"
#include "fit_internal.h"

namespace faceedit::fit {

namespace fs = std::filesystem;

namespace {

bool is_pose(const std::string& a) { return a == "yaw" || a == "pitch" || a == "roll"; }
bool is_unsupervised(const std::string& method) { return method == "sefa" || method == "ganspace"; }
bool wants(const FitParams& p, const std::string& method) {
  return std::find(p.methods.begin(), p.methods.end(), method) != p.methods.end();
}

struct Job {
  const FitParams& p;
  fs::path dir;
  std::shared_ptr<models::Generator> g;
  edit::BoundarySamples samples;
  std::vector<std::string> attributes, learned;
  nlohmann::json stages = nlohmann::json::object();
  models::JudgePanel panel;

  fs::path file(const std::string& method, const std::string& name, const std::string& ext = ".safetensors") const {
    return dir / method / (name + ext);
  }

  // Runs compute(item) for this process's items whose output is missing, with progress; then
  // waits for the other processes (MPI) so the next stage sees every file.
  void stage(const std::string& name, const std::vector<std::string>& items,
             const std::function<fs::path(const std::string&)>& output, const std::function<void(const std::string&)>& compute) {
    const auto t0 = std::chrono::steady_clock::now();
    Progress progress("fit: " + name, static_cast<int64_t>(items.size()), "items", p.progress);
    int64_t done = 0, computed = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (p.share.owns(static_cast<int64_t>(i)) && !fs::exists(output(items[i]))) {
        if (stop_requested()) fail("fit " + dir.string(), "interrupted in stage " + name + "; rerun the same command to continue");
        fs::create_directories(output(items[i]).parent_path());
        compute(items[i]);
        ++computed;
      }
      progress.update(++done, items[i]);
    }
    progress.finish();
    p.share.wait_for_all();
    stages[name] = {{"items", items.size()},
                    {"computed_here", computed},
                    {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  }
};

// The job's settings: a rerun must be the same job (else an error naming the differing setting).
void claim_settings(const FitParams& p, const models::Generator& g, const fs::path& dir) {
  nlohmann::json settings = {{"format", "faceedit.fit/1"}, {"model", p.model},   {"n", p.n},
                                   {"seed", p.seed},               {"truncation", p.truncation},
                                   {"attributes", p.attributes},   {"methods", p.methods},
                                   {"learned_attributes", p.learned_attributes},
                                   {"guide", p.guide},             {"pose", p.pose},
                                   {"editor_steps", p.editor_steps}, {"lc_epochs", p.lc_epochs},
                                   {"calibration_n", p.calibration_n}, {"directions", p.directions}};
  // Recorded only where it changes the scores (a generator that stops early), so packs of the
  // other models keep their settings.
  if (g.stops_early(p.synthesis_size))
    settings["synthesis_resolution"] = g.preview_resolution(p.synthesis_size);
  const auto path = dir / "fit.json";
  p.share.claim_job([&] {
    if (auto old = io::read_json_file_if_exists(path, "a fit job's settings")) {
      for (const auto& [k, v] : settings.items())
        if (!old->contains(k) || (*old)[k] != v)
          fail(path.string(), "holds another fit job (" + k + " was " + (old->contains(k) ? (*old)[k].dump() : "unset") +
                                  ", now " + v.dump() + "): use another directory");
    } else {
      io::write_json_file(path, settings);
    }
  });
}

void check_params(const FitParams& p) {
  if (p.n < 100) fail("fit --n " + std::to_string(p.n), "needs at least 100 samples (InterFaceGAN takes the extreme 2% per side)");
  if (p.calibration_n < 10) fail("fit --calibration-n", "needs at least 10 held-out faces");
  if (p.directions < 1 || p.directions > 64) fail("fit --directions", "must be in [1, 64]");
  if (p.editor_steps < 1) fail("fit --editor-steps", "must be >= 1");
  for (const auto& m : p.methods) {
    const auto& known = edit::pack_methods();
    if (std::find(known.begin(), known.end(), m) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail("fit --methods " + m, "unknown method (methods: " + list + ")");
    }
  }
  if (p.methods.empty()) fail("fit --methods", "name at least one method");
}

double projection_std(const torch::Tensor& latents, const torch::Tensor& direction) {
  return latents.to(torch::kFloat64).mv(direction.to(torch::kFloat64)).std().item<double>();
}

// A boundary's report without its training clock, so a resumed job's files are byte-identical.
edit::Boundary without_timings(edit::Boundary b) {
  b.report.erase("train_seconds");
  b.report.erase("total_seconds");
  return b;
}

void save_direction(const torch::Tensor& d, models::LatentSpace space, const std::string& name, const std::string& method,
                    int64_t rank, const fs::path& path) {
  edit::Boundary b;
  b.normal = d.contiguous();
  b.space = space;
  b.attribute = name;
  b.report = {{"method", method}, {"rank", rank}};
  edit::save_boundary(b, path.string());
}

}  // namespace

nlohmann::json fit_pack(const FitParams& p, const std::string& dir_name) {
  check_params(p);
  const fs::path dir = fs::absolute(dir_name);
  fs::create_directories(dir);
  JobLock lock(dir, p.share, "faceedit fit");
  Job job{p, dir, models::open_generator(p.model, p.device), {}, {}, {}, nlohmann::json::object(), {}};
  claim_settings(p, *job.g, dir);
  auto& g = *job.g;
  const auto t_start = std::chrono::steady_clock::now();

  // 1. Samples, scored by the guide (and the pose scorer).
  {
    const auto t0 = std::chrono::steady_clock::now();
    auto sp = edit::sample_job_default_params();
    sp.model_spec = p.model;
    sp.classifier_specs = {p.guide};
    if (p.pose) {
      face::register_pose_classifier();
      sp.classifier_specs.push_back("pose");
    }
    sp.n = p.n;
    sp.seed = p.seed;
    sp.truncation = p.truncation;
    sp.batch = p.batch;
    sp.synthesis_size = p.synthesis_size;
    sp.progress = p.progress;
    sp.device = p.device;
    sp.share = p.share;
    const auto summary = edit::run_sample_job(sp, (dir / "samples").string());
    job.stages["samples"] = {{"items", p.n}, {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
    if (summary.at("shards_complete").get<int64_t>() < summary.at("shards").get<int64_t>())
      return {{"dir", dir.string()}, {"complete", false}, {"stages", job.stages},
              {"next", "the samples are not all written yet: run the remaining tasks, then the same command without --shard"}};
  }
  job.samples = edit::read_boundary_samples((dir / "samples").string(), std::nullopt);
  const auto& S = job.samples;
  if (p.attributes.empty()) {
    job.attributes = S.columns;
  } else {
    for (const auto& a : p.attributes) {
      edit::score_column(S, a);  // throws listing the columns
      job.attributes.push_back(models::canonical_attribute(a));
    }
  }
  if (p.learned_attributes.empty()) {
    for (const auto& a : job.attributes)
      if (!is_pose(a)) job.learned.push_back(a);
  } else {
    for (const auto& a : p.learned_attributes) {
      const auto c = models::canonical_attribute(a);
      if (is_pose(c)) fail("fit --learned-attributes " + a, "pose is edited by boundaries only (the latent classifier has no pose column)");
      edit::score_column(S, c);
      job.learned.push_back(c);
    }
  }
  const auto space = S.space;

  // 2. InterFaceGAN boundaries (pose included).
  const auto ifg_file = [&](const std::string& a) { return job.file("interfacegan", a); };
  if (wants(p, "interfacegan") || wants(p, "conditional")) {
    job.stage("interfacegan", job.attributes, ifg_file, [&](const std::string& a) {
      const auto rows = edit::scored_rows(S.latents, edit::score_column(S, a));
      auto b = edit::train_boundary(rows.latents, rows.scores, {});
      b.attribute = a;
      b.space = space;
      b.report["unscored_samples"] = rows.unscored;
      edit::save_boundary(without_timings(b), ifg_file(a).string());
    });
  }

  // 3. Conditional boundaries where attributes correlate on the samples.
  if (wants(p, "conditional")) {
    std::map<std::string, std::vector<std::string>> conditions;
    std::vector<std::string> items;
    std::vector<torch::Tensor> cols;
    for (const auto& a : job.attributes) cols.push_back(edit::score_column(S, a).to(torch::kFloat64));
    auto M = torch::stack(cols, 1);                                     // [N, A]
    M = M.index_select(0, torch::isfinite(M).all(1).nonzero().squeeze(1));  // rows scored by every column
    const auto corr = torch::corrcoef(M.t()).nan_to_num(0.0);
    for (size_t i = 0; i < job.attributes.size(); ++i) {
      const auto& a = job.attributes[i];
      if (is_pose(a)) continue;
      std::vector<std::pair<double, std::string>> ranked;
      for (size_t j = 0; j < job.attributes.size(); ++j)
        if (j != i) ranked.push_back({std::abs(corr[i][j].item<double>()), job.attributes[j]});
      std::sort(ranked.rbegin(), ranked.rend());
      for (size_t k = 0; k < ranked.size() && k < 2 && ranked[k].first >= 0.3; ++k) conditions[a].push_back(ranked[k].second);
      if (!conditions[a].empty()) items.push_back(a);
    }
    const auto cond_file = [&](const std::string& a) { return job.file("conditional", a); };
    job.stage("conditional", items, cond_file, [&](const std::string& a) {
      std::vector<edit::Boundary> conds;
      for (const auto& c : conditions[a]) conds.push_back(edit::load_boundary(ifg_file(c).string()));
      auto b = edit::condition_boundary(edit::load_boundary(ifg_file(a).string()), conds);
      edit::save_boundary(without_timings(b), cond_file(a).string());
    });
  }

  // 4. The latent classifier and a transformer per learned attribute.
  const auto lc_file = dir / "transformer" / "latent-classifier.safetensors";
  auto train_params = [&] {
    auto tp = train::train_editor_default_params();
    tp.steps = p.editor_steps;
    tp.resume = true;
    tp.progress = false;
    tp.truncation = p.truncation;
    // A resumed job writes the bytes an uninterrupted one would: no clock in the files.
    tp.finalize = [](const edit::Editor&, nlohmann::json& report) {
      report.erase("seconds");
      report.erase("resumed_from_step");
    };
    return tp;
  };
  if (wants(p, "transformer")) {
    job.stage("latent-classifier", {"latent-classifier"}, [&](const std::string&) { return lc_file; }, [&](const std::string&) {
      std::vector<int64_t> keep;
      std::vector<std::string> names;
      for (size_t c = 0; c < S.columns.size(); ++c)
        if (!is_pose(S.columns[c])) {
          keep.push_back(static_cast<int64_t>(c));
          names.push_back(S.columns[c]);
        }
      train::LatentScores data{space, S.latents, S.scores.index_select(1, torch::tensor(keep)), names};
      auto lp = train::train_latent_classifier_default_params();
      lp.epochs = p.lc_epochs;
      lp.progress = false;
      train::train_latent_classifier(data, lp, lc_file.string());
    });
    const auto tr_file = [&](const std::string& a) { return job.file("transformer", a); };
    models::LatentClassifier lc{nullptr};
    job.stage("transformer", job.learned, tr_file, [&](const std::string& a) {
      if (!lc) {
        lc = models::load_latent_classifier(lc_file.string());
        lc->to(p.device);
      }
      edit::LatentTransformerConfig cfg;
      cfg.attribute = a;
      cfg.space = space;
      cfg.latent_dim = S.latents.size(1);
      train::train_latent_transformer(lc, train::generator_sampler(g, space, p.truncation), cfg, train_params(), tr_file(a).string());
    });
  }

  // 5. L2M through the generator and the guide.
  if (wants(p, "l2m")) {
    const auto l2m_file = [&](const std::string& a) { return job.file("l2m", a); };
    std::shared_ptr<models::AttributeClassifier> guide;
    job.stage("l2m", job.learned, l2m_file, [&](const std::string& a) {
      if (!guide) guide = edit::open_supervision({p.guide}, p.device);
      edit::L2MConfig cfg;
      cfg.attribute = a;
      cfg.space = space;
      cfg.latent_dim = S.latents.size(1);
      train::train_l2m(g, *guide, cfg, train_params(), l2m_file(a).string());
    });
  }

  // 6. Unsupervised directions, with the samples' spread along each as their unit.
  std::vector<std::string> unsupervised;
  for (const std::string m : {"sefa", "ganspace"})
    if (wants(p, m)) unsupervised.push_back(m);
  const auto first_direction = [&](const std::string& m) { return job.file(m, m + "_" + std::to_string(p.directions - 1)); };
  job.stage("directions", unsupervised, first_direction, [&](const std::string& m) {
    torch::Tensor dirs;
    if (m == "sefa") {
      dirs = sefa_directions(first_layer_rows(g), p.directions);
    } else if (g.w_dim() > 0) {
      dirs = pca_directions(S.latents, p.directions);  // GANSpace on W, as the paper does for StyleGAN
    } else {
      // No W: GANSpace's PCA of the first layer's output, which is linear in the isotropic z, has the
      // right singular vectors of that layer's weight as its directions in z.
      dirs = right_singular_directions(first_layer_rows(g), p.directions);
    }
    for (int64_t k = 0; k < dirs.size(0); ++k)  // the last file last: its presence marks the item done
      save_direction(dirs[k], space, m + "_" + std::to_string(k), m, k, job.file(m, m + "_" + std::to_string(k)));
  });

  // The pack's editors (files present), in attribute order, then the unnamed directions.
  edit::Pack pack;
  pack.dir = dir.string();
  pack.model = p.model;
  pack.guide = p.guide;
  for (const auto& a : job.attributes)
    for (const std::string m : {"interfacegan", "conditional", "transformer", "l2m"}) {
      if (!wants(p, m)) continue;
      const auto f = job.file(m, a);
      if (!fs::exists(f)) continue;
      edit::PackEditor e;
      e.attribute = a;
      e.method = m;
      e.space = space;
      e.file = f.string();
      e.unit = is_pose(a) ? "sample-std" : "guide-median-crossing";
      pack.editors.push_back(e);
    }
  for (const auto& m : unsupervised)
    for (int64_t k = 0; k < p.directions; ++k) {
      edit::PackEditor e;
      e.attribute = m + "_" + std::to_string(k);
      e.method = m;
      e.space = space;
      e.file = job.file(m, e.attribute).string();
      e.unit = "sample-std";
      pack.editors.push_back(e);
    }

  // 7. Calibration of the named editors on held-out faces of their own seed.
  std::vector<std::string> named;
  std::map<std::string, edit::PackEditor*> by_key;
  for (auto& e : pack.editors) {
    const auto key = e.method + "-" + e.attribute;
    by_key[key] = &e;
    if (e.unit == "guide-median-crossing") named.push_back(key);
  }
  const auto cal_file = [&](const std::string& key) { return job.file("calibration", key, ".json"); };
  std::optional<HeldOut> heldout;
  job.stage("calibration", named, cal_file, [&](const std::string& key) {
    if (!job.panel.attributes) {
      job.panel.attributes = models::open_classifier(p.guide);
      job.panel.attributes->to(p.device);
      job.panel.identity = models::open_embedder(models::judge_panel_default_spec().identity);
      job.panel.identity->to(p.device);
    }
    auto editor = edit::open_editor(edit::pack_editor_spec(*by_key[key]), job.g);
    if (!heldout || heldout->space != editor->space())
      heldout = make_heldout(g, job.panel, g.sample_codes(p.calibration_n, seeds::kCalibrationSeed, editor->space(), p.truncation),
                             editor->space(), p.truncation, p.batch);
    io::write_json_file(cal_file(key), calibrate_editor(g, *editor, job.panel, *heldout, p.truncation, p.batch, p.synthesis_size));
  });
  for (auto& e : pack.editors) {
    const auto key = e.method + "-" + e.attribute;
    if (e.unit == "guide-median-crossing") {
      e.calibration = io::read_json_file(cal_file(key), "a calibration");
      e.scale = e.calibration.at("scale").get<double>();
      e.scores = {{"at_1", e.calibration["at_1"]}, {"best_target_at_identity_0.9", e.calibration["best_target_at_identity_0.9"]}};
    } else {
      const auto b = edit::load_boundary(e.file);
      e.scale = projection_std(S.latents, b.normal);
      e.calibration = {{"unit", "sample-std"}, {"samples", S.latents.size(0)}};
    }
    if (!(e.scale > 0)) e.scale = 1.0;  // a direction the samples do not spread along (never seen; kept openable)
  }
  // An editor that flips fewer than half the faces even at the largest strength tried has no
  // strength 1: it stays out of the pack (listed in pack.json with what it reached).
  nlohmann::json unreached = nlohmann::json::array();
  {
    std::vector<edit::PackEditor> kept;
    for (auto& e : pack.editors) {
      if (e.unit == "guide-median-crossing" && !e.calibration.value("reached", true)) {
        double most = 0;
        for (const auto& probe : e.calibration["probes"]) most = std::max(most, probe["target_change"].get<double>());
        unreached.push_back({{"attribute", e.attribute}, {"method", e.method}, {"largest_target_change", most},
                             {"at_native_strength", e.scale}});
        continue;
      }
      kept.push_back(std::move(e));
    }
    pack.editors = std::move(kept);
    by_key.clear();
    for (auto& e : pack.editors) by_key[e.method + "-" + e.attribute] = &e;
  }

  // 8. Sweeps at pack strengths -2..2 on 4 held-out faces.
  const std::vector<double> strengths = {-2, -1, 0, 1, 2};
  std::vector<std::string> all_keys;
  for (const auto& e : pack.editors) all_keys.push_back(e.method + "-" + e.attribute);
  const auto sweep_file = [&](const std::string& key) { return job.file("sweeps", key, ".png"); };
  job.stage("sweeps", all_keys, sweep_file, [&](const std::string& key) {
    const auto& e = *by_key[key];
    auto editor = edit::open_editor(edit::pack_editor_spec(e), job.g);
    const auto faces = g.sample_codes(4, seeds::kCalibrationSeed, editor->space(), p.truncation);
    std::vector<double> native;
    for (double s : strengths) native.push_back(s * e.scale);
    const auto images = eval::sweep_images(g, *editor, faces, native, p.truncation);
    const int scale = g.resolution() < 128 ? static_cast<int>(128 / g.resolution()) : 1;
    io::write_image(sweep_file(key).string(), io::make_grid(images, static_cast<int>(strengths.size()), 2, scale));
  });

  nlohmann::json summary = {{"dir", dir.string()}, {"stages", job.stages}, {"complete", p.share.merges()}};
  if (!p.share.merges()) return summary;
  // 9. The best method per attribute: the largest target change at identity >= 0.9 over the probes.
  nlohmann::json best = nlohmann::json::object();
  for (const auto& a : job.attributes) {
    // Where no method keeps identity >= 0.9 at any calibrated strength (often at 32 px), the one
    // that keeps it best at the matched target (strength 1) wins.
    const edit::PackEditor* pick = nullptr;
    std::pair<double, double> pick_score = {-1, -1};
    for (const auto& e : pack.editors) {
      if (e.attribute != a || e.unit != "guide-median-crossing") continue;
      const std::pair<double, double> s = {e.scores.value("best_target_at_identity_0.9", 0.0),
                                           e.scores.value("at_1", nlohmann::json::object()).value("identity", 0.0)};
      if (s > pick_score) {
        pick = &e;
        pick_score = s;
      }
    }
    if (pick) best[a] = pick->method;
  }
  pack.json = {{"best", best},
               {"unreached", unreached},
               {"samples", {{"n", p.n}, {"seed", p.seed}, {"space", space}, {"columns", S.columns}}},
               {"calibration", {{"n", p.calibration_n}, {"seed", seeds::kCalibrationSeed}, {"guide", p.guide}}}};
  pack.model_hash = edit::generator_hash(g);
  edit::save_pack(pack);
  write_report(pack, (dir / "report.html").string());
  summary["editors"] = pack.editors.size();
  summary["attributes"] = job.attributes.size();
  summary["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  summary["pack"] = (dir / "pack.json").string();
  summary["report"] = (dir / "report.html").string();
  return summary;
}

}  // namespace faceedit::fit
