// Judges whose outputs are closed forms of the pixels, so a metric can be recomputed by hand:
// attributes male/smiling/young = sigmoid(8 * mean of channel R/G/B), identity = the unit vector
// of the channel means, portrait = the left half of the image.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "faceedit/models/judges.h"

namespace faceedit::test {

class ChannelMeanJudge : public models::AttributeClassifier {
 public:
  std::string name() const override { return "channel-mean"; }
  const std::vector<models::AttributeColumn>& columns() const override { return cols_; }
  torch::Tensor predict(const torch::Tensor& x) override { return torch::sigmoid(8.0 * x.mean({2, 3})).to(torch::kFloat); }
  void to(torch::Device) override {}

 private:
  std::vector<models::AttributeColumn> cols_ = {{"male"}, {"smiling"}, {"young"}};
};

class ChannelMeanEmbedder : public models::IdentityEmbedder {
 public:
  std::string name() const override { return "channel-mean"; }
  int64_t dim() const override { return 3; }
  torch::Tensor embed(const torch::Tensor& x) override {
    return torch::nn::functional::normalize(x.mean({2, 3}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  void to(torch::Device) override {}
};

class LeftHalfSegmenter : public models::PortraitSegmenter {
 public:
  std::string name() const override { return "left-half"; }
  torch::Tensor segment(const torch::Tensor& x) override {
    auto m = torch::zeros({x.size(0), 1, x.size(2), x.size(3)}, x.options());
    m.narrow(3, 0, x.size(3) / 2).fill_(1.0);
    return m;
  }
  void to(torch::Device) override {}
};

inline models::JudgePanel closed_form_panel() {
  models::JudgePanel p;
  p.attributes = std::make_unique<ChannelMeanJudge>();
  p.identity = std::make_unique<ChannelMeanEmbedder>();
  p.segmenter = std::make_unique<LeftHalfSegmenter>();
  return p;
}

}  // namespace faceedit::test
