// faceedit — editing a real photo, as one library call:
//   detect + align -> invert -> (personalize) -> one or more edits -> render (synthesize -> fuse).
//
// PhotoSession holds a photo's preparation (alignment, inversion, personalized generator) so any
// number of edits can follow without redoing it; with a cache directory, the preparation is also
// stored on disk (keyed by the photo's pixels, the model and every setting that shapes it), so a
// later process editing the same photo skips straight to the edit.
//
//   auto g = models::open_generator("dcgan-celeba32");
//   pipeline::PhotoParams params;  params.cache_dir = faceedit::cache_dir() / "photos";
//   pipeline::PhotoEdit smile;  smile.editor.method = "pfsf";  smile.editor.attribute = "smiling";
//   auto result = pipeline::edit_photo(io::read_image("me.jpg"), "me.jpg", g, "dcgan-celeba32",
//                                      {smile}, params, [](const pipeline::PhotoStage& s) { ... });
//   io::write_image("me_smiling.jpg", result.photo);
//
// Edits apply in sequence in latent space (each one on the previous one's latent) and the image is
// fused into the photo once. The generator's change (edited - reconstruction) is added to the
// photo's own aligned crop (unless params.replace), blended through the portrait mask and warped
// back: pixels outside the mask's support are the photo's own, bit for bit.
//
// Progress: on_stage is called after each stage ("align", "inversion", "personalization", "edit",
// "fusion"; "cache" instead of the first three on a cache hit; "metrics" when edit_photo is given
// eval/photo_metrics.h's measure) with its seconds and details. Inversion and personalization also write progress lines (steps, rate, ETA) to stderr.
//
// Thread-safety: sessions are independent (a personalization fine-tunes a session's own copy of the
// generator); one session serves one thread at a time.
#pragma once

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "faceedit/edit/editor_factory.h"
#include "faceedit/edit/pfsf_walk.h"
#include "faceedit/models/face_analysis.h"
#include "faceedit/models/generator.h"
#include "faceedit/face/align.h"
#include "faceedit/pipeline/invert.h"
#include "faceedit/pipeline/personalize.h"

namespace faceedit::models {
class FaceClassifier;
}

