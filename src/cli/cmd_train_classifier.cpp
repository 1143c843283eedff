#include <cstdio>
#include <iostream>

#include "commands.h"
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

void add_train_classifier_command(CLI::App& app, const GlobalOptions&) {
  auto* cmd = app.add_subcommand("train-classifier",
                                 "Train a supervision classifier on labelled faces (utkface: male, age; smiles: smiling)");
  auto p = std::make_shared<train::TrainClassifierParams>(train::train_classifier_default_params());
  auto out = std::make_shared<std::string>();
  cmd->add_option("--data", p->dataset, "utkface, smiles, or a path to one of their .tar archives")->capture_default_str();
  cmd->add_option("-o,--output", *out, "classifier file to write (.safetensors)")->required();
  cmd->add_option("--epochs", p->epochs, "training epochs")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--batch", p->batch, "batch size")->capture_default_str()->check(CLI::Range(2, 4096));
  cmd->add_option("--size", p->input_size, "network input size in pixels")->capture_default_str()->check(CLI::Range(16, 256));
  cmd->add_option("--lr", p->learning_rate, "Adam learning rate (cosine decay)")->capture_default_str();
  cmd->add_option("--holdout", p->holdout, "fraction held out for testing")->capture_default_str();
  cmd->add_option("--limit", p->limit, "use a fixed random subset of this many images (0: all)")->capture_default_str();
  cmd->add_option("--seed", p->seed, "seed of split, shuffling and initialisation")->capture_default_str();
  cmd->callback([p, out] {
    auto report = train::train_face_classifier(*p, *out);
    print_heldout(report["heldout"]);
    std::cerr << "wrote " << *out << "\n";
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
