// Boundaries: SVM training on synthetic latents with a known normal, bookkeeping, an independent
// closed-form check of liblinear, files, conditional directions, the samples reader.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "test_support.h"

using namespace faceedit;

namespace {

struct Synthetic {
  torch::Tensor latents, scores, normal;
};

// Gaussian latents; scores = sigmoid(k * x·n_true + noise).
Synthetic synthetic(int64_t n, int64_t dim, uint64_t seed, double k = 2.0, double noise = 0.3) {
  torch::manual_seed(seed);
  Synthetic s;
  s.normal = torch::randn({dim});
  s.normal /= s.normal.norm();
  s.latents = torch::randn({n, dim});
  s.scores = torch::sigmoid(k * torch::mv(s.latents, s.normal) + noise * torch::randn({n}));
  return s;
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = a.to(torch::kFloat64).reshape({-1}), y = b.to(torch::kFloat64).reshape({-1});
  return (x.dot(y) / (x.norm() * y.norm())).item<double>();
}


}  // namespace

TEST(Boundary, RecoversAKnownNormal) {
  auto s = synthetic(20000, 64, 1);
  auto b = edit::train_boundary(s.latents, s.scores, {});
  const auto& r = b.report;
  std::cout << r.dump() << "\ncosine with the true normal: " << cosine(b.normal, s.normal) << "\n";
  EXPECT_GT(cosine(b.normal, s.normal), 0.99);
  EXPECT_NEAR(b.normal.norm().item<double>(), 1.0, 1e-5);
  EXPECT_GT(r["validation"]["accuracy"].get<double>(), 0.95);
  EXPECT_GT(r["train"]["accuracy"].get<double>(), 0.95);
  EXPECT_GT(r["remaining"]["accuracy"].get<double>(), 0.9);
  EXPECT_GE(r["train_seconds"].get<double>(), 0.0);
  EXPECT_EQ(r["svm"]["solver"], "L2R_L2LOSS_SVC_DUAL");
  // The hyperplane sits near the origin (the scores' midpoint is x·n = 0).
  EXPECT_LT(std::abs(b.offset), 0.3);
  // Positive side = more of the attribute: distances agree with the scores.
  auto d = edit::signed_distance(s.latents, b);
  auto agree = (d.gt(0) == s.scores.gt(0.5)).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(agree, 0.9);
}

TEST(Boundary, SignFollowsTheScores) {
  auto s = synthetic(5000, 16, 2);
  auto up = edit::train_boundary(s.latents, s.scores, {.ratio = 0.05});
  auto down = edit::train_boundary(s.latents, 1 - s.scores, {.ratio = 0.05});
  EXPECT_GT(cosine(up.normal, s.normal), 0.98);
  EXPECT_LT(cosine(down.normal, s.normal), -0.98);
}

TEST(Boundary, DirectionHardlyDependsOnCOrLoss) {
  auto s = synthetic(10000, 32, 3);
  auto small = edit::train_boundary(s.latents, s.scores, {.C = 0.1});
  auto large = edit::train_boundary(s.latents, s.scores, {.C = 10.0});
  auto hinge = edit::train_boundary(s.latents, s.scores, {.squared_hinge = false});
  EXPECT_GT(cosine(small.normal, large.normal), 0.99);
  EXPECT_GT(cosine(hinge.normal, large.normal), 0.99);
  EXPECT_EQ(hinge.report["svm"]["solver"], "L2R_L1LOSS_SVC_DUAL");
}

TEST(Boundary, SeedMakesItReproducible) {
  auto s = synthetic(4000, 16, 4);
  auto a = edit::train_boundary(s.latents, s.scores, {.ratio = 0.05, .seed = 7});
  auto b = edit::train_boundary(s.latents, s.scores, {.ratio = 0.05, .seed = 7});
  EXPECT_TRUE(torch::equal(a.normal, b.normal));
  EXPECT_EQ(a.offset, b.offset);
}

