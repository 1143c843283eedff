#include "editor_server.h"

#include <algorithm>
#include <httplib.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <iostream>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/io/image_header.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/face/align.h"
#include "faceedit/face/fuse.h"
#include "faceedit/models/l2mgan.h"
#include "faceedit/pipeline/photo_l2mgan.h"
#include "faceedit/progress.h"

namespace faceedit::server {

namespace {

using Clock = std::chrono::steady_clock;

// A request refused with an HTTP status and a message for the client.
struct HttpError : std::runtime_error {
  int status;
  HttpError(int s, const std::string& m) : std::runtime_error(m), status(s) {}
};

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

std::string random_id() {
  static std::mutex m;
  static std::random_device rd;
  std::lock_guard<std::mutex> lock(m);
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    for (int k = 0; k < 8; ++k, v >>= 4) id += hex[v & 15];
  }
  return id;
}

std::vector<unsigned char> encode_jpeg(const cv::Mat& image) {
  std::vector<unsigned char> buf;
  if (!cv::imencode(".jpg", image, buf, {cv::IMWRITE_JPEG_QUALITY, 92})) throw HttpError(500, "could not encode the image");
  return buf;
}


struct Slot {
  std::string id, client;
  std::string state = "queued", error;
  double progress = 0;
  cv::Mat photo;
  std::unique_ptr<pipeline::PhotoSession> session;  // renders every preview and download
  face::AlignmentQuad frame;    // the previews' crop (the session's; FFHQ's without one)
  Clock::time_point used = Clock::now();
  std::mutex work;                  // one preview or render at a time per photo
  std::map<std::string, uint64_t> latest;  // per preview stream (a page): its newest request (guarded by Impl::m)
  bool busy() const { return state == "queued" || state == "aligning" || state == "inverting" || state == "personalizing"; }
};

// The page's groups, in the order it shows them; an attribute outside the table is "other".
const std::vector<std::string>& attribute_groups() {
  static const std::vector<std::string> g = {"expression", "age and gender", "hair", "facial hair", "accessories and makeup",
                                             "face", "pose", "other", "unnamed directions"};
  return g;
}

std::string attribute_group(const std::string& a) {
  static const std::map<std::string, std::string> table = {
      {"smiling", "expression"}, {"mouth_slightly_open", "expression"}, {"narrow_eyes", "expression"},
      {"male", "age and gender"}, {"young", "age and gender"},
      {"bald", "hair"}, {"bangs", "hair"}, {"black_hair", "hair"}, {"blond_hair", "hair"}, {"brown_hair", "hair"},
      {"gray_hair", "hair"}, {"receding_hairline", "hair"}, {"straight_hair", "hair"}, {"wavy_hair", "hair"},
      {"5_o_clock_shadow", "facial hair"}, {"goatee", "facial hair"}, {"mustache", "facial hair"}, {"no_beard", "facial hair"},
      {"sideburns", "facial hair"},
      {"eyeglasses", "accessories and makeup"}, {"heavy_makeup", "accessories and makeup"},
      {"wearing_earrings", "accessories and makeup"}, {"wearing_hat", "accessories and makeup"},
      {"wearing_lipstick", "accessories and makeup"}, {"wearing_necklace", "accessories and makeup"},
      {"wearing_necktie", "accessories and makeup"},
      {"arched_eyebrows", "face"}, {"attractive", "face"}, {"bags_under_eyes", "face"}, {"big_lips", "face"}, {"big_nose", "face"},
      {"blurry", "face"}, {"bushy_eyebrows", "face"}, {"chubby", "face"}, {"double_chin", "face"}, {"high_cheekbones", "face"},
      {"oval_face", "face"}, {"pale_skin", "face"}, {"pointy_nose", "face"}, {"rosy_cheeks", "face"},
      {"yaw", "pose"}, {"pitch", "pose"}, {"roll", "pose"}};
  if (auto it = table.find(a); it != table.end()) return it->second;
  if (a.rfind("sefa_", 0) == 0 || a.rfind("ganspace_", 0) == 0) return "unnamed directions";
  return "other";
}

}  // namespace

