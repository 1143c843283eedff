// `faceedit fit-attribute --pack PACK --name NAME --positive DIR --negative DIR`: an attribute no
// classifier has, learned from labelled photos and added to the pack (fit/fit.h); prints a JSON
// summary. With --scorer latents a rerun after an interruption skips the photos already inverted.
#include <iostream>

#include "commands.h"
#include "faceedit/fit/fit.h"
#include "faceedit/progress.h"

namespace faceedit::cli {

void add_fit_attribute_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand(
      "fit-attribute",
      "Learn an attribute's direction from labelled photos (a head on the guide's features scoring generated faces, or the "
      "photos inverted and a linear SVM on their latents), calibrate it and add it to a pack made by `fit`");
  struct Options {
    fit::FitAttributeParams p;
    std::string pack;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--pack", o->pack, "pack directory (from `faceedit fit`); its pack.json gains the editor")->required();
  cmd->add_option("--name", o->p.name, "the attribute's name (letters, digits, '_')")->required();
  cmd->add_option("--positive", o->p.positive, "folder of photos that have the attribute (at least 5)")->required();
  cmd->add_option("--negative", o->p.negative, "folder of photos that have it not (at least 5)")->required();
  cmd->add_flag("--replace", o->p.replace, "replace the pack's editors of NAME (else a name the pack has is refused)");
  cmd->add_option("--scorer", o->p.scorer, "head (a linear head on the guide's features of the photos scores generated faces; no "
                                           "inversion) or latents (the photos inverted, a linear SVM on their latents)")
      ->capture_default_str()->check(CLI::IsMember({"head", "latents"}));
  cmd->add_option("--samples", o->p.samples, "head: generated faces it scores for the boundary")
      ->capture_default_str()->check(CLI::Range(int64_t{1000}, int64_t{10000000}));
  cmd->add_option("--inversion-steps", o->p.inversion_steps, "latents: inversion steps per photo")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--starts", o->p.starts, "latents: random inversion starts (Z)")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--crop", o->p.crop, "aligned crop size")->capture_default_str()->check(CLI::Range(32, 4096));
  cmd->add_option("--latents-cache", o->p.latents_cache, "latents: where each photo's inversion is kept (default PACK/fit-attribute/latents)");
  cmd->add_option("--calibration-n", o->p.calibration_n, "held-out faces of the calibration")
      ->capture_default_str()->check(CLI::Range(int64_t{10}, int64_t{100000}));
  cmd->add_flag("--quiet,-q", o->quiet, "no progress lines");
  cmd->callback([o, &global] {
    stop_cleanly_on_signals();
    o->p.device = parse_device(global.device);
    o->p.progress = !o->quiet;
    std::cout << fit::fit_attribute(o->p, o->pack).dump() << "\n";
  });
}

}  // namespace faceedit::cli
