// faceedit serve's HTTP API (apps/server/editor_server.h) over loopback: every endpoint, every
// refusal, and a bounded load test. The DCGAN with a random boundary and a tiny inversion budget:
// this checks the server, not edit quality.
#include <gtest/gtest.h>
#include <httplib.h>

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <thread>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/models/model_files.h"
#include "faceedit/face/align.h"
#include "faceedit/pipeline/photo.h"
#include "faceedit/pipeline/photo_l2mgan.h"
#include "server/editor_server.h"
#include "test_support.h"

namespace faceedit {
namespace {

using nlohmann::json;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class Server : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEEDIT_REQUIRE_LANDMARK_MODEL();
    FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
    FACEEDIT_REQUIRE_SHARED(photo, "data/celebahq-photos/000004.jpg");
    photo_bytes = read_bytes(photo);
    model = test::converted("models/dcgan-celeba32/generator.pt");
    const auto boundary = (test::temp_dir() / "server_smiling.safetensors").string();
    edit::save_boundary(edit::random_boundary(100, models::LatentSpace::Z, "smiling", 3), boundary);
    options.port = 0;
    options.model_name = model;
    options.photo.crop = 128;
    options.photo.inversion_steps = 5;
    options.photo.starts = 1;
    options.photo.guide = "none";
    options.photo.segmenter = "none";
    options.max_upload_bytes = 2u << 20;
    options.max_jobs_per_client = 1;
    edit::EditorSpec spec;
    spec.boundary = boundary;
    options.editors = {spec};
    options.samples = {photo};
  }
  void start() {
    server = std::make_unique<server::EditorServer>(models::load_generator(model), options);
    port = server->bind();
    thread = std::thread([this] { server->serve(); });
  }
  void TearDown() override {
    if (server) server->stop();
    if (thread.joinable()) thread.join();
    server.reset();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60);
    return c;
  }
  httplib::Result upload(const std::string& bytes, const std::string& field = "photo") const {
    httplib::MultipartFormDataItems items = {{field, bytes, "me.jpg", "image/jpeg"}};
    return client().Post("/api/photos", items);
  }
  std::string wait_ready(const std::string& id) const {
    for (int i = 0; i < 600; ++i) {
      auto r = client().Get("/api/photos/" + id);
      if (!r) return "no answer";
      const auto s = json::parse(r->body)["state"].get<std::string>();
      if (s == "ready" || s == "failed") return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "timeout";
  }
  httplib::Result preview(const std::string& id, const std::string& body) const {
    return client().Post("/api/photos/" + id + "/preview", body, "application/json");
  }
  static std::string error_of(const httplib::Result& r) { return r ? json::parse(r->body).value("error", "") : "no answer"; }

  std::string model, photo_bytes;
  server::ServerOptions options;
  std::unique_ptr<server::EditorServer> server;
  std::thread thread;
  int port = 0;
};

cv::Mat decode(const std::string& bytes) { return cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), cv::IMREAD_COLOR); }

TEST_F(Server, EveryEndpoint) {
  start();
  auto page = client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("<title>faceedit</title>"), std::string::npos);
  auto attrs = client().Get("/api/attributes");
  ASSERT_TRUE(attrs);
  const auto a = json::parse(attrs->body);
  EXPECT_EQ(a["attributes"][0]["name"], "smiling");
  EXPECT_EQ(a["attributes"][0]["methods"][0]["method"], "interfacegan");

  auto up = upload(photo_bytes);
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 202) << up->body;
  const std::string id = json::parse(up->body)["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{32}")));
  ASSERT_EQ(wait_ready(id), "ready");
  auto events = client().Get("/api/photos/" + id + "/events");  // ends once the photo is ready
  ASSERT_TRUE(events);
  EXPECT_NE(events->body.find("data: {"), std::string::npos);
  EXPECT_NE(events->body.find("\"state\":\"ready\""), std::string::npos);

  auto before = preview(id, R"({"edits": []})"), after = preview(id, R"({"edits": [{"attribute": "Smile", "strength": 3}]})");
  ASSERT_TRUE(before && after);
  ASSERT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(after->get_header_value("Content-Type"), "image/jpeg");
  const cv::Mat b = decode(before->body), e = decode(after->body);
  ASSERT_EQ(e.cols, 128);
  cv::Mat d;
  cv::absdiff(b, e, d);
  EXPECT_GT(cv::sum(cv::mean(d))[0] / 3, 1.0) << "the edit changed nothing";

  // The preview is the library's own: PhotoSession::preview of the same photo and edit, byte for byte.
  {
    pipeline::PhotoParams params = options.photo;
    params.identity_judge = "none";  // as the server sets it
    std::shared_ptr<models::Generator> g = models::load_generator(model);
    pipeline::PhotoSession session(g, model, params);
    std::vector<pipeline::PhotoEdit> edits(1);
    edits[0].editor = options.editors.front();
    edits[0].strength = 3;
    session.open(edits);
    session.prepare(decode(photo_bytes), "the upload", session.space_of(edits), false);
    std::vector<uchar> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", session.preview(edits), jpeg, {cv::IMWRITE_JPEG_QUALITY, 92}));
    EXPECT_TRUE(std::string(jpeg.begin(), jpeg.end()) == after->body) << "the server's preview is not PhotoSession::preview";
  }

  auto render = client().Post("/api/photos/" + id + "/render", R"({"edits": [{"attribute": "smiling", "strength": 3}]})", "application/json");
  ASSERT_TRUE(render);
  ASSERT_EQ(render->status, 200) << render->body;
  const cv::Mat full = decode(render->body), original = decode(photo_bytes);
  EXPECT_EQ(full.size(), original.size());

  auto del = client().Delete("/api/photos/" + id);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  auto gone = client().Get("/api/photos/" + id);
  EXPECT_EQ(gone->status, 404);
}