struct EditorServer::Impl {
  std::shared_ptr<models::Generator> g;
  ServerOptions o;
  httplib::Server http;
  int bound_port = -1;
  std::map<std::string, std::shared_ptr<const edit::Editor>> editors;  // "method/attribute"
  std::map<std::string, edit::EditorSpec> specs;  // the same keys: what each editor was opened from
  nlohmann::json attributes = nlohmann::json::array();
  bool personalize = false;  // each photo's session personalizes its own copy of g
  std::unique_ptr<pipeline::L2MGanPhotoEditor> l2mgan;  // options.l2mgan_model, used under l2mgan_m
  std::mutex l2mgan_m;

  std::mutex m;  // slots, queue, stopping
  std::condition_variable wake;
  std::map<std::string, std::shared_ptr<Slot>> slots;
  std::deque<std::shared_ptr<Slot>> queue;
  bool stopping = false;
  std::thread worker, sweeper;

  Impl(std::shared_ptr<models::Generator> gen, ServerOptions opts);
  // A slider's range: the pack's calibrated one, else the method's own.
  edit::StrengthRange slider_range(const std::string& key, const std::string& method) const {
    if (auto it = o.calibrated.find(key); it != o.calibrated.end()) return {it->second.min, it->second.max};
    return edit::strength_range(method);
  }
  void routes();
  std::shared_ptr<Slot> slot_of(const httplib::Request& req);
  nlohmann::json status_of(const Slot& s);
  std::vector<pipeline::PhotoEdit> parse_edits(const std::string& body);
  // The edited photo (full size) and the preview crop for L2M-GAN edits of a ready photo.
  std::pair<cv::Mat, cv::Mat> l2mgan_edit(Slot& slot, const std::vector<pipeline::PhotoEdit>& edits);
  void upload(const httplib::Request& req, httplib::Response& res);
  std::string enqueue(const cv::Mat& photo, const std::string& client);  // the new photo's id
  void preview(const httplib::Request& req, httplib::Response& res);
  cv::Mat preview_crop(const Slot& slot) const;  // no session (l2m-gan only): the aligned crop itself
  void render(const httplib::Request& req, httplib::Response& res);
  void work();
  void sweep();
};

EditorServer::Impl::Impl(std::shared_ptr<models::Generator> gen, ServerOptions opts) : g(std::move(gen)), o(std::move(opts)) {
  if (o.editors.empty() && o.l2mgan_model.empty())
    fail("serve", "no editors: give boundaries or editor files (e.g. --editor smiling.safetensors)");
  o.photo.identity_judge = "none";
  std::map<std::string, nlohmann::json> by_attr;
  std::vector<std::string> order;  // attributes in the order given
  for (const auto& spec : o.editors) {
    auto e = edit::open_editor(spec, g);
    const std::string key = e->method() + "/" + e->attribute();
    if (std::find(order.begin(), order.end(), e->attribute()) == order.end()) order.push_back(e->attribute());
    if (editors.count(key)) {  // one slider per attribute and method: the first editor given wins
      log_line("serve: " + key + " given twice; using the first");
      continue;
    }
    const auto range = slider_range(key, e->method());
    nlohmann::json entry = {{"method", e->method()}, {"min", range.min}, {"max", range.max}, {"editor", e->describe()}};
    if (o.calibrated.count(key)) entry["scale"] = o.calibrated.at(key).scale;
    by_attr[e->attribute()].push_back(entry);
    editors[key] = std::move(e);
    specs[key] = spec;
  }
  if (!o.l2mgan_model.empty()) {
    l2mgan = std::make_unique<pipeline::L2MGanPhotoEditor>(o.l2mgan_model, o.photo, g->device());
    const auto range = edit::strength_range(pipeline::kL2MGanMethod);
    for (const auto& a : l2mgan->model().config().attributes) {
      if (std::find(order.begin(), order.end(), a) == order.end()) order.push_back(a);
      by_attr[a].push_back({{"method", pipeline::kL2MGanMethod}, {"min", range.min}, {"max", range.max},
                            {"editor", {{"method", pipeline::kL2MGanMethod}, {"model", std::filesystem::path(o.l2mgan_model).filename().string()}}}});
      o.best[a] = pipeline::kL2MGanMethod;
    }
  }
  // Grouped as a person looks for them (pack order inside a group), the best method first.
  std::vector<std::pair<std::string, nlohmann::json>> ordered;
  for (const auto& name : order) {
    const auto& methods = by_attr[name];
    nlohmann::json a = {{"name", name}, {"group", attribute_group(name)}, {"methods", methods}};
    if (o.best.count(name)) a["best"] = o.best.at(name);
    ordered.push_back({attribute_group(name), a});
  }
  for (const auto& group : attribute_groups())
    for (const auto& [g_name, a] : ordered)
      if (g_name == group) attributes.push_back(a);
  // Sessions own their personalized generators (the shared one never changes): personalize a photo
  // when a slider's method asks for it (a PFSF walk), as PhotoParams::personalize says.
  std::vector<pipeline::PhotoEdit> all;
  for (const auto& [key, e] : editors) all.push_back({{}, 1.0, false, e});
  personalize = pipeline::wants_personalization(o.photo, all);
  routes();
  worker = std::thread([this] { work(); });
  sweeper = std::thread([this] { sweep(); });
}

