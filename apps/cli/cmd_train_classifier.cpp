#include <cstdio>
#include <iostream>

#include "commands.h"
#include "faceedit/eval/classifier_agreement.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/train/train_classifier.h"

namespace faceedit::cli {

// Human-readable accuracy and confusion matrix per head, on stderr (stdout carries the JSON).
static void print_heldout(const nlohmann::json& heldout) {
  for (auto& [head, r] : heldout.items()) {
    std::fprintf(stderr, "%s: held-out accuracy %.4f, balanced %.4f (n=%lld)\n", head.c_str(),
                 r["accuracy"].get<double>(), r["balanced_accuracy"].get<double>(), r["n"].get<long long>());
    const auto classes = r["classes"].get<std::vector<std::string>>();
    std::fprintf(stderr, "  %-12s", "true\\pred");
    for (const auto& c : classes) std::fprintf(stderr, " %10s", c.c_str());
    std::fprintf(stderr, "\n");
    for (size_t i = 0; i < classes.size(); ++i) {
      std::fprintf(stderr, "  %-12s", classes[i].c_str());
      for (auto v : r["confusion"][i]) std::fprintf(stderr, " %10lld", v.get<long long>());
      std::fprintf(stderr, "\n");
    }
  }
}

// The CelebA-HQ classifiers measured where they will be used: their own held-out split, the
// 1,000 celebahq-dev faces and the 40 photos (aligned as photos are). A table per attribute on
// stderr; returns the JSON (attribute -> set -> accuracy, balanced accuracy, AUC).
static nlohmann::json celebahq_agreement(const std::string& set_name, const std::string& classifier_path) {
  auto clf = models::load_face_classifier(classifier_path);
  const std::vector<std::pair<std::string, eval::LabelledImages>> sets = {
      {"heldout", eval::load_heldout_labelled(set_name)},
      {"celebahq-dev", eval::load_heldout_labelled("celebahq-dev")},
      {"photos", eval::load_celebahq_labelled()}};
  nlohmann::json out;
  for (const auto& [key, set] : sets) out[key] = eval::classifier_agreement(*clf, set, {32});
  std::fprintf(stderr, "%-20s %28s %28s %28s\n", "attribute", "held-out acc/bal/AUC", "celebahq-dev acc/bal/AUC",
               "photos acc/bal/AUC");
  std::map<std::string, double> balanced_sum;
  for (const auto& col : out["heldout"].items()) {
    std::fprintf(stderr, "%-20s", col.key().c_str());
    for (const auto& [key, set] : sets) {
      const auto& r = out[key];
      if (!r.contains(col.key())) {
        std::fprintf(stderr, " %28s", "-");
        continue;
      }
      const auto& m = r[col.key()]["full"];
      balanced_sum[key] += m["balanced_accuracy"].get<double>();
      std::fprintf(stderr, "      %.3f / %.3f / %.3f", m["accuracy"].get<double>(), m["balanced_accuracy"].get<double>(),
                   m["auc"].get<double>());
    }
    std::fprintf(stderr, "\n");
  }
  for (const auto& [key, sum] : balanced_sum) {
    out["mean_balanced_accuracy"][key] = sum / static_cast<double>(out[key].size());
    std::fprintf(stderr, "mean balanced accuracy on %s: %.4f over %zu attributes\n", key.c_str(),
                 out["mean_balanced_accuracy"][key].get<double>(), out[key].size());
  }
  return out;
}

void add_train_classifier_command(CLI::App& app, const GlobalOptions&) {
  auto* cmd = app.add_subcommand("train-classifier",
                                 "Train a supervision classifier on labelled faces (celebahq: the 40 CelebA attributes; "
                                 "utkface: male, age; smiles: smiling)");
  auto p = std::make_shared<train::TrainClassifierParams>(train::train_classifier_default_params());
  auto out = std::make_shared<std::string>();
  cmd->add_option("--data", p->dataset,
                  "celebahq (the guide: even CelebA-HQ ids), celebahq-judge (odd ids), utkface, smiles, or a .tar path")
      ->capture_default_str();
  cmd->add_option("-o,--output", *out, "classifier file to write (.safetensors)")->required();
  cmd->add_option("--epochs", p->epochs, "training epochs (default: the set's)")->check(CLI::Range(1, 1000));
  cmd->add_option("--batch", p->batch, "batch size")->capture_default_str()->check(CLI::Range(2, 4096));
  cmd->add_option("--size", p->input_size, "network input size in pixels (default: the set's)")->check(CLI::Range(16, 256));
  cmd->add_option("--arch", p->arch, "plain or resnet (default: the set's)")->check(CLI::IsMember({"plain", "resnet"}));
  cmd->add_option("--widths", p->widths, "channels per stage (default: the set's)");
  cmd->add_option("--low-res", p->low_res_fraction, "share of each batch sent through 24-40 px (default: the set's)");
  cmd->add_option("--weight-decay", p->weight_decay, "AdamW weight decay (default: the set's)");
  cmd->add_flag("--half", p->half, "store the weights as float16 (half the size, as models/ ships them)");
  cmd->add_option("--lr", p->learning_rate, "Adam learning rate (cosine decay)")->capture_default_str();
  cmd->add_option("--holdout", p->holdout, "fraction held out for testing")->capture_default_str();
  cmd->add_option("--limit", p->limit, "use a fixed random subset of this many images (0: all)")->capture_default_str();
  cmd->add_option("--seed", p->seed, "seed of the held-out split (and of initialisation and shuffling unless --init-seed)")->capture_default_str();
  cmd->add_option("--init-seed", p->init_seed,
                  "seed of initialisation, shuffling and augmentation (default: --seed): another network on the same held-out split");
  cmd->callback([p, out] {
    stop_cleanly_on_signals();
    auto report = train::train_face_classifier(*p, *out);
    if (report["heldout"].size() <= 4) print_heldout(report["heldout"]);
    const std::string set = report["dataset"].get<std::string>();
    if (set == "celebahq" || set == "celebahq-judge") report["agreement"] = celebahq_agreement(set, *out);
    std::cerr << "wrote " << *out << "\n";
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