TEST_F(Server, EveryRefusalAndTheServerGoesOn) {
  options.max_pixels = 500 * 500;  // the test photo is 1024 x 1024
  start();
  auto big = upload(std::string(3u << 20, 'x'));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto text = upload("just some text, not an image");
  EXPECT_EQ(text->status, 415) << text->body;
  auto huge = upload(photo_bytes);
  EXPECT_EQ(huge->status, 413) << huge->body;
  EXPECT_NE(error_of(huge).find("1024x1024"), std::string::npos);
  auto wrong_field = upload(photo_bytes, "file");
  EXPECT_EQ(wrong_field->status, 400);
  auto not_multipart = client().Post("/api/photos", R"({"photo": "x"})", "application/json");
  EXPECT_EQ(not_multipart->status, 400);
  auto broken = client().Post("/api/photos", "--xyz\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\nabc", "multipart/form-data; boundary=xyz");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status / 100, 4) << broken->body;
  auto unknown = client().Get("/api/photos/0123456789abcdef0123456789abcdef");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_FALSE(error_of(unknown).empty());
  for (const std::string path : {"/api/photos/../../etc/passwd", "/api/photos/%2e%2e%2fetc%2fpasswd", "/../../etc/passwd"}) {
    auto r = client().Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("root:"), std::string::npos);
  }
  EXPECT_EQ(preview("0123456789abcdef0123456789abcdef", "{}")->status, 404);
  auto alive = client().Get("/api/attributes");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);
}

TEST_F(Server, BadEditsAndTooManyJobs) {
  start();
  auto first = upload(photo_bytes);
  ASSERT_EQ(first->status, 202);
  auto second = upload(photo_bytes);  // one job per client at a time (options.max_jobs_per_client)
  EXPECT_EQ(second->status, 429) << second->body;
  const std::string id = json::parse(first->body)["id"];
  ASSERT_EQ(wait_ready(id), "ready");
  EXPECT_EQ(preview(id, "{not json")->status, 400);
  EXPECT_EQ(preview(id, R"({"edits": [{"attribute": "smiling", "strength": 1e9}]})")->status, 400);
  EXPECT_NE(error_of(preview(id, R"({"edits": [{"attribute": "nosuch", "strength": 1}]})")).find("no editor"), std::string::npos);
  EXPECT_EQ(preview(id, R"({"edits": [{"attribute": "smiling"}]})")->status, 400);
  EXPECT_EQ(preview(id, R"({"edits": [{"attribute": "smiling", "strength": 1, "method": "pfsf"}]})")->status, 400);
  // The first job is done: room again, here for a sample photo, chosen by index (never by path).
  auto samples = client().Get("/api/samples");
  ASSERT_TRUE(samples);
  EXPECT_EQ(json::parse(samples->body)["samples"][0]["name"], "000004.jpg");
  EXPECT_EQ(client().Post("/api/samples/7", "", "text/plain")->status, 404);
  EXPECT_EQ(client().Post("/api/samples/..%2f..%2fetc", "", "text/plain")->status, 404);
  auto sample = client().Post("/api/samples/0", "", "text/plain");
  EXPECT_EQ(sample->status, 202) << sample->body;
}

TEST_F(Server, LoadOnOneReadyPhoto) {
  options.max_jobs_per_client = 1;
  start();
  const std::string id = json::parse(upload(photo_bytes)->body)["id"];
  ASSERT_EQ(wait_ready(id), "ready");
  constexpr int kClients = 8, kEach = 50;
  std::vector<std::vector<double>> seconds(kClients);
  std::atomic<int> errors{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      for (int k = 0; k < kEach; ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        const double s = -3.0 + 6.0 * ((c * kEach + k) % 13) / 12.0;
        auto r = preview(id, json{{"edits", {{{"attribute", "smiling"}, {"strength", s}}}}}.dump());
        if (!r || r->status != 200 || decode(r->body).empty()) ++errors;
        seconds[c].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    });
  for (auto& t : clients) t.join();
  std::vector<double> all;
  for (const auto& s : seconds) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  std::cout << kClients << " clients x " << kEach << " previews: p50 " << all[all.size() / 2] << " s, p95 " << all[all.size() * 95 / 100] << " s\n";
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
}  // namespace faceedit