std::shared_ptr<Slot> EditorServer::Impl::slot_of(const httplib::Request& req) {
  std::lock_guard<std::mutex> lock(m);
  auto it = slots.find(req.matches[1].str());
  if (it == slots.end()) throw HttpError(404, "no such photo (unknown id, deleted or expired)");
  it->second->used = Clock::now();
  return it->second;
}

nlohmann::json EditorServer::Impl::status_of(const Slot& s) {
  int position = 0;
  for (size_t i = 0; i < queue.size(); ++i)
    if (queue[i].get() == &s) position = static_cast<int>(i) + 1;
  nlohmann::json j{{"id", s.id}, {"state", s.state}, {"progress", s.progress}, {"queue_position", position}};
  if (!s.error.empty()) j["error"] = s.error;
  return j;
}

void EditorServer::Impl::upload(const httplib::Request& req, httplib::Response& res) {
  if (!req.is_multipart_form_data() || !req.has_file("photo"))
    throw HttpError(400, "send multipart/form-data with the image in a file field named 'photo'");
  const auto file = req.get_file_value("photo");
  if (file.content.size() > o.max_upload_bytes) throw HttpError(413, "the photo is larger than the upload limit");
  const std::vector<unsigned char> bytes(file.content.begin(), file.content.end());
  io::ImageHeader header;
  try {
    header = io::parse_image_header(bytes, "the upload");
  } catch (const Error& e) {
    throw HttpError(415, std::string(e.what()) + " (JPEG, PNG, WebP or BMP expected)");
  }
  io::ImageLimits limits;
  limits.max_pixels = o.max_pixels;
  try {
    io::check_image_limits(header, limits, "the upload");
  } catch (const Error& e) {
    throw HttpError(413, e.what());
  }
  cv::Mat photo;
  try {
    photo = io::decode_image(bytes, "the upload", limits);
  } catch (const Error& e) {
    throw HttpError(415, e.what());
  }
  send_json(res, 202, {{"id", enqueue(photo, req.remote_addr)}});
}

std::string EditorServer::Impl::enqueue(const cv::Mat& photo, const std::string& client) {
  auto slot = std::make_shared<Slot>();
  slot->client = client;
  slot->photo = photo;
  {
    std::lock_guard<std::mutex> lock(m);
    int mine = 0;
    for (const auto& [id, s] : slots) mine += s->client == slot->client && s->busy();
    if (mine >= o.max_jobs_per_client) throw HttpError(429, "this client already has " + std::to_string(mine) + " photos being prepared");
    if (static_cast<int>(queue.size()) >= o.max_queue) throw HttpError(429, "the preparation queue is full; try again later");
    while (static_cast<int>(slots.size()) >= o.max_photos) {  // the least recently used idle photo makes room
      auto oldest = slots.end();
      for (auto it = slots.begin(); it != slots.end(); ++it)
        if (!it->second->busy() && (oldest == slots.end() || it->second->used < oldest->second->used)) oldest = it;
      if (oldest == slots.end()) throw HttpError(429, "the server holds too many photos in preparation");
      slots.erase(oldest);
    }
    do slot->id = random_id();
    while (slots.count(slot->id));
    slots[slot->id] = slot;
    queue.push_back(slot);
  }
  wake.notify_all();
  return slot->id;
}