TEST(Boundary, RatioAndSplitBookkeeping) {
  struct Case {
    int64_t n;
    double ratio, split;
    int64_t chosen, train, val;
  };
  for (const Case& c : {Case{1000, 0.02, 0.7, 20, 14, 6}, Case{1234, 0.05, 0.7, 61, 42, 19},
                        Case{100, 0.5, 0.5, 50, 25, 25}, Case{200000, 0.02, 0.7, 4000, 2800, 1200}}) {
    auto s = synthetic(c.n, 8, 5);
    auto r = edit::train_boundary(s.latents, s.scores, {.ratio = c.ratio, .split = c.split}).report;
    EXPECT_EQ(r["samples"], c.n);
    EXPECT_EQ(r["chosen"], c.chosen) << c.n;
    EXPECT_EQ(r["train"]["positive"], c.train) << c.n;
    EXPECT_EQ(r["train"]["negative"], c.train) << c.n;
    EXPECT_EQ(r["validation"]["positive"], c.val) << c.n;
    EXPECT_EQ(r["validation"]["negative"], c.val) << c.n;
    EXPECT_EQ(r["remaining"]["count"], c.n - 2 * c.chosen) << c.n;
    EXPECT_EQ(r["remaining"]["positive"].get<int64_t>() + r["remaining"]["negative"].get<int64_t>(), c.n - 2 * c.chosen);
  }
}

TEST(Boundary, RefusesBadInput) {
  auto s = synthetic(1000, 8, 6);
  EXPECT_NE(test::error_of([&] { edit::train_boundary(s.latents.slice(0, 0, 50), s.scores.slice(0, 0, 50), {}); }).find("too few"),
            std::string::npos);
  EXPECT_THROW(edit::train_boundary(s.latents, s.scores, {.ratio = 0.0}), Error);
  EXPECT_THROW(edit::train_boundary(s.latents, s.scores, {.ratio = 0.6}), Error);
  EXPECT_THROW(edit::train_boundary(s.latents, s.scores, {.split = 1.0}), Error);
  EXPECT_THROW(edit::train_boundary(s.latents, s.scores, {.C = -1.0}), Error);
  EXPECT_THROW(edit::train_boundary(s.latents, s.scores.slice(0, 0, 999), {}), Error);
  EXPECT_THROW(edit::train_boundary(s.latents[0], s.scores, {}), Error);
  EXPECT_THROW(edit::train_boundary(s.latents, torch::full({1000}, 0.5), {}), Error);
  auto nan_scores = s.scores.clone();
  nan_scores[3] = NAN;
  EXPECT_THROW(edit::train_boundary(s.latents, nan_scores, {}), Error);
  // Samples a scorer could not score (NaN: the pose score where no face is found) are left out.
  nan_scores[7] = NAN;
  auto rows = edit::scored_rows(s.latents, nan_scores);
  EXPECT_EQ(rows.unscored, 2);
  ASSERT_EQ(rows.scores.size(0), 998);
  EXPECT_TRUE(torch::isfinite(rows.scores).all().item<bool>());
  EXPECT_TRUE(torch::equal(rows.latents[3], s.latents[4]));
  EXPECT_TRUE(torch::equal(rows.latents[6], s.latents[8]));
  EXPECT_NO_THROW(edit::train_boundary(rows.latents, rows.scores, {}));
}