namespace faceedit::pipeline {

enum class Personalize { Auto, Always, Never };  // Auto: when an edit is a PFSF walk

struct PhotoParams {
  int crop = 256;                 // aligned crop size (pixels)
  double zoom = 0, shift = -1;    // framing vs FFHQ's quad; 0 / -1: the generator's face_framing()
  int inversion_steps = 300, starts = 4;
  std::string encoder;            // `faceedit train-encoder` file: the inversion starts at its code (one
                                  // start); with inversion_steps = 0 its code is the inversion
  Personalize personalize = Personalize::Auto;
  int personalize_steps = 80;
  std::string guide = "celebahq";  // our classifier guiding inversion (features + identity): name, path or "none"
  std::string perceptual;          // LPIPS-like TorchScript instead of the guide's features ("" : none)
  std::string segmenter = "selfie";  // portrait segmenter (judge name or path; "none": landmark hull)
  std::string identity_judge = "faceres-descriptor";  // measures identity only; "none": skip
  bool poisson = false;            // seamless (Poisson) blending inside the mask
  bool replace = false;            // paste G's face instead of adding its change to the crop
  std::filesystem::path cache_dir;  // "" : no cache
  uint64_t cache_max_bytes = 512ull << 20;  // oldest photos evicted beyond this
  // Inversion's and personalization's steps as numbers ("inversion" / "personalization", done,
  // total), beside their progress lines: what a front end draws its bar from. Not part of any key.
  ProgressCallback on_progress;
};

// Our classifier guiding inversion and personalization (PhotoParams::guide: a trained set's name, a
// path, or "none"): its activations as the feature distance (or PhotoParams::perceptual's
// TorchScript instead) and its embedding as the identity term. Null members where there is none.
struct InversionGuide {
  std::shared_ptr<models::FaceClassifier> classifier;
  std::shared_ptr<models::FeatureDistance> features;
  std::shared_ptr<models::IdentityEmbedder> identity;
};
InversionGuide open_inversion_guide(const PhotoParams& params, torch::Device device);

// One edit of a photo: what to open, how strong, and (once opened) the editor itself, so an edit
// and its editor travel together.
struct PhotoEdit {
  edit::EditorSpec editor;  // method "pfsf" walks with the supervision classifier
  double strength = 1.0;    // sign: direction (ignored with flip); pfsf: 1 = where the attribute flips
  bool flip = false;        // towards the other side of the attribute, as the method judges the face
  // The opened editor (PhotoSession::open fills it). Callers that keep editors for many photos (the
  // server) may set it. A pfsf walk always walks the session's own generator (its personalized
  // copy once made): the session opens those from `editor` itself.
  std::shared_ptr<const edit::Editor> opened;
};

struct PhotoStage {
  std::string name;
  double seconds = 0;
  nlohmann::json info;
};
using StageCallback = std::function<void(const PhotoStage&)>;

// One photo's preparation: what the edits start from.
struct PreparedPhoto {
  cv::Mat photo;
  face::AlignedFace ffhq;          // FFHQ-aligned (identity metrics)
  face::AlignedFace face;          // the generator's framing (what is inverted and fused)
  cv::Mat mask;              // [crop, crop] CV_32F in [0, 1]: where the edit lands
  models::LatentSpace space = models::LatentSpace::Z;
  torch::Tensor pivot;       // [1, ...] the inversion
  nlohmann::json inversion;  // InversionResult::to_json()
  nlohmann::json personalization;  // null when not personalized
  io::NamedTensors delta;    // personalization's weight delta (empty when none)
  std::string cache_key;
  bool from_cache = false;
};

struct AppliedEdit {
  std::string method, attribute;
  double strength = 0;  // as applied (after flip)
  nlohmann::json describe;
  std::optional<edit::WalkPath> walk;  // pfsf
  std::string note;  // e.g. why a walk stayed put (the attribute is already on the asked side)
};

struct PhotoResult {
  cv::Mat photo;           // the edited photo, the input's size
  face::AlignedFace ffhq;        // the photo's face, FFHQ-aligned (what identity is judged on)
  face::AlignedFace face;        // the face in the generator's framing (what was edited)
  cv::Mat edited_crop;     // face.crop after the edit, before fusion
  cv::Mat blended_crop;    // edited_crop blended into face.crop through the mask
  torch::Tensor reconstruction, edited_image;  // [1, 3, R, R] the generator's, before/after
  torch::Tensor edited_latent;
  std::vector<AppliedEdit> edits;
  nlohmann::json metrics = nlohmann::json::object();  // what a PhotoMeasure made of it (eval/photo_metrics.h); empty without one
  nlohmann::json timings;
  nlohmann::json inversion, personalization;  // the preparation's reports (personalization: null when none)
  models::LatentSpace space = models::LatentSpace::Z;
  bool cache_hit = false;
  nlohmann::json to_json() const;  // all of the above but the images and tensors
};

// Measures an edited photo (eval::PhotoMeasurer::callback(): identity, PSNR, the guide's reading).
// The pipeline makes images; measuring them is eval's, handed in by the whole-job calls' callers.
using PhotoMeasure = std::function<nlohmann::json(const PhotoResult&)>;
// result.metrics = measure(result), timed as the stage "metrics" (and in result.timings); nothing
// without a measure.
void measure_result(PhotoResult& result, const PhotoMeasure& measure, const StageCallback& on_stage);

// The generator's rendering of one aligned face, before and after the edits: the one path from
// latents to pixels that photos, previews and video frames share.
struct RenderedFace {
  torch::Tensor reconstruction, edited_image;  // [1, 3, R, R]: G(pivot), G(edited)
  cv::Mat edited_crop;   // the aligned crop with the generator's change added (or its face, replace)
  cv::Mat blended_crop;  // edited_crop blended into the crop through the mask: what a preview shows
  cv::Mat photo;         // fused back into the photo (empty when no photo was given)
};

class PhotoSession {
 public:
  // `g` is shared and never changed: a personalization fine-tunes the session's own copy of it.
  // `model_name` keys the cache and the delta files.
  PhotoSession(std::shared_ptr<const models::Generator> g, std::string model_name, PhotoParams params, StageCallback on_stage = {});
  ~PhotoSession();

