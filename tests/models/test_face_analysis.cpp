// InputSpec preprocessing against closed forms, and the TorchScript loaders on a small network
// scripted by Debian's python3-torch inside the test.
#include <gtest/gtest.h>

#include <fstream>

#include "faceedit/error.h"
#include "faceedit/models/face_analysis.h"
#include "test_support.h"

using namespace faceedit;
using namespace faceedit::models;
namespace fs = std::filesystem;

TEST(InputSpec, ColourAndNormalisationClosedForm) {
  // A constant image stays constant under resizing, so the result is known exactly.
  auto img = torch::empty({2, 3, 40, 30});
  img.select(1, 0).fill_(0.6);   // r01 = 0.8
  img.select(1, 1).fill_(-0.2);  // g01 = 0.4
  img.select(1, 2).fill_(-1.0);  // b01 = 0.0
  InputSpec gray;
  gray.height = 16;
  gray.width = 12;
  gray.color = "gray";
  gray.gray_weights = {0.25, 0.5, 0.25};
  gray.mean = {0.1};
  gray.std = {0.5};
  auto g = gray.prepare(img);
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{2, 1, 16, 12}));
  EXPECT_NEAR(g.min().item<double>(), ((0.25 * 0.8 + 0.5 * 0.4) - 0.1) / 0.5, 1e-5);
  EXPECT_NEAR(g.max().item<double>(), ((0.25 * 0.8 + 0.5 * 0.4) - 0.1) / 0.5, 1e-5);
  InputSpec bgr;
  bgr.height = bgr.width = 64;  // upsampling path
  bgr.color = "bgr";
  bgr.mean = {0.0, 0.5, 1.0};
  bgr.std = {1.0, 2.0, 4.0};
  auto b = bgr.prepare(img);
  EXPECT_NEAR(b.select(1, 0).mean().item<double>(), 0.0, 1e-5);               // blue first
  EXPECT_NEAR(b.select(1, 1).mean().item<double>(), (0.4 - 0.5) / 2.0, 1e-5);
  EXPECT_NEAR(b.select(1, 2).mean().item<double>(), (0.8 - 1.0) / 4.0, 1e-5);
}

TEST(InputSpec, ShrinkingIsAntiAliased) {
  // A one-pixel checkerboard averages to grey when shrunk; plain bilinear sampling would alias.
  auto idx = torch::arange(64);
  auto checker = ((idx.view({-1, 1}) + idx.view({1, -1})) % 2).to(torch::kFloat) * 2 - 1;
  auto img = checker.expand({1, 3, 64, 64});
  auto small = resize_images(img, 8, 8);
  EXPECT_LT(small.abs().max().item<double>(), 0.1);
}

namespace {

// Writes net.pt + net.json: forward(x) = sigmoid(mean over pixels of x @ W) as [N, 2].
fs::path script_network(const std::string& name, const std::string& kind, const std::string& meta_extra,
                        const std::string& forward_body, const std::string& init_extra = "") {
  const fs::path dir = test::temp_dir();
  const fs::path pt = dir / (name + ".pt");
  const std::string py = dir.string() + "/make_" + name + ".py";
  std::ofstream(py) << "import torch\n"
                       "class Net(torch.nn.Module):\n"
                       "    def __init__(self):\n"
                       "        super().__init__()\n"
                       "        self.register_buffer('w', torch.tensor([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0]]))\n"
                    << init_extra << "    def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
                    << forward_body
                    << "torch.jit.script(Net()).save('" << pt.string() << "')\n";
  EXPECT_EQ(test::run_command("/usr/bin/python3 " + py), 0);
  std::ofstream(dir / (name + ".json"))
      << R"({"format": "faceedit.torchscript/1", "kind": ")" << kind << R"(", "name": ")" << name
      << R"(", "input": {"height": 8, "width": 8, "color": "rgb", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]})"
      << meta_extra << "}";
  return pt;
}

}  // namespace

