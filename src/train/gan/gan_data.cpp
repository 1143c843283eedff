// load_gan_images: the archive readers (OpenCV) stay out of train_gan.cpp, so the trainer builds
// on machines that have only LibTorch (scripts/device/train_gan.sh).
#include "faceedit/train/face_datasets.h"
#include "faceedit/train/gan/train_gan.h"

namespace faceedit::train {

torch::Tensor load_gan_images(const std::string& spec, int64_t resolution) {
  const bool packed = spec.size() > 12 && spec.substr(spec.size() - 12) == ".safetensors";
  return box_downsample(packed ? read_packed_images(spec) : load_labelled_faces(spec).images, resolution, spec);
}

}  // namespace faceedit::train