std::vector<pipeline::PhotoEdit> EditorServer::Impl::parse_edits(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw HttpError(400, "the body must be JSON: {\"edits\": [{\"attribute\", \"strength\", \"method\"}]}");
  const auto list = j.value("edits", nlohmann::json::array());
  if (!list.is_array() || list.size() > 16) throw HttpError(400, "\"edits\" must be a list of at most 16 edits");
  std::vector<pipeline::PhotoEdit> edits;
  for (const auto& e : list) {
    if (!e.is_object() || !e.contains("attribute") || !e["attribute"].is_string() || !e.contains("strength") || !e["strength"].is_number())
      throw HttpError(400, "each edit needs \"attribute\" (a name) and \"strength\" (a number)");
    const std::string attr = models::canonical_attribute(e["attribute"].get<std::string>());
    std::string method = e.value("method", "");
    if (!method.empty() && !e["method"].is_string()) throw HttpError(400, "\"method\" must be a name");
    if (method == "best") method = o.best.count(attr) ? o.best.at(attr) : "";
    std::shared_ptr<const edit::Editor> editor;
    std::string editor_key;
    for (const auto& [key, ed] : editors)
      if (ed->attribute() == attr && (method.empty() || ed->method() == method)) {
        editor = ed, editor_key = key;
        break;
      }
    if (!editor && l2mgan && (method.empty() || method == pipeline::kL2MGanMethod)) {
      const auto& trained = l2mgan->model().config().attributes;
      if (std::find(trained.begin(), trained.end(), attr) != trained.end()) {
        const double strength = e["strength"].get<double>();
        const auto range = edit::strength_range(pipeline::kL2MGanMethod);
        if (!std::isfinite(strength) || strength < range.min || strength > range.max)
          throw HttpError(400, "strength of " + attr + " must be in [" + std::to_string(range.min) + ", " + std::to_string(range.max) + "]");
        if (strength == 0) continue;
        pipeline::PhotoEdit pe;
        pe.editor.method = pipeline::kL2MGanMethod;
        pe.editor.attribute = attr;
        pe.editor.editor_file = o.l2mgan_model;
        pe.strength = strength;
        edits.push_back(pe);
        continue;
      }
    }
    if (!editor) throw HttpError(400, "no editor for " + attr + (method.empty() ? "" : " with method " + method) + " (see /api/attributes)");
    const double strength = e["strength"].get<double>();
    const auto range = slider_range(editor_key, editor->method());
    if (!std::isfinite(strength) || strength < range.min || strength > range.max)
      throw HttpError(400, "strength of " + attr + " must be in [" + std::to_string(range.min) + ", " + std::to_string(range.max) + "]");
    if (strength == 0) continue;
    pipeline::PhotoEdit pe;
    // A pack's slider unit is calibrated (1: the attribute flips on the median face): in the method's own unit here.
    pe.strength = strength * (o.calibrated.count(editor_key) ? o.calibrated.at(editor_key).scale : 1.0);
    pe.editor = specs.at(editor_key);  // a walk is opened by the session on its own generator
    pe.opened = editor;
    edits.push_back(pe);
  }
  return edits;
}

void EditorServer::Impl::preview(const httplib::Request& req, httplib::Response& res) {
  auto slot = slot_of(req);
  // A page names its stream of slider moves (X-Preview-Stream): a request that a newer one of the
  // same stream overtook while it waited is dropped unanswered (409), so stale work is not done.
  const std::string stream = req.get_header_value("X-Preview-Stream").substr(0, 64);
  const auto ticket_of = [&] {
    std::lock_guard<std::mutex> lock(m);
    return stream.empty() ? 0 : slot->latest[stream];
  };
  uint64_t ticket = 0;
  if (!stream.empty()) {
    std::lock_guard<std::mutex> lock(m);
    ticket = ++slot->latest[stream];
  }
  const auto edits = parse_edits(req.body);
  std::lock_guard<std::mutex> lock(slot->work);
  if (slot->state != "ready") throw HttpError(409, "the photo is not ready (" + slot->state + ")");
  if (ticket != ticket_of()) throw HttpError(409, "superseded by a newer preview request");
  const bool image_edit = pipeline::is_l2mgan_edit(edits);  // an Error (400) when mixed with latent edits
  const auto jpeg = encode_jpeg(image_edit ? l2mgan_edit(*slot, edits).second
                                           : (slot->session ? slot->session->preview(edits) : preview_crop(*slot)));
  res.set_content(reinterpret_cast<const char*>(jpeg.data()), jpeg.size(), "image/jpeg");
}