TEST(TorchScript, ClassifierMatchesClosedFormAndIsDifferentiable) {
  if (test::run_command("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed";
  auto pt = script_network("clf", "attributes", R"(, "outputs": [{"name": "male"}, {"name": "age", "kind": "years"}])",
                           "        return torch.sigmoid(x.mean(dim=[2, 3]) @ self.w)\n");
  auto clf = load_attribute_classifier(pt.string());
  ASSERT_EQ(clf->columns().size(), 2u);
  EXPECT_EQ(clf->column("age"), 1);
  EXPECT_EQ(clf->columns()[1].kind, ColumnKind::Years);
  EXPECT_THROW(clf->column("smiling"), Error);
  // With mean = std = 0.5, the network sees exactly the [-1, 1] pixels: closed form on constants.
  auto img = torch::ones({1, 3, 20, 20});
  img.select(1, 0).fill_(0.5);
  img.select(1, 1).fill_(-0.25);
  img.select(1, 2).fill_(0.1);
  auto p = clf->predict(img);
  const double z0 = 0.5 * 1.0 + (-0.25) * 0.5, z1 = 0.5 * -2.0 + 0.1 * 3.0;
  EXPECT_NEAR(p[0][0].item<double>(), 1 / (1 + std::exp(-z0)), 1e-6);
  EXPECT_NEAR(p[0][1].item<double>(), 1 / (1 + std::exp(-z1)), 1e-6);
  // logits: logit(p) for the probability column, the raw value for the years column.
  auto l = clf->logits(img);
  EXPECT_NEAR(l[0][0].item<double>(), z0, 1e-4);
  EXPECT_NEAR(l[0][1].item<double>(), p[0][1].item<double>(), 1e-6);
  auto x = img.clone().requires_grad_(true);
  clf->predict(x).select(1, 0).sum().backward();
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(TorchScript, EmbedderAndSegmenterAndMismatches) {
  if (test::run_command("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed";
  auto emb_pt = script_network("emb", "embedding", R"(, "embedding_dim": 2)",
                               "        return x.mean(dim=[2, 3]) @ self.w + 0.1\n");
  auto emb = load_identity_embedder(emb_pt.string());
  EXPECT_EQ(emb->dim(), 2);
  auto e = emb->embed(torch::rand({3, 3, 16, 16}) * 2 - 1);
  EXPECT_NEAR((e.norm(2, 1) - 1).abs().max().item<double>(), 0.0, 1e-5);

  auto seg_pt = script_network("seg", "segmentation", "",
                               "        return torch.sigmoid(x[:, :1, ::2, ::2] * 0 + self.w[0, 0])\n");
  auto seg = load_portrait_segmenter(seg_pt.string());
  auto m = seg->segment(torch::zeros({2, 3, 30, 20}));
  EXPECT_EQ(m.sizes(), (std::vector<int64_t>{2, 1, 30, 20}));
  EXPECT_NEAR(m.mean().item<double>(), 1 / (1 + std::exp(-1.0)), 1e-5);

  // The wrong kind, a metadata promise the network breaks, missing and corrupt files.
  EXPECT_THROW(load_attribute_classifier(emb_pt.string()), Error);
  auto bad = script_network("bad", "attributes", R"(, "outputs": [{"name": "a"}, {"name": "b"}, {"name": "c"}])",
                            "        return x.mean(dim=[2, 3]) @ self.w\n");
  try {
    load_attribute_classifier(bad.string());
    FAIL() << "metadata/network mismatch accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("bad.pt"), std::string::npos) << err.what();
  }
  const fs::path dir = test::temp_dir();
  EXPECT_THROW(load_attribute_classifier((dir / "nothing.pt").string()), Error);
  std::ofstream(dir / "junk.pt") << "not a zip";
  fs::copy_file(dir / "clf.json", dir / "junk.json");
  EXPECT_THROW(load_attribute_classifier((dir / "junk.pt").string()), Error);
  fs::copy_file(dir / "clf.pt", dir / "nometa.pt");
  EXPECT_THROW(load_attribute_classifier((dir / "nometa.pt").string()), Error);
}

// Networks declaring the same "backbone" run it once for the same image batch (faceres and its
// descriptor): backbone() counts its runs in a buffer and head() reports the count.
TEST(TorchScript, SharedBackboneRunsOncePerBatch) {
  if (test::run_command("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed";
  const std::string init = "        self.register_buffer('runs', torch.zeros(1, 1))\n";
  const std::string body =
      "        return self.head(self.backbone(x))\n"
      "    @torch.jit.export\n"
      "    def backbone(self, x: torch.Tensor) -> torch.Tensor:\n"
      "        self.runs.add_(1.0)\n"
      "        return torch.cat([x.mean(dim=[2, 3]) @ self.w, self.runs.expand(x.size(0), 1)], 1)\n"
      "    @torch.jit.export\n"
      "    def head(self, raw: torch.Tensor) -> torch.Tensor:\n"
      "        return raw[:, 1:3]\n";
  const std::string shared = R"(, "backbone": "test-backbone")";
  auto clf_pt = script_network("shared_clf", "attributes",
                               shared + R"(, "outputs": [{"name": "score", "kind": "value"}, {"name": "runs", "kind": "value"}])",
                               body, init);
  auto emb_pt = script_network("shared_emb", "embedding", shared + R"(, "embedding_dim": 2)", body, init);
  auto clf = load_attribute_classifier(clf_pt.string());  // the load-time trial run: runs = 1
  auto emb = load_identity_embedder(emb_pt.string());
  auto runs = [&](const torch::Tensor& x) { return clf->predict(x)[0][1].item<double>(); };
  auto x = torch::rand({2, 3, 8, 8});
  {
    torch::NoGradGuard no_grad;
    EXPECT_EQ(runs(x), 2.0);
    emb->embed(x);            // the same batch: no second pass
    EXPECT_EQ(runs(x), 2.0);  // nor a third
    x.add_(0.5);              // the same tensor changed in place
    EXPECT_EQ(runs(x), 3.0);
    EXPECT_EQ(runs(x.clone()), 4.0);  // another batch
  }
  EXPECT_EQ(runs(x), 5.0);  // with autograd on, every call runs its own pass
  EXPECT_EQ(runs(x), 6.0);
  // A declared backbone without the methods is refused at load.
  auto broken = script_network("shared_bad", "embedding", shared, "        return x.mean(dim=[2, 3]) @ self.w\n");
  EXPECT_THROW(load_identity_embedder(broken.string()), Error);
}
