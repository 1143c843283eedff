#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "faceedit/edit/interfacegan/boundary_job.h"
#include "faceedit/edit/interfacegan/sampling.h"
#include "faceedit/error.h"
#include "faceedit/io/safetensors.h"
#include "faceedit/models/face_classifier.h"
#include "faceedit/models/model_files.h"
#include "test_support.h"

using namespace faceedit;
namespace fs = std::filesystem;

namespace {

// Two small random classifiers sharing the column name "smiling" (so the job must prefix it).
std::vector<std::string> classifier_files() {
  static std::vector<std::string> files;
  if (!files.empty()) return files;
  for (int k = 0; k < 2; ++k) {
    models::FaceClassifierConfig cfg;
    cfg.name = k == 0 ? "c1" : "c2";
    cfg.input.height = cfg.input.width = 32;
    cfg.widths = {8};
    cfg.heads.push_back({"smiling", {}, {}});
    if (k == 0) cfg.heads.push_back({"age", {"a", "b"}, {{"young", {0}}}});
    torch::manual_seed(10 + k);
    models::FaceClassifier clf(cfg);
    files.push_back((test::temp_dir() / (cfg.name + ".safetensors")).string());
    clf.save(files.back());
  }
  return files;
}

torch::Tensor score_directly(const torch::Tensor& images) {
  std::vector<torch::Tensor> parts;
  for (const auto& f : classifier_files()) parts.push_back(models::load_face_classifier(f)->predict(images));
  return torch::cat(parts, 1);
}

edit::SampleJobParams dcgan_params(const std::string& model) {
  auto p = edit::sample_job_default_params();
  p.model_spec = model;
  p.classifier_specs = classifier_files();
  p.n = 300;
  p.seed = 7;
  p.shard_size = 64;
  p.batch = 32;
  p.progress = false;
  return p;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}


}  // namespace

TEST(Sampling, SmallRunMatchesDirectScoringAndResumesBitIdentically) {
  FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
  const std::string model = test::converted("models/dcgan-celeba32/generator.pt");
  const auto p = dcgan_params(model);
  const fs::path a = test::temp_dir() / "samples-a";
  auto summary = edit::run_sample_job(p, a.string());
  EXPECT_EQ(summary["shards"], 5);
  EXPECT_EQ(summary["shards_written"], 5);
  EXPECT_EQ(summary["samples_written"], 300);

  // Manifest as documented.
  std::ifstream in(a / "manifest.json");
  auto m = nlohmann::json::parse(in);
  EXPECT_EQ(m["format"], "faceedit.samples/1");
  EXPECT_EQ(m["arch"], "dcgan");
  EXPECT_EQ(m["n"], 300);
  EXPECT_EQ(m["seed"], 7);
  EXPECT_EQ(m["shard_size"], 64);
  EXPECT_EQ(m["spaces"], nlohmann::json({"z"}));
  // The first classifier with a column name keeps it; later ones are prefixed with their name.
  EXPECT_EQ(m["columns"], nlohmann::json({"smiling", "age_a", "age_b", "young", "c2.smiling"}));
  EXPECT_EQ(m["z_dim"], 100);
  EXPECT_EQ(m["w_dim"], 0);
  io::SafetensorsReader last((a / "shard-00004.safetensors").string());
  EXPECT_EQ(last.metadata().at("faceedit.first_index"), "256");
  EXPECT_EQ(last.entry("z").shape, (std::vector<int64_t>{44, 100}));
  EXPECT_FALSE(last.contains("w"));

  // Latents are the generator's seeded stream; scores those of the images scored directly.
  auto set = edit::load_samples(a.string());
  auto g = models::load_generator(model);
  torch::NoGradGuard no_grad;
  auto z = g->sample_z(300, 7);
  EXPECT_TRUE(torch::equal(set.z, z));
  EXPECT_FALSE(set.w.defined());
  EXPECT_EQ(set.columns.size(), 5u);
  auto direct = score_directly(g->synthesize(z));
  EXPECT_LT((set.scores - direct).abs().max().item<double>(), 1e-5);
  EXPECT_GT(set.scores.std().item<double>(), 0.0);

  // Interrupted run: shards 1 and 4 missing, a stray temp file from a killed writer; the resumed
  // run writes only those and every file is bit-identical to the uninterrupted run.
  const fs::path b = test::temp_dir() / "samples-b";
  fs::copy(a, b);
  fs::remove(b / "shard-00001.safetensors");
  fs::remove(b / "shard-00004.safetensors");
  { std::ofstream(b / "shard-00004.safetensors.tmp-999999") << "half a shard"; }
  EXPECT_NE(test::error_of([&] { edit::load_samples(b.string()); }).find("has 3 of 5 shards"), std::string::npos);
  EXPECT_NE(test::error_of([&] { edit::load_samples(b.string()); }).find("finish with `faceedit sample --model"),
            std::string::npos);
  summary = edit::run_sample_job(p, b.string());
  EXPECT_EQ(summary["shards_skipped"], 3);
  EXPECT_EQ(summary["shards_written"], 2);
  EXPECT_FALSE(fs::exists(b / "shard-00004.safetensors.tmp-999999"));
  int files = 0;
  for (const auto& e : fs::directory_iterator(a)) {
    EXPECT_EQ(bytes_of(e.path()), bytes_of(b / e.path().filename())) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 6);
  EXPECT_EQ(std::distance(fs::directory_iterator(b), fs::directory_iterator()), 6);

  // A finished directory reruns as a no-op.
  summary = edit::run_sample_job(p, a.string());
  EXPECT_EQ(summary["shards_written"], 0);

  // Other parameters on an existing directory: refused, naming the field.
  auto q = p;
  q.seed = 8;
  EXPECT_NE(test::error_of([&] { edit::run_sample_job(q, a.string()); }).find("seed = 7, not 8"), std::string::npos);
  q = p;
  q.n = 301;
  EXPECT_NE(test::error_of([&] { edit::run_sample_job(q, a.string()); }).find("n = 300"), std::string::npos);
  q = p;
  q.classifier_specs.pop_back();
  EXPECT_NE(test::error_of([&] { edit::run_sample_job(q, a.string()); }).find("classifiers"), std::string::npos);
  q = p;
  q.truncation = 0.5;
  EXPECT_NE(test::error_of([&] { edit::run_sample_job(q, a.string()); }).find("use a new -o directory"), std::string::npos);
  q = p;
  q.n = 0;
  EXPECT_THROW(edit::run_sample_job(q, (test::temp_dir() / "x").string()), Error);

  // Corrupt or wrong shards: load_samples names the file.
  fs::resize_file(b / "shard-00002.safetensors", 100);
  EXPECT_NE(test::error_of([&] { edit::load_samples(b.string()); }).find("shard-00002.safetensors"), std::string::npos);
  io::write_safetensors((b / "shard-00002.safetensors").string(), {{"z", torch::zeros({64, 99})}, {"scores", torch::zeros({64, 5})}},
                        {{"faceedit.first_index", "128"}});
  auto err = test::error_of([&] { edit::load_samples(b.string()); });
  EXPECT_NE(err.find("shard-00002.safetensors"), std::string::npos) << err;
  EXPECT_NE(err.find("[64, 99]"), std::string::npos) << err;
  EXPECT_NE(test::error_of([&] { edit::load_samples((test::temp_dir() / "nowhere").string()); }).find("nowhere"),
            std::string::npos);
}