// Independent check of liblinear: identical points per class make the squared-hinge problem (bias
// regularised, both constraints active) a 3x3 linear system,
//   (I + 2Cm (P P^T + Q Q^T)) v = 2Cm (P - Q),  v = (w, b), P = (p, 1), Q = (q, 1).
TEST(Boundary, MatchesTheHandSolvedTwoDimensionalCase) {
  const int64_t n = 20;  // ratio 0.5, split 0.7: 7 training copies of each point (m = 7)
  const double C = 0.05, m = 7;
  auto latents = torch::empty({n, 2});
  auto scores = torch::empty({n});
  for (int64_t i = 0; i < n; ++i) {
    const bool pos = i % 2 == 0;
    latents[i][0] = pos ? 1.0 : -0.5;
    latents[i][1] = pos ? 2.0 : 0.3;
    scores[i] = pos ? 0.9 : 0.1;
  }
  auto b = edit::train_boundary(latents, scores, {.ratio = 0.5, .split = 0.7, .C = C, .tolerance = 1e-8});
  EXPECT_EQ(b.report["train"]["positive"], 7);
  auto P = torch::tensor({1.0, 2.0, 1.0}, torch::kFloat64), Q = torch::tensor({-0.5, 0.3, 1.0}, torch::kFloat64);
  auto A = torch::eye(3, torch::kFloat64) + 2 * C * m * (torch::outer(P, P) + torch::outer(Q, Q));
  auto v = torch::linalg::solve(A, (2 * C * m * (P - Q)).unsqueeze(1), true).squeeze(1);
  ASSERT_LT(v.dot(P).item<double>(), 1.0);   // both hinge terms active: the system is the optimum
  ASSERT_GT(v.dot(Q).item<double>(), -1.0);
  const double norm = v.slice(0, 0, 2).norm().item<double>();
  const double weight_norm = b.report["svm"]["weight_norm"].get<double>();
  EXPECT_NEAR(weight_norm, norm, 1e-4 * norm);
  EXPECT_NEAR(b.normal[0].item<double>(), v[0].item<double>() / norm, 1e-5);
  EXPECT_NEAR(b.normal[1].item<double>(), v[1].item<double>() / norm, 1e-5);
  EXPECT_NEAR(b.offset, v[2].item<double>() / norm, 1e-5);
}

TEST(Boundary, SaveLoadRoundTrips) {
  auto s = synthetic(2000, 32, 7);
  auto b = edit::train_boundary(s.latents, s.scores, {.ratio = 0.05});
  b.attribute = "smiling";
  b.space = models::LatentSpace::W;
  const auto dir = test::temp_dir();
  edit::save_boundary(b, (dir / "b.safetensors").string());
  auto back = edit::load_boundary((dir / "b.safetensors").string());
  EXPECT_TRUE(torch::allclose(back.normal, b.normal, 0, 1e-7));
  EXPECT_NEAR(back.offset, b.offset, 1e-6);
  EXPECT_EQ(back.attribute, "smiling");
  EXPECT_EQ(back.space, models::LatentSpace::W);
  EXPECT_EQ(back.report["chosen"], b.report["chosen"]);
  io::SafetensorsReader file((dir / "b.safetensors").string());
  EXPECT_EQ(file.entry("normal").shape, std::vector<int64_t>({1, 32}));
  EXPECT_EQ(file.entry("offset").shape, std::vector<int64_t>({1}));
  EXPECT_EQ(file.metadata().at("faceedit.arch"), "interfacegan-boundary");

  edit::save_boundary(b, (dir / "boundary_smiling.npy").string());
  auto npy = edit::load_boundary((dir / "boundary_smiling.npy").string());
  EXPECT_TRUE(torch::allclose(npy.normal, b.normal, 0, 1e-7));
  EXPECT_EQ(npy.offset, 0.0);
  EXPECT_EQ(npy.attribute, "smiling");
  EXPECT_THROW(edit::save_boundary(b, (dir / "b.pt").string()), Error);
  EXPECT_THROW(edit::load_boundary((dir / "absent.safetensors").string()), Error);
  // A safetensors file that is not a boundary is refused by arch.
  io::write_safetensors((dir / "other.safetensors").string(), {{"normal", torch::ones({1, 4})}});
  EXPECT_NE(test::error_of([&] { edit::load_boundary((dir / "other.safetensors").string()); }).find("not a boundary"),
            std::string::npos);
}

