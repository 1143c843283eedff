// faceedit serve: parse, start the editor server (apps/server/editor_server.h), wait.
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "commands.h"
#include "editor_options.h"
#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/pack.h"
#include "faceedit/error.h"
#include "faceedit/models/model_files.h"
#include "faceedit/progress.h"
#include "faceedit/runtime.h"
#include "../server/editor_server.h"
#include "faceedit/pipeline/photo_l2mgan.h"

namespace faceedit::cli {

namespace {

struct ServeOptions {
  std::vector<std::string> edits, boundary_dirs;
  std::string pack;
  std::string l2mgan = "default";
  server::ServerOptions server;
};

// Every InterFaceGAN boundary in `dir` (files that do not load as one are skipped, saying why).
std::vector<edit::EditorSpec> boundaries_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") files.push_back(e.path());  // ours (the .npy beside them are copies)
  std::sort(files.begin(), files.end());
  std::vector<edit::EditorSpec> specs;
  for (const auto& f : files) {
    try {
      edit::load_boundary(f.string());
      edit::EditorSpec spec;
      spec.boundary = f.string();
      specs.push_back(spec);
    } catch (const Error&) {  // latents, sweeps and other files live there too
    }
  }
  return specs;
}

// Every editor of a pack as a slider, in calibrated units: [-2, 2] where 1 flips the attribute on
// the median face, [-3, 3] standard deviations for pose and unnamed directions.
void add_pack_sliders(server::ServerOptions& s, const edit::Pack& pack) {
  for (const auto& e : pack.editors) {
    s.editors.push_back(edit::pack_editor_spec(e));
    const double range = e.unit == "sample-std" ? 3 : 2;
    s.calibrated[e.method + "/" + e.attribute] = {e.scale, -range, range};
  }
  for (const auto& a : pack.attributes())
    if (pack.json.contains("best") && pack.json["best"].contains(a)) s.best[a] = pack.json["best"][a].get<std::string>();
    else s.best[a] = pack.find(a).method;
  s.pack = pack.dir;
}

void run_serve(ServeOptions o, const GlobalOptions& global) {
  auto& s = o.server;
  for (const auto& e : o.edits) s.editors.push_back(edit::parse_edit_step(e).editor);
  std::optional<edit::Pack> pack;
  // The demo's pack (all 40 attributes and pose, calibrated) is the default, then its boundaries.
  if (o.pack.empty() && o.edits.empty() && o.boundary_dirs.empty() && std::filesystem::exists("out/demo/pack/pack.json") &&
      s.model_name == "dcgan-celeba32")
    o.pack = "out/demo/pack";
  if (!o.pack.empty()) {
    pack = edit::load_pack(o.pack);
    add_pack_sliders(s, *pack);
  }
  if (o.boundary_dirs.empty() && o.edits.empty() && !pack && std::filesystem::is_directory("out/demo")) o.boundary_dirs.push_back("out/demo");
  for (const auto& d : o.boundary_dirs) {
    if (!std::filesystem::is_directory(d)) fail(d, "is not a directory");
    for (auto& spec : boundaries_in(d)) s.editors.push_back(spec);
  }
  // The shipped L2M-GAN's sliders join the default editors (not explicit --edit / --boundaries lists).
  if (o.l2mgan == "default")
    o.l2mgan = o.edits.empty() && o.boundary_dirs.empty() && std::filesystem::exists(pipeline::default_l2mgan_model())
                   ? pipeline::default_l2mgan_model()
                   : "none";
  if (o.l2mgan != "none") s.l2mgan_model = o.l2mgan;
  if (s.editors.empty() && s.l2mgan_model.empty())
    fail("serve", "no editors: run scripts/demo.sh (its pack out/demo/pack, else its boundaries in out/demo, are the default), "
                  "or give --pack PACK, --boundaries DIR or --edit SPEC");
  if (s.host != "127.0.0.1" && s.host != "localhost" && s.host != "::1")
    std::cerr << "serve: listening on " << s.host << ": anyone who can reach it can upload photos (limits apply)\n";
  for (const char* name : {"000157.jpg", "000004.jpg", "000009.jpg"})  // a few of the shared CelebA-HQ photos, when present
    if (const auto p = shared_root() / "data/celebahq-photos" / name; std::filesystem::exists(p)) s.samples.push_back(p);
  std::shared_ptr<models::Generator> g = models::open_generator(s.model_name, parse_device(global.device));
  if (pack) edit::check_pack_model(*pack, *g);
  server::EditorServer srv(g, s);
  const int port = srv.bind();
  std::cout << nlohmann::json{{"url", "http://" + s.host + ":" + std::to_string(port) + "/"}, {"editors", s.editors.size()}}.dump()
            << std::endl;
  stop_cleanly_on_signals();
  std::thread watcher([&srv] {
    while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    srv.stop();
  });
  srv.serve();
  request_stop();
  watcher.join();
}

}  // namespace

void add_serve_command(CLI::App& app, const GlobalOptions& global) {
  auto* cmd = app.add_subcommand("serve", "The face editor in the browser: upload a photo, move sliders, download the edit");
  auto o = std::make_shared<ServeOptions>();
  auto& s = o->server;
  s.photo.crop = 256;
  cmd->add_option("--host", s.host, "address to listen on (127.0.0.1: this machine only)")->capture_default_str();
  cmd->add_option("--port", s.port, "port (0: any free one)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--model", s.model_name, "generator (file or known name)")->capture_default_str();
  cmd->add_option("--pack", o->pack, "an editor pack from `faceedit fit`: every attribute as a slider in calibrated units, grouped, "
                                     "each attribute's best method first (its model by default; default: out/demo/pack, made by scripts/demo.sh)");
  cmd->add_option("--boundaries", o->boundary_dirs, "directories of InterFaceGAN boundaries (default: out/demo, made by scripts/demo.sh)");
  cmd->add_option("--edit", o->edits, "an editor as key=value pairs, e.g. method=transformer,editor=smiling.safetensors (repeat)")
      ->allow_extra_args(false);
  cmd->add_option("--l2mgan", o->l2mgan, "an L2M-GAN model's sliders (method l2m-gan, each attribute's first): a file, or none "
                                         "(default: the shipped models/l2mgan-celebahq64.safetensors unless --edit or --boundaries is given)")
      ->capture_default_str();
  add_photo_options(cmd, s.photo, {"judge-identity"});  // previews are not measured
  cmd->add_option("--max-upload-bytes", s.max_upload_bytes, "largest upload accepted")->capture_default_str()->check(CLI::Range(1024, 1 << 30));
  cmd->add_option("--max-pixels", s.max_pixels, "largest photo accepted (width x height)")->capture_default_str()->check(CLI::Range(1024, 400'000'000));
  cmd->add_option("--max-queue", s.max_queue, "photos waiting for preparation")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--max-jobs-per-client", s.max_jobs_per_client, "photos in preparation per client address")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--ttl", s.session_ttl_seconds, "seconds an idle photo is kept")->capture_default_str()->check(CLI::Range(10, 86400 * 7));
  cmd->callback([o, cmd, &global] {
    use_pack_model(cmd, o->pack, o->server.model_name);
    run_serve(*o, global);
  });
}

}  // namespace faceedit::cli
