#include "faceedit/train/train_classifier.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "faceedit/error.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/progress.h"
#include "faceedit/nn/schedule.h"
#include "faceedit/train/checkpoint.h"

namespace faceedit::train {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;
using models::ClassifierHead;
using models::FaceClassifier;
using models::FaceClassifierConfig;

TrainClassifierParams train_classifier_default_params() { return {}; }

static bool is_celebahq_set(const std::string& set_name) { return set_name.rfind("celebahq", 0) == 0; }

ClassifierSetDefaults classifier_set_defaults(const std::string& set_name) {
  if (set_name == "celebahq-judge") return {48, "plain", {48, 96, 192, 384}, 24, 0.3, 0.05};
  if (is_celebahq_set(set_name)) return {64, "resnet", {48, 96, 192, 384}, 36, 0.15, 0.05};
  return {48, "plain", {24, 48, 96, 192}, 8, 0.5, 0.0};
}

TrainClassifierParams resolve_train_params(TrainClassifierParams p, const std::string& set_name) {
  const auto d = classifier_set_defaults(set_name);
  if (p.input_size == 0) p.input_size = d.input_size;
  if (p.arch.empty()) p.arch = d.arch;
  if (p.widths.empty()) p.widths = d.widths;
  if (p.epochs == 0) p.epochs = d.epochs;
  if (p.weight_decay < 0) p.weight_decay = d.weight_decay;
  if (p.low_res_fraction < 0) p.low_res_fraction = d.low_res_fraction;
  return p;
}

FaceClassifierConfig classifier_config_for(const std::string& set_name, int64_t input_size,
                                           const std::vector<int64_t>& widths, const std::string& arch) {
  FaceClassifierConfig c;
  c.name = set_name;
  c.arch = arch;
  c.widths = widths;
  c.input.height = c.input.width = input_size;
  if (is_celebahq_set(set_name)) {
    for (const auto& col : celeba_columns()) c.heads.push_back({col, {}, {}});
  } else if (set_name == "utkface") {
    c.heads.push_back({"male", {}, {}});
    c.heads.push_back({"age", kAgeGroups, {{"young", {0, 1}}}});
  } else if (set_name == "smiles") {
    c.input.color = "gray";  // the set is grayscale: colour would be a feature it never saw
    c.input.mean = {0.5};
    c.input.std = {0.5};
    c.heads.push_back({"smiling", {}, {}});
  } else {
    fail(set_name, "no classifier heads defined for this labelled set");
  }
  return c;
}

namespace {

// Flips, shifts of up to 4 px, brightness/contrast, and a low-resolution round trip for a fraction
// of the batch (GAN faces of 32x32 reach the classifier upsampled).
torch::Tensor augment(torch::Tensor x, double low_res_fraction) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  auto flip = (torch::rand({n, 1, 1, 1}) < 0.5);
  x = torch::where(flip, x.flip(3), x);
  auto padded = F::pad(x, F::PadFuncOptions({4, 4, 4, 4}).mode(torch::kReplicate));
  auto shifts = torch::randint(0, 9, {n, 2}, torch::kLong);
  std::vector<torch::Tensor> crops;
  crops.reserve(static_cast<size_t>(n));
  auto s = shifts.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) crops.push_back(padded[i].narrow(1, s[i][0], h).narrow(2, s[i][1], w));
  x = torch::stack(crops);
  auto contrast = 1.0 + (torch::rand({n, 1, 1, 1}) - 0.5) * 0.4;
  auto brightness = (torch::rand({n, 1, 1, 1}) - 0.5) * 0.2;
  x = (x * contrast + brightness).clamp(-1.0, 1.0);
  const auto n_low = static_cast<int64_t>(static_cast<double>(n) * low_res_fraction);
  if (n_low > 0) {
    const int64_t low = torch::randint(24, 41, {1}).item<int64_t>();
    auto part = models::resize_images(x.narrow(0, 0, n_low), low, low);
    part = models::resize_images(part, h, w);
    x = torch::cat({part, x.narrow(0, n_low, n - n_low)});
  }
  return x;
}

struct HeadLoss {
  std::string label;
  bool binary;
  torch::Tensor pos_weight;
};

nlohmann::json params_fingerprint(const TrainClassifierParams& p, const std::string& out) {
  nlohmann::json j = {{"dataset", p.dataset}, {"size", p.input_size}, {"arch", p.arch}, {"widths", p.widths},
                      {"epochs", p.epochs}, {"low_res", p.low_res_fraction}, {"weight_decay", p.weight_decay},
                      {"batch", p.batch}, {"lr", p.learning_rate}, {"holdout", p.holdout}, {"limit", p.limit},
                      {"seed", p.seed}, {"init_seed", p.init_seed.value_or(p.seed)}, {"out", out}};
  return j;
}

}  // namespace

