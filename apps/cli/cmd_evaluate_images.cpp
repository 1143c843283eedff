// evaluate-images: the editing metrics for pairs of images edited by any means (e.g. `faceedit
// photo` crops): the same judges and JSON as `evaluate`, one "strength" per run, so the results
// sit beside the latent-space sweeps in `report`.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/error.h"
#include "faceedit/eval/photo_eval.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/io/image.h"
#include "faceedit/models/judges.h"

namespace faceedit::cli {

void add_evaluate_images_command(CLI::App& app, const GlobalOptions&) {
  auto* cmd = app.add_subcommand("evaluate-images",
                                 "Judge pairs of original and edited images (e.g. aligned crops before/after `faceedit photo`)");
  struct Options {
    std::vector<std::string> originals, edited;
    std::string attr, label, output, timings, direction = "flip";
    double strength = 1.0;
    int size = 256;
    bool align = false;
    models::JudgePanelSpec judges = models::judge_panel_default_spec();
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--original", o->originals, "original images")->required();
  cmd->add_option("--edited", o->edited, "edited images, in the same order")->required();
  attribute_option(cmd->add_option("--attr", o->attr, "the attribute that was edited (a judge column, e.g. smiling)")->required());
  cmd->add_option("--label", o->label, "the method's name in the report")->required();
  cmd->add_option("--direction", o->direction,
                  "what counts as a change: flip (each face's judged label flipped), raise or lower (label positive/negative)")
      ->capture_default_str()->check(CLI::IsMember({"flip", "raise", "lower"}));
  cmd->add_option("--strength", o->strength, "the strength the edits used (the report's x axis)")->capture_default_str();
  cmd->add_option("--size", o->size, "images are judged at this size")->capture_default_str()->check(CLI::Range(16, 1024));
  cmd->add_flag("--align", o->align,
               "the images are photos: align each original's face (FFHQ crop) and crop its edited photo the same way");
  cmd->add_option("--timings", o->timings, "JSON Lines of per-image stage timings to average into the result");
  cmd->add_option("--judge", o->judges.attributes, "attribute judges (repeat: --judge a --judge b)")->capture_default_str()->allow_extra_args(false);
  cmd->add_option("-o,--output", o->output, "JSON results (a before/after grid PNG is written beside it)")->required();
  cmd->callback([o] {
    auto judges = models::open_judge_panel(o->judges);
    eval::ImagePairsParams p;
    p.report = {o->label, o->attr, o->strength, o->direction == "raise" ? 1 : o->direction == "lower" ? -1 : 0};
    p.size = o->size;
    p.align = o->align;
    auto [result, grid] = eval::evaluate_image_pairs(o->originals, o->edited, judges, p);
    if (!o->timings.empty()) {
      std::ifstream in(o->timings);
      if (!in) fail(o->timings, "cannot open");
      std::map<std::string, double> sum;
      int64_t count = 0;
      for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) fail(o->timings, "line " + std::to_string(count + 1) + " is not a JSON object");
        const auto& stages = j.contains("timings") && j["timings"].is_object() ? j["timings"] : j;  // `photo` summaries
        for (auto& [k, v] : stages.items())
          if (v.is_number()) sum[k] += v.get<double>();
        ++count;
      }
      nlohmann::json mean = nlohmann::json::object();
      for (auto& [k, v] : sum) mean[k] = count ? v / static_cast<double>(count) : 0.0;
      result["mean_timings"] = mean;
    }
    write_evaluation(o->output, result, grid);
  });
}

}  // namespace faceedit::cli