cv::Mat EditorServer::Impl::preview_crop(const Slot& slot) const {
  return face::align_face(slot.photo, slot.frame, o.photo.crop).crop;
}

std::pair<cv::Mat, cv::Mat> EditorServer::Impl::l2mgan_edit(Slot& slot, const std::vector<pipeline::PhotoEdit>& edits) {
  std::lock_guard<std::mutex> lock(l2mgan_m);
  l2mgan->set_edits(edits);
  const auto r = l2mgan->edit(slot.photo, "the upload");
  // The preview in the latent methods' frame, so the page does not jump when sliders of different
  // methods move.
  return {r.photo, face::align_face(r.photo, slot.frame, o.photo.crop).crop};
}

void EditorServer::Impl::render(const httplib::Request& req, httplib::Response& res) {
  auto slot = slot_of(req);
  const auto edits = parse_edits(req.body);
  std::lock_guard<std::mutex> lock(slot->work);
  if (slot->state != "ready") throw HttpError(409, "the photo is not ready (" + slot->state + ")");
  const cv::Mat photo = edits.empty()                      ? slot->photo
                        : pipeline::is_l2mgan_edit(edits) ? l2mgan_edit(*slot, edits).first
                                                          : slot->session->render(edits).photo;
  const auto jpeg = encode_jpeg(photo);
  res.set_header("Content-Disposition", "attachment; filename=\"edited.jpg\"");
  res.set_content(reinterpret_cast<const char*>(jpeg.data()), jpeg.size(), "image/jpeg");
}

// The preparation worker: one photo at a time (an inversion already uses every core).
void EditorServer::Impl::work() {
  while (true) {
    std::shared_ptr<Slot> slot;
    {
      std::unique_lock<std::mutex> lock(m);
      wake.wait(lock, [this] { return stopping || !queue.empty(); });
      if (stopping) return;
      slot = queue.front();
      queue.pop_front();
      slot->state = "aligning";
    }
    try {
      // The bar: 0.1 once aligned, then each stage's steps (inverting, then personalizing) to 1.
      auto params = o.photo;
      params.on_progress = [this, slot](const ProgressUpdate& u) {
        std::lock_guard<std::mutex> lock(m);
        slot->progress = 0.1 + 0.9 * static_cast<double>(u.done) / static_cast<double>(std::max<int64_t>(1, u.total));
      };
      auto session = std::make_unique<pipeline::PhotoSession>(g, o.model_name, params, [this, slot](const pipeline::PhotoStage& st) {
        std::lock_guard<std::mutex> lock(m);
        if (st.name == "align") slot->state = "inverting", slot->progress = 0.1;
        if (st.name == "inversion" && personalize) slot->state = "personalizing", slot->progress = 0.1;
      });
      face::AlignmentQuad frame;
      if (editors.empty()) {  // L2M-GAN only: nothing to invert; the photo's one face gives the frame
        frame = face::align_single_face(slot->photo, o.photo.crop, "the upload").quad;
        session.reset();
      } else {
        frame = session->prepare(slot->photo, "the upload", editors.begin()->second->space(), personalize).face.quad;
      }
      std::lock_guard<std::mutex> lock(m);
      slot->frame = frame;
      slot->session = std::move(session);
      slot->state = "ready";
      slot->progress = 1;
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(m);
      slot->state = "failed";
      slot->error = e.what();
    }
  }
}

void EditorServer::Impl::sweep() {
  std::unique_lock<std::mutex> lock(m);
  while (!stopping) {
    wake.wait_for(lock, std::chrono::seconds(5));
    const auto now = Clock::now();
    for (auto it = slots.begin(); it != slots.end();)
      it = !it->second->busy() && now - it->second->used > std::chrono::seconds(o.session_ttl_seconds) ? slots.erase(it) : std::next(it);
  }
}

