#include <cstdio>
#include <iostream>

#include "commands.h"
#include "faceedit/eval/classifier_agreement.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/models/judges.h"

namespace faceedit::cli {

void add_eval_classifiers_command(CLI::App& app, const GlobalOptions&) {
  auto* cmd = app.add_subcommand(
      "eval-classifiers", "Agreement of judges and our classifiers with real labels, at full size and at 32x32");
  struct Options {
    std::vector<std::string> classifiers = {"gender", "age", "emotion", "gear", "faceres", "utkface", "smiles"};
    std::vector<std::string> sets = {"celebahq", "utkface", "smiles"};
    int64_t limit = 600;
    std::vector<int64_t> round_trip = {32};
    std::string out;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--classifier", o->classifiers, "classifiers to check (judge names, trained sets, files)")->capture_default_str();
  cmd->add_option("--set", o->sets, "label sets: celebahq (the photos), celebahq-dev, utkface, smiles, celebahq-judge (held-out splits)")->capture_default_str();
  cmd->add_option("--limit", o->limit, "images per held-out set (0: all)")->capture_default_str();
  cmd->add_option("--round-trip", o->round_trip, "small sizes to down- and up-sample through")->capture_default_str();
  cmd->add_option("-o,--output", o->out, "write the JSON report here too");
  cmd->callback([o] {
    std::vector<eval::LabelledImages> sets;
    for (const auto& s : o->sets)
      sets.push_back(eval::load_labelled_set(s, o->limit));
    nlohmann::json report;
    for (const auto& spec : o->classifiers) {
      auto clf = models::open_classifier(spec);
      for (const auto& set : sets) {
        auto r = eval::classifier_agreement(*clf, set, o->round_trip);
        if (r.empty()) continue;
        report[spec][set.name] = r;
        for (auto& [attr, by_size] : r.items())
          for (auto& [size, m] : by_size.items())
            std::fprintf(stderr, "%-9s %-16s %-8s %-6s accuracy %.3f balanced %.3f AUC %.3f (n=%lld)\n", spec.c_str(),
                         set.name.c_str(), attr.c_str(), size.c_str(), m["accuracy"].get<double>(),
                         m["balanced_accuracy"].get<double>(), m["auc"].get<double>(), m["n"].get<long long>());
      }
    }
    const std::string text = report.dump(2);
    if (!o->out.empty()) io::write_file_atomic(o->out, text.data(), text.size());
    std::cout << report.dump() << "\n";
  });
}

}  // namespace faceedit::cli