TEST(Sampling, StyleGAN2StoresTruncatedW) {
  FACEEDIT_REQUIRE_SHARED(src, "fixtures/stylegan2-ada/tiny32.pkl");
  const std::string model = test::converted("fixtures/stylegan2-ada/tiny32.pkl");
  auto p = dcgan_params(model);
  p.n = 10;
  p.shard_size = 4;
  p.batch = 3;
  p.truncation = 0.7;
  const fs::path dir = test::temp_dir() / "samples-sg2";
  edit::run_sample_job(p, dir.string());
  auto set = edit::load_samples(dir.string());
  auto g = models::load_generator(model);
  torch::NoGradGuard no_grad;
  auto z = g->sample_z(10, 7);
  auto ws = g->map(z, 0.7);
  EXPECT_EQ(set.manifest["spaces"], nlohmann::json({"z", "w"}));
  EXPECT_EQ(set.manifest["w_dim"], g->w_dim());
  EXPECT_TRUE(torch::equal(set.z, z));
  // Batches of 3 here vs. 10 at once: float rounding of the mapping network's matmuls only.
  EXPECT_LT(test::relative_max_error(set.w, ws.select(1, 0)), 1e-5);
  EXPECT_LT((set.scores - score_directly(g->synthesize(ws))).abs().max().item<double>(), 1e-5);
}

// `faceedit boundary` as a library call on a sample directory: the plain boundary is the SVM of the
// scored rows; with a condition trained from the same samples the written direction is the plain
// one projected orthogonal to the condition's (dot product 0), and the four files are listed.
TEST(Sampling, BoundaryFilesWithAConditionTrainedFromTheSamples) {
  FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
  const std::string model = test::converted("models/dcgan-celeba32/generator.pt");
  const fs::path dir = test::temp_dir() / "samples-boundary";
  edit::run_sample_job(dcgan_params(model), dir.string());
  edit::BoundaryJob job;
  job.samples = dir.string();
  job.attribute = "smiling";
  job.params.ratio = 0.2;
  const auto plain_out = (test::temp_dir() / "b_plain.safetensors").string();
  const auto plain_report = edit::train_boundary_files(job, plain_out);
  EXPECT_EQ(plain_report["written"].size(), 2u);
  const auto samples = edit::read_boundary_samples(dir.string(), std::nullopt);
  const auto rows = edit::scored_rows(samples.latents, edit::score_column(samples, "smiling"));
  const auto direct = edit::train_boundary(rows.latents, rows.scores, job.params);
  EXPECT_TRUE(torch::allclose(edit::load_boundary(plain_out).normal, direct.normal, 1e-6, 1e-7));

  job.conditions = {"young"};
  const auto out = (test::temp_dir() / "b_cond.safetensors").string();
  const auto report = edit::train_boundary_files(job, out);
  ASSERT_EQ(report["written"].size(), 4u);
  const auto young_rows = edit::scored_rows(samples.latents, edit::score_column(samples, "young"));
  const auto young = edit::train_boundary(young_rows.latents, young_rows.scores, job.params);
  const auto projected = edit::load_boundary(out).normal, plain = edit::load_boundary((test::temp_dir() / "b_cond.plain.safetensors").string()).normal;
  EXPECT_TRUE(torch::allclose(plain, direct.normal, 1e-6, 1e-7));
  EXPECT_NEAR(projected.dot(young.normal).item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(projected.norm().item<double>(), 1.0, 1e-5);
  EXPECT_EQ(report["conditions"][0]["source"], "trained from " + dir.string());
  job.space = models::LatentSpace::WPlus;
  EXPECT_NE(test::error_of([&] { edit::train_boundary_files(job, out); }).find("--space wplus"), std::string::npos);
  job.space = std::nullopt;
  EXPECT_NE(test::error_of([&] { edit::train_boundary_files(job, "b.npy"); }).find("give -o NAME.safetensors"), std::string::npos);
}
