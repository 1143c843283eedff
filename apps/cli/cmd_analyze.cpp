#include <cstdio>
#include <iostream>

#include "commands.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/face/analyze.h"

namespace faceedit::cli {

static void print_human(const std::string& file, const nlohmann::json& faces) {
  std::printf("%s: %zu face(s)\n", file.c_str(), faces.size());
  for (size_t i = 0; i < faces.size(); ++i) {
    const auto& f = faces[i];
    std::printf("  face %zu at (%d, %d) %dx%d", i, f["box"][0].get<int>(), f["box"][1].get<int>(),
                f["box"][2].get<int>(), f["box"][3].get<int>());
    if (f.contains("age")) std::printf(", age %.0f", f["age"].get<double>());
    if (f.contains("mask_coverage")) std::printf(", portrait mask %.0f%%", 100 * f["mask_coverage"].get<double>());
    std::printf("\n   ");
    for (auto& [name, p] : f["attributes"].items()) std::printf(" %s %.2f", name.c_str(), p.get<double>());
    std::printf("\n");
  }
}

void add_analyze_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("analyze", "Detect faces and judge their attributes, identity and portrait mask");
  struct Options {
    std::vector<std::string> images;
    bool json = false;
    models::JudgePanelSpec judges = models::judge_panel_default_spec();
    int crop = 256;
    bool aligned = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("images", o->images, "photos (JPEG, PNG, BMP, WebP)")->required();
  cmd->add_flag("--json", o->json, "JSON Lines: one object per image");
  cmd->add_flag("--aligned", o->aligned, "each image is already an aligned face crop (CelebA-HQ, FFHQ): no detection");
  cmd->add_option("--judge", o->judges.attributes, "attribute judges (repeat: --judge a --judge b)")
      ->capture_default_str()
      ->allow_extra_args(false);  // one name per --judge, so image paths after it stay images
  cmd->add_option("--embedder", o->judges.identity, "identity judge")->capture_default_str();
  cmd->add_option("--segmenter", o->judges.segmenter, "portrait mask judge")->capture_default_str();
  cmd->add_option("--crop", o->crop, "aligned crop size fed to the judges")->capture_default_str()->check(CLI::Range(32, 1024));
  cmd->callback([o, &global] {
    const auto device = parse_device(global.device);
    auto judges = models::open_judge_panel(o->judges);
    judges.attributes->to(device);
    std::unique_ptr<face::FaceDetector> detector;
    if (!o->aligned) detector = std::make_unique<face::FaceDetector>();
    int failures = 0;
    for (const auto& file : o->images) {
      nlohmann::json faces;
      try {
        const cv::Mat image = io::read_image(file);
        faces = o->aligned ? nlohmann::json::array({face::analyze_aligned_face(image, judges, {o->crop, o->json})})
                           : face::analyze_faces(image, *detector, judges, {o->crop, o->json});
      } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        ++failures;
        continue;
      }
      if (faces.empty()) {
        std::cerr << "error: " << file << ": no face found\n";
        ++failures;
      }
      if (o->json) std::cout << nlohmann::json{{"file", file}, {"faces", faces}}.dump() << std::endl;
      else print_human(file, faces);
    }
    if (failures > 0) fail(std::to_string(failures) + " of " + std::to_string(o->images.size()) + " images",
                           "could not be analysed (see above)");
  });
}

}  // namespace faceedit::cli