void EditorServer::Impl::routes() {
  // Every handler's refusal or failure becomes a JSON error; the server goes on.
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  const auto guarded = [](Handler handler) {
    return [handler](const httplib::Request& req, httplib::Response& res) {
      try {
        handler(req, res);
      } catch (const HttpError& e) {
        send_json(res, e.status, {{"error", e.what()}});
      } catch (const Error& e) {
        send_json(res, 400, {{"error", e.what()}});
      } catch (const std::exception& e) {
        send_json(res, 500, {{"error", std::string("internal error: ") + e.what()}});
      }
    };
  };
  http.set_payload_max_length(o.max_upload_bytes + (64u << 10));  // the multipart envelope on top
  http.set_read_timeout(o.request_timeout_seconds);
  http.set_write_timeout(o.request_timeout_seconds);
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      send_json(res, res.status,
                {{"error", std::string(res.status == 413   ? "the request is larger than the upload limit"
                                       : res.status == 404 ? "no such resource"
                                                           : "the request was refused")}});
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(editor_page(), "text/html; charset=utf-8"); });
  http.Get("/api/attributes", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json j = {{"attributes", attributes}, {"model", o.model_name}, {"preview_size", o.photo.crop}};
    if (!o.pack.empty()) j["pack"] = o.pack;
    send_json(res, 200, j);
  });
  http.Post("/api/photos", guarded([this](const httplib::Request& req, httplib::Response& res) { upload(req, res); }));
  http.Get("/api/samples", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < o.samples.size(); ++i) list.push_back({{"index", i}, {"name", o.samples[i].filename().string()}});
    send_json(res, 200, {{"samples", list}});
  });
  // A sample is chosen by its index in the server's own list: no request names a file.
  http.Post("/api/samples/([0-9]{1,3})", guarded([this](const httplib::Request& req, httplib::Response& res) {
    const size_t i = std::stoul(req.matches[1].str());
    if (i >= o.samples.size()) throw HttpError(404, "no such sample");
    send_json(res, 202, {{"id", enqueue(io::read_image(o.samples[i].string()), req.remote_addr)}});
  }));
  const std::string id = "/api/photos/([0-9a-f]{32})";
  http.Get(id, guarded([this](const httplib::Request& req, httplib::Response& res) {
    auto slot = slot_of(req);
    std::lock_guard<std::mutex> lock(m);
    send_json(res, 200, status_of(*slot));
  }));
  http.Get(id + "/events", guarded([this](const httplib::Request& req, httplib::Response& res) {
    auto slot = slot_of(req);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, slot](size_t, httplib::DataSink& sink) {
      nlohmann::json st;
      bool alive = false;
      {
        std::lock_guard<std::mutex> lock(m);
        st = status_of(*slot);
        alive = slots.count(slot->id) > 0;
      }
      const std::string event = "data: " + st.dump() + "\n\n";
      if (!sink.write(event.data(), event.size())) return false;
      if (st["state"] == "ready" || st["state"] == "failed" || !alive) {
        sink.done();
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      return true;
    });
  }));
  http.Post(id + "/preview", guarded([this](const httplib::Request& req, httplib::Response& res) { preview(req, res); }));
  http.Post(id + "/render", guarded([this](const httplib::Request& req, httplib::Response& res) { render(req, res); }));
  http.Delete(id, guarded([this](const httplib::Request& req, httplib::Response& res) {
    auto slot = slot_of(req);
    std::lock_guard<std::mutex> lock(m);
    slots.erase(slot->id);
    for (auto it = queue.begin(); it != queue.end(); ++it)
      if (*it == slot) {
        queue.erase(it);
        break;
      }
    send_json(res, 200, {{"deleted", slot->id}});
  }));
}

EditorServer::EditorServer(std::shared_ptr<models::Generator> g, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(g), std::move(options))) {}

EditorServer::~EditorServer() {
  stop();
  {
    std::lock_guard<std::mutex> lock(impl_->m);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  if (impl_->sweeper.joinable()) impl_->sweeper.join();
}

int EditorServer::bind() {
  auto& i = *impl_;
  i.bound_port = i.o.port == 0 ? i.http.bind_to_any_port(i.o.host) : (i.http.bind_to_port(i.o.host, i.o.port) ? i.o.port : -1);
  if (i.bound_port < 0) fail("serve", "cannot listen on " + i.o.host + ":" + std::to_string(i.o.port) + " (in use, or not an address of this machine)");
  return i.bound_port;
}

void EditorServer::serve() {
  if (impl_->bound_port < 0) bind();
  impl_->http.listen_after_bind();
}

void EditorServer::stop() { impl_->http.stop(); }

int EditorServer::port() const { return impl_->bound_port; }

}  // namespace faceedit::server
