// evaluate-inversion: inversion quality and time from the prior's starts, an encoder's code alone,
// and the encoder's code + N steps, on held-out faces (eval/inversion_eval.h).
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "faceedit/eval/inversion_eval.h"
#include "faceedit/io/atomic_file.h"
#include "faceedit/models/model_files.h"
#include "faceedit/pipeline/photo.h"
#include "faceedit/train/face_datasets.h"

namespace faceedit::cli {

void add_evaluate_inversion_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand(
      "evaluate-inversion",
      "Measure inversions (PSNR, the guide's identity cosine, seconds) from the prior's starts and from an encoder");
  struct Options {
    std::string model = "dcgan-celeba32", encoder, faces = "celebahq-dev", guide = "celebahq", output;
    int64_t n = 20;
    uint64_t seed = 0;
    eval::InversionEvalParams params;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "generator (file or known name)")->capture_default_str();
  cmd->add_option("--encoder", o->encoder, "encoder: ours from `faceedit train-encoder`, or a pSp/e4e .pt (rows starting from its code)");
  cmd->add_option("--faces", o->faces, "labelled face set (held-out by default)")->capture_default_str();
  cmd->add_option("--n", o->n, "faces (a seed-fixed subset)")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000}));
  cmd->add_option("--seed", o->seed, "seed of the subset")->capture_default_str();
  cmd->add_option("--steps", o->params.steps, "optimisation step counts measured (0: the encoder's code alone)")
      ->delimiter(',')->capture_default_str()->check(CLI::Range(0, 100000));
  cmd->add_option("--starts", o->params.starts, "random starts of a Z inversion without encoder")
      ->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--guide", o->guide, "classifier guiding the inversions (features + identity): name, path or none")
      ->capture_default_str();
  cmd->add_option("-o,--output", o->output, "JSON results")->required();
  cmd->callback([o, &global] {
    const auto device = parse_device(global.device);
    auto g = models::open_generator(o->model, device);
    std::unique_ptr<models::Encoder> encoder;
    if (!o->encoder.empty()) {
      encoder = models::Encoder::load(o->encoder, device);
      encoder->check_matches(*g, o->encoder);
    }
    pipeline::PhotoParams guide_params;
    guide_params.guide = o->guide;
    const auto guide = pipeline::open_inversion_guide(guide_params, device);
    const auto faces = train::load_labelled_faces(o->faces, o->n, o->seed);
    auto out = eval::evaluate_inversions(*g, faces.images, {guide.features.get(), guide.identity.get()}, encoder.get(),
                                         o->params);
    out.update({{"model", o->model}, {"encoder", o->encoder}, {"face_set", o->faces}, {"guide", o->guide},
                {"threads", torch::get_num_threads()}});
    for (const auto& row : out["rows"]) {
      char line[160];
      std::snprintf(line, sizeof line, "%-8s %5d steps: PSNR %6.2f dB, identity %.4f, %7.2f s/face",
                    row["start"].get<std::string>().c_str(), row["steps"].get<int>(), row["psnr_db"].get<double>(),
                    row["identity_cosine"].get<double>(), row["seconds_per_face"].get<double>());
      std::cerr << line << "\n";
    }
    const std::string text = out.dump(1);
    io::write_file_atomic(o->output, text.data(), text.size());
    std::cout << out.dump() << "\n";
  });
}

}  // namespace faceedit::cli