  // Aligns, inverts and (when `personalize`) personalizes `photo` (named `name` in errors), or loads
  // all of it from the cache. Throws faceedit::Error for no face, several faces, or bad settings.
  const PreparedPhoto& prepare(const cv::Mat& photo, const std::string& name, models::LatentSpace space, bool personalize);
  // Opens the editors of `edits` that are not open yet (checking each spec and strength, and that
  // all share one latent space): call it before prepare() to fail fast.
  void open(std::vector<PhotoEdit>& edits) const;
  // The latent space the edits work in (opening them as open() does).
  models::LatentSpace space_of(std::vector<PhotoEdit> edits) const;

  // The edits in sequence on one latent (pivot [1, ...] in `space`), each on the previous one's
  // result; `flip` picks each edit's sign from the face. Appends what was applied. (A video edits
  // each frame's inversion with it; a photo its prepared pivot.)
  torch::Tensor edit_latent(const torch::Tensor& pivot, models::LatentSpace space, const std::vector<PhotoEdit>& edits,
                            std::vector<AppliedEdit>& applied) const;
  // Renders `edited` against `pivot` (both [1, ...] in `space`) on `face`, blended through `mask`;
  // given the photo the face was cropped from, also fuses it back. Every image a photo, a preview
  // or a video frame shows comes from here.
  RenderedFace render_face(const face::AlignedFace& face, const cv::Mat& mask, models::LatentSpace space, const torch::Tensor& pivot,
                           const torch::Tensor& edited, const cv::Mat& photo = {}) const;
  // The prepared photo's aligned crop with the edits, blended through its mask (no fusion, no
  // metrics): the browser editor's preview. No edits: the crop itself.
  cv::Mat preview(const std::vector<PhotoEdit>& edits) const;
  // The edited photo, its crops and the generator's images (measured by eval/photo_metrics.h).
  PhotoResult render(const std::vector<PhotoEdit>& edits);

  const PreparedPhoto& prepared() const;
  // The generator the session renders with: its personalized copy after a personalization, else
  // the shared one.
  std::shared_ptr<const models::Generator> generator() const;
  const InversionGuide& guide() const;  // what prepare() inverts with (a video inverts its frames with it too)
  // Writes aligned.png, reconstruction.png, edited_generator.png, edited_crop.png, mask.png,
  // before_after.jpg, latents.safetensors, walk_K.safetensors, personalized.delta.safetensors.
  void save_intermediates(const std::filesystem::path& dir, const PhotoResult& result) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Where an edit lands in an aligned crop (face.landmarks set): the portrait mask (fuse.h) faded out
// towards the crop's edges. CV_32F, the crop's size.
cv::Mat edit_mask(const face::AlignedFace& face, models::PortraitSegmenter* segmenter);
// The crop's quad in the generator's framing (params' zoom / shift, else g.face_framing()).
face::AlignmentQuad framed_quad(const face::AlignmentQuad& ffhq, const models::Generator& g, const PhotoParams& params);

// Personalize or not for these edits: PhotoParams::personalize's Always / Never, and with Auto when
// an edit is a PFSF walk.
bool wants_personalization(const PhotoParams& params, const std::vector<PhotoEdit>& edits);

// The whole job in one call: opens the editors (checking them before any slow work), picks the
// latent space they share, prepares the photo (from the cache when it can), applies the edits and,
// given a `measure`, measures the result.
PhotoResult edit_photo(const cv::Mat& photo, const std::string& name, std::shared_ptr<const models::Generator> g,
                       const std::string& model_name, std::vector<PhotoEdit> edits, const PhotoParams& params,
                       StageCallback on_stage = {}, std::filesystem::path keep_intermediates = {}, PhotoMeasure measure = {});

// Bumped when what a cache entry holds changes: older entries are then misses.
inline constexpr int kPhotoCacheVersion = 1;
// The cache key of a photo under the settings that shape its preparation (hex; pixels hashed).
// (Personalization is not part of the key: an entry holds the inversion and, once made, the
// personalization with its step count; prepare() adds or ignores it as asked.)
std::string photo_cache_key(const cv::Mat& photo, const std::string& model_name, const models::Generator& g,
                            const PhotoParams& params, models::LatentSpace space);
// Removes the least recently used entries of `dir` until it holds at most `max_bytes`.
void evict_photo_cache(const std::filesystem::path& dir, uint64_t max_bytes);

}  // namespace faceedit::pipeline