nlohmann::json evaluate_classifier(FaceClassifier& clf, const LabelledFaces& faces) {
  torch::NoGradGuard no_grad;
  clf.net()->eval();
  const auto& heads = clf.config().heads;
  auto slices = clf.head_slices();
  std::vector<std::vector<torch::Tensor>> preds(heads.size());
  for (int64_t b = 0; b < faces.size(); b += 256) {
    auto imgs = to_model_range(faces.images.narrow(0, b, std::min<int64_t>(256, faces.size() - b)));
    auto z = clf.head_logits(imgs);
    for (size_t i = 0; i < heads.size(); ++i) {
      auto zi = z.narrow(1, slices[i].first, slices[i].second);
      preds[i].push_back(heads[i].classes.empty() ? (zi.squeeze(1) > 0).to(torch::kLong) : zi.argmax(1));
    }
  }
  nlohmann::json report;
  for (size_t i = 0; i < heads.size(); ++i) {
    const auto& h = heads[i];
    auto pred = torch::cat(preds[i]);
    auto truth = faces.labels.at(h.name);
    const int64_t k = h.classes.empty() ? 2 : static_cast<int64_t>(h.classes.size());
    auto confusion = torch::zeros({k * k}, torch::kLong).index_add_(0, truth * k + pred, torch::ones_like(truth));
    confusion = confusion.view({k, k});
    const double acc = (pred == truth).to(torch::kDouble).mean().item<double>();
    auto recall = confusion.diag().to(torch::kDouble) / confusion.sum(1).to(torch::kDouble).clamp_min(1);
    std::vector<std::vector<int64_t>> cm(static_cast<size_t>(k));
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < k; ++c) cm[static_cast<size_t>(r)].push_back(confusion[r][c].item<int64_t>());
    std::vector<std::string> names = h.classes.empty() ? std::vector<std::string>{"not " + h.name, h.name} : h.classes;
    report[h.name] = {{"accuracy", acc}, {"balanced_accuracy", recall.mean().item<double>()},
                      {"classes", names}, {"confusion", cm}, {"n", faces.size()}};
  }
  return report;
}

// Absurd values are refused before the (slow) archive is read; 0 / empty / negative fields mean
// "the set's default" and are checked once resolved.
static void check_train_params(const TrainClassifierParams& p, bool resolved) {
  if (p.epochs < (resolved ? 1 : 0) || p.epochs > 1000) fail("epochs " + std::to_string(p.epochs), "must be in 1..1000");
  if (p.batch < 2 || p.batch > 4096) fail("batch " + std::to_string(p.batch), "must be in 2..4096");
  if ((resolved || p.input_size != 0) && (p.input_size < 16 || p.input_size > 256))
    fail("size " + std::to_string(p.input_size), "must be in 16..256");
  if (!(p.learning_rate > 0 && p.learning_rate < 1)) fail("lr", "must be in (0, 1)");
  if ((resolved || p.low_res_fraction >= 0) && !(p.low_res_fraction >= 0 && p.low_res_fraction <= 1))
    fail("low-res", "must be in [0, 1]");
  if ((resolved || p.weight_decay >= 0) && !(p.weight_decay >= 0 && p.weight_decay < 1))
    fail("weight-decay", "must be in [0, 1)");
}