namespace faceedit {
namespace {

std::string jpeg_of(const cv::Mat& image) {
  std::vector<uchar> jpeg;
  EXPECT_TRUE(cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 92}));
  return std::string(jpeg.begin(), jpeg.end());
}

// The shipped L2M-GAN beside a latent editor: its sliders come first for its attributes, its preview
// is the library's edit of the photo cropped in the session's frame (byte for byte), its download the
// library's edited photo, and it cannot be mixed with a latent edit in one request.
TEST_F(Server, L2MGanSlidersBesideLatentOnes) {
  options.l2mgan_model = pipeline::default_l2mgan_model();
  start();
  const auto a = json::parse(client().Get("/api/attributes")->body);
  bool smiling = false;
  for (const auto& attr : a["attributes"])
    if (attr["name"] == "smiling") {
      smiling = true;
      EXPECT_EQ(attr["best"], "l2m-gan");
      ASSERT_EQ(attr["methods"].size(), 2u);
      EXPECT_EQ(attr["methods"][1]["method"], "l2m-gan");
    }
  EXPECT_TRUE(smiling);
  auto up = upload(photo_bytes);
  ASSERT_EQ(up->status, 202) << up->body;
  const std::string id = json::parse(up->body)["id"];
  ASSERT_EQ(wait_ready(id), "ready");
  const std::string body = R"({"edits": [{"attribute": "smiling", "strength": 2, "method": "l2m-gan"}]})";
  auto after = preview(id, body);
  ASSERT_EQ(after->status, 200) << after->body;

  pipeline::PhotoParams params = options.photo;
  params.identity_judge = "none";
  std::vector<pipeline::PhotoEdit> edits(1);
  edits[0].editor.method = "l2m-gan";
  edits[0].editor.attribute = "smiling";
  edits[0].editor.editor_file = options.l2mgan_model;
  edits[0].strength = 2;
  pipeline::L2MGanPhotoEditor editor(options.l2mgan_model, params, torch::kCPU);
  editor.set_edits(edits);
  const auto r = editor.edit(decode(photo_bytes), "the upload");
  std::shared_ptr<models::Generator> g = models::load_generator(model);
  pipeline::PhotoSession session(g, model, params);
  std::vector<pipeline::PhotoEdit> latent(1);
  latent[0].editor = options.editors.front();
  session.open(latent);
  session.prepare(decode(photo_bytes), "the upload", session.space_of(latent), false);
  const auto crop = face::align_face(r.photo, session.prepared().face.quad, options.photo.crop).crop;
  EXPECT_TRUE(jpeg_of(crop) == after->body) << "the server's l2m-gan preview is not the library's edit";
  cv::Mat d;
  cv::absdiff(decode(after->body), decode(preview(id, R"({"edits": []})")->body), d);
  EXPECT_GT(cv::sum(cv::mean(d))[0] / 3, 0.3) << "the edit changed nothing";

  auto full = client().Post("/api/photos/" + id + "/render", body, "application/json");
  ASSERT_EQ(full->status, 200) << full->body;
  EXPECT_TRUE(jpeg_of(r.photo) == full->body) << "the download is not the library's edited photo";

  auto mixed = preview(id, R"({"edits": [{"attribute": "smiling", "strength": 1, "method": "interfacegan"},
                                         {"attribute": "male", "strength": 1, "method": "l2m-gan"}]})");
  EXPECT_EQ(mixed->status, 400);
  EXPECT_NE(error_of(mixed).find("cannot be mixed"), std::string::npos) << mixed->body;
  EXPECT_EQ(preview(id, R"({"edits": [{"attribute": "male", "strength": 99, "method": "l2m-gan"}]})")->status, 400);
}

// L2M-GAN alone: nothing to invert, the photo is ready once its face is found.
TEST_F(Server, L2MGanAloneNeedsNoInversion) {
  options.editors.clear();
  options.l2mgan_model = pipeline::default_l2mgan_model();
  start();
  auto up = upload(photo_bytes);
  ASSERT_EQ(up->status, 202) << up->body;
  const std::string id = json::parse(up->body)["id"];
  ASSERT_EQ(wait_ready(id), "ready");
  auto before = preview(id, R"({"edits": []})"), after = preview(id, R"({"edits": [{"attribute": "eyeglasses", "strength": 2}]})");
  ASSERT_EQ(before->status, 200) << before->body;
  ASSERT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(decode(after->body).cols, options.photo.crop);
  EXPECT_NE(before->body, after->body);
  EXPECT_NE(error_of(preview(id, R"({"edits": [{"attribute": "bald", "strength": 1}]})")).find("no editor"), std::string::npos);
}

}  // namespace
}  // namespace faceedit
