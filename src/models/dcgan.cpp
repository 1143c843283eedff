#include "faceedit/models/dcgan.h"

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/numpy_random.h"
#include "faceedit/models/weights.h"

namespace faceedit::models {

namespace F = torch::nn::functional;

namespace {

enum class Conv { Transposed, Same };

// One generator_deconv.{i}: convolution (.0) then BatchNorm (.1) or nothing (last layer).
struct Stage : torch::nn::Module {
  struct ConvParams : torch::nn::Module {
    torch::Tensor weight, bias;
  };
  struct NormParams : torch::nn::Module {
    torch::Tensor weight, bias, running_mean, running_var;
  };
  std::shared_ptr<ConvParams> conv = std::make_shared<ConvParams>();
  std::shared_ptr<NormParams> norm;
  Conv kind;
  int64_t stride, padding;
  bool lrelu;

  Stage(Conv kind_, int64_t in, int64_t out, int64_t k, int64_t stride_, int64_t padding_, bool has_norm, bool lrelu_)
      : kind(kind_), stride(stride_), padding(padding_), lrelu(lrelu_) {
    register_module("0", conv);
    conv->weight = conv->register_parameter(
        "weight", kind == Conv::Transposed ? torch::randn({in, out, k, k}) * 0.02 : torch::randn({out, in, k, k}) * 0.02);
    if (has_norm) {
      norm = register_module("1", std::make_shared<NormParams>());
      norm->weight = norm->register_parameter("weight", torch::ones({out}));
      norm->bias = norm->register_parameter("bias", torch::zeros({out}));
      norm->running_mean = norm->register_buffer("running_mean", torch::zeros({out}));
      norm->running_var = norm->register_buffer("running_var", torch::ones({out}));
    } else {
      conv->bias = conv->register_parameter("bias", torch::zeros({out}));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) const {
    torch::Tensor y = kind == Conv::Transposed
                          ? F::conv_transpose2d(x, conv->weight, F::ConvTranspose2dFuncOptions().bias(conv->bias).stride(stride).padding(padding))
                          : F::conv2d(x, conv->weight, F::Conv2dFuncOptions().bias(conv->bias).stride(stride).padding(padding));
    if (norm)
      y = F::batch_norm(y, norm->running_mean, norm->running_var,
                        F::BatchNormFuncOptions().weight(norm->weight).bias(norm->bias).training(false).eps(1e-5));
    if (lrelu) y = F::leaky_relu(y, F::LeakyReLUFuncOptions().negative_slope(0.2));
    return y;
  }
};

struct Root : torch::nn::Module {
  std::vector<std::shared_ptr<Stage>> stages;
  Root() {
    auto seq = register_module("generator_deconv", std::make_shared<torch::nn::Module>());
    auto add = [&](std::shared_ptr<Stage> s) {
      seq->register_module(std::to_string(stages.size()), s);
      stages.push_back(s);
    };
    add(std::make_shared<Stage>(Conv::Transposed, 100, 256, 4, 1, 0, true, false));  // 1 -> 4
    add(std::make_shared<Stage>(Conv::Same, 256, 128, 3, 1, 1, true, true));         // 4
    add(std::make_shared<Stage>(Conv::Transposed, 128, 64, 4, 2, 1, true, true));    // 8
    add(std::make_shared<Stage>(Conv::Transposed, 64, 32, 4, 2, 1, true, true));     // 16
    add(std::make_shared<Stage>(Conv::Transposed, 32, 3, 4, 2, 1, false, false));    // 32, tanh
  }
};

}  // namespace

struct DCGAN::Impl {
  std::shared_ptr<Root> root = std::make_shared<Root>();
};

DCGAN::DCGAN() : impl_(std::make_unique<Impl>()) {}
DCGAN::~DCGAN() = default;

std::unique_ptr<DCGAN> DCGAN::load(const std::string& path, torch::Device device) {
  io::SafetensorsReader file(path);
  require_arch(file, "dcgan", "DCGAN");
  auto model = std::make_unique<DCGAN>();
  auto tensors = model->named_tensors();
  load_tensors(file, tensors, "the DCGAN architecture");
  model->to(device);
  return model;
}

torch::Tensor DCGAN::sample_z(int64_t n, uint64_t seed) const {
  if (seed > 0xffffffffull) fail("seed " + std::to_string(seed), "must be in [0, 2^32 - 1] (numpy's range)");
  return numpy_uniform(n, 100, static_cast<uint32_t>(seed), -1.0, 1.0).to(device());
}

torch::Tensor DCGAN::map(const torch::Tensor& z, double, int) const { return z; }

torch::Tensor DCGAN::synthesize(const torch::Tensor& z, NoiseMode) const {
  auto x = z.to(impl_->root->stages[0]->conv->weight.scalar_type()).reshape({z.size(0), 100, 1, 1});
  for (const auto& s : impl_->root->stages) x = s->forward(x);
  return torch::tanh(x);
}

std::vector<torch::Tensor> DCGAN::parameters() const { return impl_->root->parameters(); }

std::unique_ptr<Generator> DCGAN::clone() const {
  return clone_via([] { return std::make_unique<DCGAN>(); });
}

torch::OrderedDict<std::string, torch::Tensor> DCGAN::named_tensors() const { return module_tensors(*impl_->root); }

void DCGAN::to(torch::Device device, torch::ScalarType dtype) { impl_->root->to(device, dtype); }
torch::Device DCGAN::device() const { return impl_->root->stages[0]->conv->weight.device(); }

double DCGAN::synthesis_gflop() const {
  // Input pixels x k^2 x in x out for each (transposed) convolution.
  const double macs = 1.0 * 16 * 100 * 256 + 16.0 * 9 * 256 * 128 + 16.0 * 16 * 128 * 64 + 64.0 * 16 * 64 * 32 +
                      256.0 * 16 * 32 * 3;
  return 2.0 * macs / 1e9;
}

nlohmann::json DCGAN::config() const {
  return {{"z_dim", 100},       {"img_resolution", 32}, {"img_channels", 3}, {"latent_distribution", "uniform(-1,1)"},
          {"bn_eps", 1e-5},     {"leaky_relu_slope", 0.2}};
}

}  // namespace faceedit::models
