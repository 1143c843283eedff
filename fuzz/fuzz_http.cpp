// faceedit serve's request handling (apps/server/editor_server.h): raw bytes sent to a running server
// over loopback, as any client could. A finding is a sanitizer report, a crash, or a server that
// stops answering (checked every 64 inputs with GET /api/attributes).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/models/model_files.h"
#include "faceedit/progress.h"
#include "faceedit/runtime.h"
#include "server/editor_server.h"

namespace {

int port = 0;

void start_server() {
  faceedit::set_log_sink([](const std::string&) {});
  const std::string boundary = "/tmp/faceedit-fuzz-http-" + std::to_string(getpid()) + ".safetensors";
  faceedit::edit::save_boundary(faceedit::edit::random_boundary(100, faceedit::models::LatentSpace::Z, "smiling", 0), boundary);
  faceedit::server::ServerOptions o;
  o.port = 0;
  o.photo.crop = 64;
  o.photo.inversion_steps = 1;
  o.photo.starts = 1;
  o.photo.guide = "none";
  o.photo.segmenter = "none";
  o.request_timeout_seconds = 2;
  o.max_upload_bytes = 1 << 20;
  faceedit::edit::EditorSpec spec;
  spec.boundary = boundary;
  o.editors = {spec};
  static auto server = std::make_unique<faceedit::server::EditorServer>(faceedit::models::open_generator("dcgan-celeba32"), o);
  port = server->bind();
  std::thread([] { server->serve(); }).detach();
}

void exchange(const uint8_t* data, size_t size) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    (void)!send(fd, data, size, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    char buf[4096];
    while (recv(fd, buf, sizeof buf, 0) > 0) {
    }
  }
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  start_server();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int n = 0;
  if (port == 0) start_server();  // the replay build has no LLVMFuzzerInitialize call
  exchange(data, size);
  if (++n % 64 == 0) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10);
    auto r = c.Get("/api/attributes");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "faceedit serve stopped answering\n");
      std::abort();
    }
  }
  return 0;
}
