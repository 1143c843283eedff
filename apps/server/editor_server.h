// faceedit serve — the face editor in the browser: one HTTP server for the page and its JSON API,
// built on the photo pipeline (pipeline/photo.h). A photo is aligned and inverted once (by a
// worker, in upload order); every slider move after that is a latent edit, one synthesis and a
// blend of the 256 px aligned crop; "render" fuses the edit into the full-resolution photo.
//
// API (JSON errors {"error": "..."} with 4xx/5xx):
//   POST   /api/photos                 multipart/form-data, file field "photo"  -> 202 {"id"}
//   GET    /api/photos/{id}            {"state": queued|aligning|inverting|ready|failed, "progress",
//                                       "queue_position", "error"}
//   GET    /api/photos/{id}/events     the same as Server-Sent Events until ready or failed
//   GET    /api/attributes             editable attributes, their group, methods and strength ranges
//                                       (with a pack: calibrated units and each attribute's "best")
//   POST   /api/photos/{id}/preview    {"edits": [{"attribute", "strength", "method"}]} -> image/jpeg crop
//                                       (method "best" or none: the attribute's best, else the first)
//                                       (header X-Preview-Stream: a page's id; a request overtaken by a
//                                       newer one of its stream while waiting gets 409, not stale work)
//   POST   /api/photos/{id}/render     same body -> image/jpeg, the whole photo edited
//                                       (l2m-gan edits cannot be mixed with latent ones in one body)
//   DELETE /api/photos/{id}
//   GET    /api/samples                the server's sample photos; POST /api/samples/{index} -> 202 {"id"}
//   GET    /                           the page (built into the binary)
//
// Hardening: binds 127.0.0.1 unless told otherwise; uploads over max_upload_bytes are refused (413)
// and images over max_pixels refused from their header before decoding; the content is sniffed
// (JPEG, PNG, WebP, BMP), never trusted from a name; ids are 128 random bits; no request names a
// path; the preparation queue is bounded (429 beyond it, and beyond max_jobs_per_client per client
// address); one preparation at a time (it uses every core); idle photos expire and are deleted;
// every handler catches its errors, so one bad request never stops the server.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "faceedit/edit/editor_factory.h"
#include "faceedit/models/generator.h"
#include "faceedit/pipeline/photo.h"

namespace faceedit::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                          // 0: any free port (see EditorServer::port())
  std::string model_name = "dcgan-celeba32";
  pipeline::PhotoParams photo;              // crop (the preview size), inversion, guide, segmenter
  std::vector<edit::EditorSpec> editors;    // what the sliders edit (attribute + method each)
  // An L2M-GAN model file (pipeline/photo_l2mgan.h; "": none): a slider per attribute it was trained
  // for, method "l2m-gan", the page's first ("best") method for those attributes (on real photos its
  // edits are the ones the judges see: docs/l2mgan.md). It edits the uploaded photo itself, so its
  // previews need no inversion; the preview is cropped as the latent methods' are.
  std::string l2mgan_model;
  // From an editor pack (edit/pack.h; empty without one): per "method/attribute" the native
  // strength of slider unit 1 and the slider's range in those units, per attribute the method the
  // page shows first ("best"), and the pack's directory for the page's command line.
  struct Calibrated {
    double scale = 1, min = -2, max = 2;
  };
  std::map<std::string, Calibrated> calibrated;
  std::map<std::string, std::string> best;
  std::string pack;
  size_t max_upload_bytes = 20u << 20;
  int64_t max_pixels = 40'000'000;
  int max_queue = 8;                        // photos waiting for or in preparation
  int max_jobs_per_client = 2;
  int max_photos = 64;                      // photos held at once (oldest idle expire first)
  int session_ttl_seconds = 1800;           // idle photos are deleted after this
  int request_timeout_seconds = 30;
  std::vector<std::filesystem::path> samples;  // photos offered on the page (chosen by index)
};

class EditorServer {
 public:
  EditorServer(std::shared_ptr<models::Generator> g, ServerOptions options);
  ~EditorServer();
  // Binds host:port (Error naming them when it cannot); returns the port bound.
  int bind();
  // Serves until stop() (from another thread or a signal handler's thread).
  void serve();
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The editor page (HTML, CSS and JavaScript in one document; it uses only the API above).
const std::string& editor_page();

}  // namespace faceedit::server
