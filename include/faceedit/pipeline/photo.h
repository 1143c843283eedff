// faceedit — editing a real photo, as one library call:
//   detect + align -> invert -> (personalise) -> one or more edits -> synthesize -> fuse.
//
// PhotoSession holds a photo's preparation (alignment, inversion, personalised generator) so any
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
// Progress: on_stage is called after each stage ("align", "inversion", "personalisation", "edit",
// "fusion", "metrics"; "cache" instead of the first three on a cache hit) with its seconds and
// details. Inversion and personalisation also write progress lines (steps, rate, ETA) to stderr.
//
// Thread-safety: a session personalises its generator in place; use one session per generator.
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
#include "faceedit/pipeline/align.h"
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
};

// Our classifier guiding inversion and personalisation (PhotoParams::guide: a trained set's name, a
// path, or "none"): its activations as the feature distance (or PhotoParams::perceptual's
// TorchScript instead) and its embedding as the identity term. Null members where there is none.
struct InversionGuide {
  std::shared_ptr<models::FaceClassifier> classifier;
  std::shared_ptr<models::FeatureDistance> features;
  std::shared_ptr<models::IdentityEmbedder> identity;
};
InversionGuide open_inversion_guide(const PhotoParams& params, torch::Device device);

struct PhotoEdit {
  edit::EditorSpec editor;  // method "pfsf" walks with the supervision classifier
  double strength = 1.0;    // sign: direction (ignored with flip); pfsf: 1 = where the attribute flips
  bool flip = false;        // towards the other side of the attribute, as the method judges the face
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
  AlignedFace ffhq;          // FFHQ-aligned (identity metrics)
  AlignedFace face;          // the generator's framing (what is inverted and fused)
  cv::Mat mask;              // [crop, crop] CV_32F in [0, 1]: where the edit lands
  models::LatentSpace space = models::LatentSpace::Z;
  torch::Tensor pivot;       // [1, ...] the inversion
  nlohmann::json inversion;  // InversionResult::to_json()
  nlohmann::json personalisation;  // null when not personalised
  io::NamedTensors delta;    // personalisation's weight delta (empty when none)
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
  cv::Mat edited_crop;     // the aligned crop after the edit, before fusion
  torch::Tensor reconstruction, edited_image;  // [1, 3, R, R] the generator's, before/after
  torch::Tensor edited_latent;
  std::vector<AppliedEdit> edits;
  nlohmann::json metrics, timings;
  nlohmann::json inversion, personalisation;  // the preparation's reports (personalisation: null when none)
  models::LatentSpace space = models::LatentSpace::Z;
  bool cache_hit = false;
  nlohmann::json to_json() const;  // all of the above but the images and tensors
};

class PhotoSession {
 public:
  // g is personalised in place by prepare(); `model_name` keys the cache and the delta files.
  PhotoSession(std::shared_ptr<models::Generator> g, std::string model_name, PhotoParams params, StageCallback on_stage = {});
  ~PhotoSession();

  // Aligns, inverts and (when `personalise`) personalises `photo` (named `name` in errors), or loads
  // all of it from the cache. Throws faceedit::Error for no face, several faces, or bad settings.
  const PreparedPhoto& prepare(const cv::Mat& photo, const std::string& name, models::LatentSpace space, bool personalise);
  // The editors of `edits` on this session's generator (pfsf keeps identity through the guide).
  // Opening checks each spec: call it before prepare() to fail fast.
  std::vector<std::unique_ptr<edit::Editor>> open_editors(const std::vector<PhotoEdit>& edits) const;
  // Applies `edits` (with their editors from open_editors()) in sequence to the prepared photo, fuses once.
  PhotoResult apply(const std::vector<PhotoEdit>& edits, const std::vector<std::unique_ptr<edit::Editor>>& editors);
  PhotoResult apply(const std::vector<PhotoEdit>& edits, const std::vector<const edit::Editor*>& editors);  // editors kept elsewhere
  PhotoResult apply(const std::vector<PhotoEdit>& edits) { return apply(edits, open_editors(edits)); }

  const PreparedPhoto& prepared() const;
  const InversionGuide& guide() const;  // what prepare() inverts with (a video inverts its frames with it too)
  // Writes aligned.png, reconstruction.png, edited_generator.png, edited_crop.png, mask.png,
  // before_after.jpg, latents.safetensors, walk_K.safetensors, personalised.delta.safetensors.
  void save_intermediates(const std::filesystem::path& dir, const PhotoResult& result) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The edits in sequence on one latent (pivot [1, ...] in `space`), as apply() makes them: each on the
// previous one's result; `flip` picks each edit's sign from the face. Appends what was applied.
torch::Tensor apply_edits(const torch::Tensor& pivot, models::LatentSpace space, const std::vector<PhotoEdit>& edits,
                          const std::vector<std::unique_ptr<edit::Editor>>& editors, std::vector<AppliedEdit>& applied);
torch::Tensor apply_edits(const torch::Tensor& pivot, models::LatentSpace space, const std::vector<PhotoEdit>& edits,
                          const std::vector<const edit::Editor*>& editors, std::vector<AppliedEdit>& applied);

// Where an edit lands in an aligned crop (face.landmarks set): the portrait mask (fuse.h) faded out
// towards the crop's edges. CV_32F, the crop's size.
cv::Mat edit_mask(const AlignedFace& face, models::PortraitSegmenter* segmenter);
// The crop's quad in the generator's framing (params' zoom / shift, else g.face_framing()).
AlignmentQuad framed_quad(const AlignmentQuad& ffhq, const models::Generator& g, const PhotoParams& params);

// The aligned crop (8-bit BGR) with the generator's change (edited_image - reconstruction, [1, 3, R, R])
// added, resized to the crop; `replace`: the generator's edited face itself.
cv::Mat edited_crop(const cv::Mat& crop, const torch::Tensor& reconstruction, const torch::Tensor& edited_image, bool replace);

// Personalise or not for these editors: Always / Never as asked; Auto when an edit is a PFSF walk.
bool wants_personalisation(const PhotoParams& params, const std::vector<std::unique_ptr<edit::Editor>>& editors);

// The whole job in one call: opens the editors (checking them before any slow work), picks the
// latent space they share, prepares the photo (from the cache when it can) and applies the edits.
PhotoResult edit_photo(const cv::Mat& photo, const std::string& name, std::shared_ptr<models::Generator> g,
                       const std::string& model_name, const std::vector<PhotoEdit>& edits, const PhotoParams& params,
                       StageCallback on_stage = {}, std::filesystem::path keep_intermediates = {});

// Bumped when what a cache entry holds changes: older entries are then misses.
inline constexpr int kPhotoCacheVersion = 1;
// The cache key of a photo under the settings that shape its preparation (hex; pixels hashed).
// (Personalisation is not part of the key: an entry holds the inversion and, once made, the
// personalisation with its step count; prepare() adds or ignores it as asked.)
std::string photo_cache_key(const cv::Mat& photo, const std::string& model_name, const models::Generator& g,
                            const PhotoParams& params, models::LatentSpace space);
// Removes the least recently used entries of `dir` until it holds at most `max_bytes`.
void evict_photo_cache(const std::filesystem::path& dir, uint64_t max_bytes);

}  // namespace faceedit::pipeline