TEST(Boundary, OfficialNpyLoadsAsItIs) {
  FACEEDIT_REQUIRE_SHARED(path, "data/interfacegan-boundaries/stylegan2_ffhq_w/boundary_Smiling.npy");
  auto b = edit::load_boundary(path);
  EXPECT_EQ(b.dim(), 512);
  EXPECT_NEAR(b.normal.norm().item<double>(), 1.0, 1e-6);
  EXPECT_EQ(b.offset, 0.0);
  EXPECT_EQ(b.attribute, "Smiling");
  EXPECT_NO_THROW(edit::check_dimension(b, 512, "stylegan2 w"));
  const std::string msg = test::error_of([&] { edit::check_dimension(b, 100, "dcgan-celeba32 z"); });
  EXPECT_NE(msg.find("dcgan-celeba32 z"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dimension 512, expected 100"), std::string::npos) << msg;
  EXPECT_THROW(edit::signed_distance(torch::zeros({3, 100}), b), Error);
  EXPECT_EQ(edit::signed_distance(torch::zeros({3, 512}), b).sizes(), torch::IntArrayRef({3}));
}

TEST(Boundary, SignedDistanceMovesAlongTheNormal) {
  edit::Boundary b;
  b.normal = torch::tensor({0.6f, 0.8f});
  b.offset = -1.0;
  auto x = torch::tensor({{0.0f, 0.0f}, {3.0f, 4.0f}});
  auto d = edit::signed_distance(x, b);
  EXPECT_NEAR(d[0].item<double>(), -1.0, 1e-6);
  EXPECT_NEAR(d[1].item<double>(), 4.0, 1e-6);
  // Move the first latent to distance 2.5 from the hyperplane.
  auto moved = x[0] + (2.5 - d[0]) * b.normal;
  EXPECT_NEAR(edit::signed_distance(moved.unsqueeze(0), b)[0].item<double>(), 2.5, 1e-6);
}

TEST(Projection, OrthogonalUnitAndClosedFormsMatchTheSolve) {
  torch::manual_seed(8);
  const int64_t dim = 512;
  auto primary = torch::randn({dim});
  std::vector<torch::Tensor> conds;
  for (int i = 0; i < 5; ++i) {
    // Correlated with the primary and with each other, as attribute directions are.
    auto c = torch::randn({dim}) + 0.5 * primary + (i ? 0.3 * conds[0] : torch::zeros({dim}));
    conds.push_back(c / c.norm());
  }
  for (size_t k = 1; k <= conds.size(); ++k) {
    std::vector<torch::Tensor> use(conds.begin(), conds.begin() + k);
    auto n = edit::project_orthogonal(primary, use);
    EXPECT_NEAR(n.norm().item<double>(), 1.0, 1e-6) << k;
    for (const auto& c : use) EXPECT_LT(std::abs(n.dot(c).item<double>()), 1e-5) << k;
    EXPECT_GT(cosine(n, primary), 0.3) << k;
    auto solved = edit::project_orthogonal_solve(primary, use);
    EXPECT_LT((n - solved).abs().max().item<double>(), 1e-6) << k;
  }
  // InterFaceGAN's one-condition formula, by hand.
  auto p = primary / primary.norm();
  auto by_hand = p - p.dot(conds[0]) * conds[0];
  EXPECT_LT((edit::project_orthogonal(primary, {conds[0]}) - by_hand / by_hand.norm()).abs().max().item<double>(), 1e-6);
}

TEST(Projection, AlreadyOrthogonalStaysAndDegenerateIsRefused) {
  auto e = [](int i) { auto v = torch::zeros({6}); v[i] = 1; return v; };
  auto primary = torch::tensor({0.f, 0.f, 3.f, 4.f, 0.f, 0.f});
  for (size_t k = 0; k <= 2; ++k) {
    std::vector<torch::Tensor> use;
    for (size_t i = 0; i < k; ++i) use.push_back(e(static_cast<int>(i)));
    EXPECT_TRUE(torch::allclose(edit::project_orthogonal(primary, use), primary / 5, 0, 1e-7)) << k;
  }
  EXPECT_TRUE(torch::allclose(edit::project_orthogonal(primary, {e(0), e(1), e(4)}), primary / 5, 0, 1e-6));
  // The primary within the conditions' span, parallel conditions, dependent conditions, wrong size.
  EXPECT_NE(test::error_of([&] { edit::project_orthogonal(primary, {primary * -2}); }).find("parallel"), std::string::npos);
  EXPECT_THROW(edit::project_orthogonal(primary, {e(2), e(3)}), Error);
  EXPECT_THROW(edit::project_orthogonal(primary, {e(0), e(0) * 2}), Error);
  EXPECT_THROW(edit::project_orthogonal(primary, {e(0), e(1), e(0) + e(1)}), Error);
  EXPECT_THROW(edit::project_orthogonal(primary, {torch::ones({5})}), Error);
  EXPECT_THROW(edit::project_orthogonal(primary, {torch::zeros({6})}), Error);
}

TEST(Projection, ConditionBoundaryReportsCosines) {
  edit::Boundary primary, male;
  primary.normal = torch::tensor({0.6f, 0.8f, 0.f});
  primary.offset = 2.0;
  primary.attribute = "smiling";
  male.normal = torch::tensor({1.f, 0.f, 0.f});
  male.attribute = "male";
  auto c = edit::condition_boundary(primary, {male});
  EXPECT_TRUE(torch::allclose(c.normal, torch::tensor({0.f, 1.f, 0.f}), 0, 1e-6));
  EXPECT_NEAR(c.offset, 2.0 * 0.8, 1e-6);
  EXPECT_NEAR(c.report["conditions"][0]["cosine_before"].get<double>(), 0.6, 1e-6);
  EXPECT_NEAR(c.report["conditions"][0]["cosine_after"].get<double>(), 0.0, 1e-6);
  EXPECT_NEAR(c.report["cosine_with_primary"].get<double>(), 0.8, 1e-6);
}

namespace {

// A samples directory in the sampling job's format: N rows in shards of K.
std::filesystem::path write_samples(const Synthetic& s, int64_t shard_size, const std::string& name) {
  const auto dir = test::temp_dir() / name;
  std::filesystem::create_directories(dir);
  const int64_t n = s.latents.size(0), dim = s.latents.size(1);
  nlohmann::json manifest = {{"format", "faceedit.samples/1"}, {"model", "synthetic"}, {"arch", "none"},
                             {"n", n}, {"seed", 0}, {"truncation", 1.0}, {"shard_size", shard_size},
                             {"spaces", {"z"}}, {"classifiers", {"synthetic"}},
                             {"columns", {"smiling", "male"}}, {"z_dim", dim}, {"w_dim", 0}};
  std::ofstream(dir / "manifest.json") << manifest.dump();
  auto scores = torch::stack({s.scores, torch::sigmoid(s.latents.select(1, 0))}, 1);
  for (int64_t first = 0, i = 0; first < n; first += shard_size, ++i) {
    char file[64];
    std::snprintf(file, sizeof file, "shard-%05lld.safetensors", static_cast<long long>(i));
    const int64_t end = std::min(n, first + shard_size);
    io::write_safetensors((dir / file).string(),
                          {{"z", s.latents.slice(0, first, end)}, {"scores", scores.slice(0, first, end)}},
                          {{"faceedit.first_index", std::to_string(first)}});
  }
  return dir;
}

}  // namespace

TEST(BoundarySamples, ReadsShardsAndTrains) {
  auto s = synthetic(3000, 16, 9);
  const auto dir = write_samples(s, 700, "samples");
  auto samples = edit::read_boundary_samples(dir.string(), models::LatentSpace::Z);
  EXPECT_TRUE(torch::equal(samples.latents, s.latents));
  EXPECT_EQ(samples.space, models::LatentSpace::Z);
  EXPECT_EQ(edit::read_boundary_samples(dir.string(), std::nullopt).space, models::LatentSpace::Z);  // no w: the default falls back to z
  EXPECT_TRUE(torch::equal(edit::score_column(samples, "smiling"), s.scores));
  EXPECT_TRUE(torch::equal(edit::score_column(samples, "Smiling"), s.scores));
  auto b = edit::train_boundary(samples.latents, edit::score_column(samples, "smiling"), {.ratio = 0.05});
  EXPECT_GT(cosine(b.normal, s.normal), 0.97);

  EXPECT_NE(test::error_of([&] { edit::score_column(samples, "bald"); }).find("columns: smiling, male"), std::string::npos);
  EXPECT_NE(test::error_of([&] { edit::read_boundary_samples(dir.string(), models::LatentSpace::W); }).find("no latents of space 'w'"),
            std::string::npos);
  EXPECT_THROW(edit::read_boundary_samples((test::temp_dir() / "absent").string(), models::LatentSpace::Z), Error);
  std::filesystem::remove(dir / "shard-00004.safetensors");
  EXPECT_NE(test::error_of([&] { edit::read_boundary_samples(dir.string(), models::LatentSpace::Z); }).find("shard-00004"), std::string::npos);
}