nlohmann::json train_face_classifier(const TrainClassifierParams& params, const std::string& out_path) {
  check_train_params(params, false);
  const uint64_t init_seed = params.init_seed.value_or(params.seed);
  torch::manual_seed(params.seed);
  auto all = load_labelled_faces(params.dataset, params.limit, params.seed);
  const TrainClassifierParams p = resolve_train_params(params, all.name);
  check_train_params(p, true);

  auto [train_set, test_set] = split_holdout(all, p.holdout, p.seed);
  auto config = classifier_config_for(all.name, p.input_size, p.widths, p.arch);
  torch::manual_seed(init_seed);  // after the split: networks of other init seeds share it
  FaceClassifier clf(config);
  auto slices = clf.head_slices();

  std::vector<HeadLoss> losses;
  for (const auto& h : config.heads) {
    HeadLoss hl{h.name, h.classes.empty(), {}};
    if (hl.binary) {  // class-balanced BCE: rare positives (smiles: 28%) weigh as much as negatives
      const double pos = train_set.labels.at(h.name).sum().item<double>();
      const double neg = static_cast<double>(train_set.size()) - pos;
      hl.pos_weight = torch::tensor({static_cast<float>(neg / std::max(1.0, pos))});
    }
    losses.push_back(hl);
  }

  torch::optim::AdamW optimizer(clf.net()->parameters(),
                               torch::optim::AdamWOptions(p.learning_rate).weight_decay(p.weight_decay));
  const Checkpoint ckpt(out_path, params_fingerprint(p, out_path));
  nlohmann::json history = nlohmann::json::array();
  int first_epoch = 0;
  const auto load_model = [&](const std::string& file) {
    auto saved = models::load_face_classifier(file);
    torch::NoGradGuard no_grad;
    auto dst = clf.net()->named_parameters();
    for (auto& t : saved->net()->named_parameters()) dst[t.key()].copy_(t.value());
    auto dst_b = clf.net()->named_buffers();
    for (auto& t : saved->net()->named_buffers()) dst_b[t.key()].copy_(t.value());
  };
  if (const auto state = ckpt.resume(true, load_model, optimizer)) {
    first_epoch = state->at("epoch").get<int>();
    history = state->at("history");
    torch::manual_seed(init_seed + static_cast<uint64_t>(first_epoch));
    log_line(log_text("train-classifier: resuming from ", ckpt.dir().string(), " after epoch ", first_epoch));
  }

  log_line(log_text("train-classifier: ", all.name, ", ", train_set.size(), " training / ", test_set.size(), " held-out images, input ", p.input_size, "x", p.input_size, ", ", p.epochs, " epochs"));
  const int64_t steps_per_epoch = (train_set.size() + p.batch - 1) / p.batch;
  Progress progress("train-classifier", steps_per_epoch * p.epochs, "batches", p.progress);
  for (int epoch = first_epoch; epoch < p.epochs; ++epoch) {
    const double lr = nn::cosine_lr(static_cast<int>(epoch), static_cast<int>(p.epochs), p.learning_rate);
    for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    clf.net()->train();
    auto perm = torch::randperm(train_set.size(), torch::kLong);
    double loss_sum = 0;
    int64_t steps = 0;
    for (int64_t b = 0; b < train_set.size(); b += p.batch) {
      auto idx = perm.narrow(0, b, std::min<int64_t>(p.batch, train_set.size() - b));
      if (idx.size(0) < 2) continue;  // BatchNorm needs two samples
      if (stop_requested())
        fail("train-classifier", "interrupted in epoch " + std::to_string(epoch + 1) + "; rerun the same command to resume" +
                                     (epoch > 0 ? " after epoch " + std::to_string(epoch) : " from the start"));
      auto x = augment(to_model_range(train_set.images.index_select(0, idx)), p.low_res_fraction);
      auto z = clf.head_logits(x);
      auto loss = torch::zeros({});
      for (size_t i = 0; i < losses.size(); ++i) {
        auto zi = z.narrow(1, slices[i].first, slices[i].second);
        auto y = train_set.labels.at(losses[i].label).index_select(0, idx);
        loss = loss + (losses[i].binary
                           ? F::binary_cross_entropy_with_logits(
                                 zi.squeeze(1), y.to(torch::kFloat),
                                 F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(losses[i].pos_weight))
                           : F::cross_entropy(zi, y));
      }
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++steps;
      char extra[64];
      std::snprintf(extra, sizeof extra, "epoch %d, loss %.4f", epoch + 1, loss_sum / steps);
      progress.update(epoch * steps_per_epoch + steps, extra);
    }
    auto eval = evaluate_classifier(clf, test_set);
    nlohmann::json row = {{"epoch", epoch + 1}, {"lr", lr}, {"train_loss", loss_sum / std::max<int64_t>(1, steps)}};
    std::string line;
    double balanced_sum = 0;
    for (auto& [head, r] : eval.items()) {
      row["heldout_accuracy"][head] = r["accuracy"];
      balanced_sum += r["balanced_accuracy"].get<double>();
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s %.3f", head.c_str(), r["accuracy"].get<double>());
      if (eval.size() <= 4) line += buf;
    }
    row["heldout_mean_balanced_accuracy"] = balanced_sum / static_cast<double>(std::max<size_t>(1, eval.size()));
    if (eval.size() > 4) {
      char buf[96];
      std::snprintf(buf, sizeof buf, " mean balanced %.4f over %zu attributes", row["heldout_mean_balanced_accuracy"].get<double>(), eval.size());
      line = buf;
    }
    history.push_back(row);
    log_line(log_text("train-classifier: epoch ", epoch + 1, "/", p.epochs, " held-out accuracy:", line));
    ckpt.save([&](const std::string& file) { clf.save(file); }, optimizer, {{"epoch", epoch + 1}, {"history", history}});
  }
  progress.finish();

  nlohmann::json report = {{"dataset", all.name}, {"train_images", train_set.size()}, {"heldout_images", test_set.size()},
                           {"input_size", p.input_size}, {"arch", p.arch}, {"widths", p.widths},
                           {"epochs", p.epochs}, {"seed", p.seed}, {"holdout", p.holdout}, {"limit", p.limit},
                           {"init_seed", init_seed}, {"history", history},
                           {"heldout", evaluate_classifier(clf, test_set)}};
  clf.save(out_path, report, p.half);
  ckpt.remove();
  return report;
}

}  // namespace faceedit::train
