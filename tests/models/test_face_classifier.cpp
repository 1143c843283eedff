#include <gtest/gtest.h>

#include <filesystem>

#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/face_classifier.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::models;

namespace {
FaceClassifierConfig small_config() {
  FaceClassifierConfig c;
  c.name = "test";
  c.input.height = c.input.width = 32;
  c.widths = {8, 16};
  c.heads.push_back({"male", {}, {}});
  c.heads.push_back({"age", {"a", "b", "c"}, {{"young", {0, 1}}}});
  return c;
}
}  // namespace

TEST(FaceClassifier, ColumnsAreConsistentWithHeadLogits) {
  torch::manual_seed(1);
  FaceClassifier clf(small_config());
  std::vector<std::string> names;
  for (const auto& c : clf.columns()) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"male", "age_a", "age_b", "age_c", "young"}));
  auto img = torch::rand({4, 3, 50, 50}) * 2 - 1;
  auto z = clf.head_logits(img);
  auto p = clf.predict(img);
  auto l = clf.logits(img);
  // Independent closed forms: sigmoid for the binary head, softmax for the classes, a sum of
  // softmax probabilities for the derived column, and logit(p) everywhere in logits().
  EXPECT_LT((p.select(1, 0) - torch::sigmoid(z.select(1, 0))).abs().max().item<double>(), 1e-6);
  auto soft = torch::softmax(z.narrow(1, 1, 3), 1);
  EXPECT_LT((p.narrow(1, 1, 3) - soft).abs().max().item<double>(), 1e-6);
  EXPECT_LT((p.select(1, 4) - soft.narrow(1, 0, 2).sum(1)).abs().max().item<double>(), 1e-6);
  EXPECT_LT((l - torch::log(p / (1 - p))).abs().max().item<double>(), 1e-4);
  EXPECT_LT((l.select(1, 0) - z.select(1, 0)).abs().max().item<double>(), 1e-6);
  auto x = img.clone().requires_grad_(true);
  clf.logits(x).select(1, 4).sum().backward();
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(FaceClassifier, SaveLoadRoundTripAndMismatches) {
  torch::manual_seed(2);
  FaceClassifier clf(small_config());
  const std::string path = (test::temp_dir() / "clf.safetensors").string();
  clf.save(path, {{"note", "test"}});
  auto loaded = load_face_classifier(path);
  auto img = torch::rand({2, 3, 32, 32}) * 2 - 1;
  EXPECT_EQ((loaded->predict(img) - clf.predict(img)).abs().max().item<double>(), 0.0);
  EXPECT_EQ(open_attribute_classifier(path)->columns().size(), 5u);
  // Stored as float16 (the shipped models): half the bytes, and loading gives back exactly the
  // float32 weights rounded to float16.
  const std::string half_path = (test::temp_dir() / "clf-half.safetensors").string();
  clf.save(half_path, {}, /*half=*/true);
  EXPECT_LT(std::filesystem::file_size(half_path), std::filesystem::file_size(path) * 0.6);
  for (const auto& e : io::SafetensorsReader(half_path).entries())
    if (e.name.find("num_batches_tracked") == std::string::npos) EXPECT_EQ(e.dtype, "F16") << e.name;  // counters stay F32
  auto half_loaded = load_face_classifier(half_path);
  auto original = clf.net()->named_parameters();
  for (const auto& t : half_loaded->net()->named_parameters())
    EXPECT_TRUE(torch::equal(t.value(), original[t.key()].to(torch::kFloat16).to(torch::kFloat32))) << t.key();
  // Weights of another shape than the config promises.
  io::SafetensorsReader file(path);
  io::NamedTensors tensors;
  for (const auto& e : file.entries()) tensors.emplace_back(e.name, file.load(e.name));
  auto meta = file.metadata();
  auto cfg = nlohmann::json::parse(meta["faceedit.config"]);
  cfg["widths"] = {8, 32};
  meta["faceedit.config"] = cfg.dump();
  const std::string bad = (test::temp_dir() / "bad.safetensors").string();
  io::write_safetensors(bad, tensors, meta);
  EXPECT_THROW(load_face_classifier(bad), Error);
  EXPECT_THROW(open_attribute_classifier((test::temp_dir() / "x.onnx").string()), Error);
}
