// The photo pipeline as a library call (pipeline/photo.h) and the editor factory (edit/editor_factory.h).
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "faceedit/edit/interfacegan/boundary.h"
#include "faceedit/edit/editor_factory.h"
#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "faceedit/models/model_files.h"
#include "faceedit/face/fuse.h"
#include "faceedit/pipeline/photo.h"
#include "photo_fixtures.h"
#include "test_support.h"

namespace faceedit {
namespace {

std::string random_boundary(const std::string& attribute, uint64_t seed) {
  const auto path = (test::temp_dir() / (attribute + ".safetensors")).string();
  edit::save_boundary(edit::random_boundary(100, models::LatentSpace::Z, attribute, seed), path);
  return path;
}

pipeline::PhotoEdit ifg_edit(const std::string& boundary, double strength) {
  pipeline::PhotoEdit e;
  e.editor.method = "interfacegan";
  e.editor.boundary = boundary;
  e.strength = strength;
  return e;
}

TEST(EditorFactory, OneKeyTableForSpecsAndOptions) {
  // Every key of the table parses in a spec (so the CLI options and the specs cannot drift).
  const std::map<std::string, std::string> sample = {{"truncation", "0.7"}, {"walk-steps", "9"}, {"step-length", "0.5"},
                                                     {"threshold", "0.6"},  {"strength", "-2"},  {"attr", "Smile"},
                                                     {"judge-target", "glasses"}, {"space", "w"}};
  for (const auto& k : edit::editor_keys()) {
    const std::string value = sample.count(k.key) ? sample.at(k.key) : "x";
    EXPECT_NO_THROW(edit::parse_edit_step(k.key + "=" + value)) << k.key;
  }
  const auto step = edit::parse_edit_step("method=PFSF,attr=Smile,strength=-2,walk-steps=9,conditions=a+b,judge-target=glasses");
  EXPECT_EQ(step.editor.method, "pfsf");
  EXPECT_EQ(step.editor.attribute, "smiling");  // aliases and case resolved once, here
  EXPECT_EQ(step.strength, -2.0);
  EXPECT_EQ(step.editor.walk_steps, 9);
  EXPECT_EQ(step.editor.conditions, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(step.judge_target, "eyeglasses");
  EXPECT_NE(test::error_of([] { edit::parse_edit_step("nosuch=1"); }).find("known: method"), std::string::npos);
  EXPECT_NE(test::error_of([] { edit::parse_edit_step("strength=abc"); }).find("not a number"), std::string::npos);
  EXPECT_NE(test::error_of([] { edit::parse_edit_step("walk-steps=2.5"); }).find("whole number"), std::string::npos);
  EXPECT_NE(test::error_of([] { edit::parse_edit_step("method"); }).find("not key=value"), std::string::npos);
}

TEST(EditorFactory, OneEditGrammar) {
  edit::EditStep defaults;
  defaults.editor.method = "transformer";
  defaults.editor.editor_file = "t.safetensors";
  // ATTRIBUTE=STRENGTH takes the rest from the defaults...
  const auto smile = edit::parse_edit("Smile=+1.5", defaults);
  EXPECT_EQ(smile.editor.attribute, "smiling");
  EXPECT_EQ(smile.strength, 1.5);
  EXPECT_EQ(smile.editor.method, "transformer");
  EXPECT_EQ(smile.editor.editor_file, "t.safetensors");
  // ... key=value pairs are a whole spec, on the same defaults.
  const auto full = edit::parse_edit("method=interfacegan,boundary=b.safetensors,strength=-2", defaults);
  EXPECT_EQ(full.editor.method, "interfacegan");
  EXPECT_EQ(full.editor.boundary, "b.safetensors");
  EXPECT_EQ(full.strength, -2.0);
  EXPECT_NE(test::error_of([] { edit::parse_edit("smiling"); }).find("ATTRIBUTE=STRENGTH"), std::string::npos);
  EXPECT_NE(test::error_of([] { edit::parse_edit("smiling="); }).find("ATTRIBUTE=STRENGTH"), std::string::npos);
  EXPECT_NE(test::error_of([] { edit::parse_edit("smiling=lots"); }).find("not a number"), std::string::npos);
  // Equal specs share a key; any difference that shapes the editor changes it.
  EXPECT_EQ(edit::spec_key(smile.editor), edit::spec_key(edit::parse_edit("smiling=-3", defaults).editor));
  EXPECT_NE(edit::spec_key(smile.editor), edit::spec_key(full.editor));
  EXPECT_LT(edit::strength_range("interfacegan").min, 0);
  EXPECT_GT(edit::strength_range("pfsf").max, 1);  // 1 = the crossing must be reachable
}

TEST(EditorFactory, ChecksSpecsAgainstTheGenerator) {
  FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
  std::shared_ptr<models::Generator> g = models::load_generator(test::converted("models/dcgan-celeba32/generator.pt"));
  edit::EditorSpec spec;
  spec.method = "pfsf";
  EXPECT_NE(test::error_of([&] { edit::open_editor(spec, g); }).find("needs attr"), std::string::npos);
  spec.method = "nosuch";
  EXPECT_NE(test::error_of([&] { edit::open_editor(spec, g); }).find("unknown editing method"), std::string::npos);
  spec.method = "interfacegan";
  spec.boundary = random_boundary("smiling", 1);
  spec.space = models::LatentSpace::W;
  EXPECT_NE(test::error_of([&] { edit::open_editor(spec, g); }).find("no such latent space"), std::string::npos);
  spec.space = std::nullopt;
  const auto editor = edit::open_editor(spec, g);
  EXPECT_EQ(editor->attribute(), "smiling");
  EXPECT_NE(test::error_of([&] { editor->save((test::temp_dir() / "x.safetensors").string()); }).find("not saved"), std::string::npos);
}

class PhotoPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    FACEEDIT_REQUIRE_LANDMARK_MODEL();
    FACEEDIT_REQUIRE_SHARED(src, "models/dcgan-celeba32/generator.pt");
    FACEEDIT_REQUIRE_SHARED(photo_path, "data/celebahq-photos/000004.jpg");
    model = test::converted("models/dcgan-celeba32/generator.pt");
    photo = io::read_image(photo_path);
    test::use_fast_photo_params(params);
    params.cache_dir = test::temp_dir() / "photo-cache";
  }
  std::string model;
  cv::Mat photo;
  pipeline::PhotoParams params;
};

TEST_F(PhotoPipeline, EditsInsideTheMaskOnlyAndReEditsFromTheCache) {
  std::shared_ptr<models::Generator> g = models::load_generator(model);
  const auto smile = random_boundary("smiling", 2), glasses = random_boundary("eyeglasses", 3);
  std::vector<pipeline::PhotoStage> stages;
  const auto record = [&](const pipeline::PhotoStage& s) { stages.push_back(s); };
  pipeline::PhotoSession session(g, model, params, record);
  const auto first = session.prepare(photo, "000004.jpg", models::LatentSpace::Z, false);
  EXPECT_FALSE(first.from_cache);
  const auto result = session.render({ifg_edit(smile, 3.0)});
  ASSERT_EQ(result.photo.size(), photo.size());
  EXPECT_EQ(stages.front().name, "align");

  // Outside the crop's quad (plus 2 px for the warp's interpolation) the photo is untouched, bit for bit.
  cv::Mat support = cv::Mat::zeros(photo.size(), CV_8U);
  std::vector<cv::Point> quad;
  for (const auto& c : first.face.quad.corners) quad.emplace_back(cvRound(c.x), cvRound(c.y));
  cv::fillConvexPoly(support, quad, cv::Scalar(255));
  cv::dilate(support, support, cv::Mat(), {-1, -1}, 2);
  cv::Mat diff;
  cv::absdiff(result.photo, photo, diff);
  cv::Mat changed;
  cv::cvtColor(diff, changed, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(changed & ~support), 0) << "pixels outside the face's crop changed";
  EXPECT_GT(cv::mean(diff, support)[0], 0.5) << "the edit changed nothing inside the crop";

  // A new session (as a new process would) finds the preparation in the cache and skips to the edit.
  stages.clear();
  pipeline::PhotoSession again(models::load_generator(model), model, params, record);
  const auto& cached = again.prepare(photo, "000004.jpg", models::LatentSpace::Z, false);
  EXPECT_TRUE(cached.from_cache);
  ASSERT_EQ(stages.size(), 1u);
  EXPECT_EQ(stages[0].name, "cache");
  EXPECT_TRUE(torch::equal(cached.pivot.cpu(), first.pivot.cpu()));
  EXPECT_TRUE(cached.face.quad.corners == first.face.quad.corners);
  const auto re_edit = again.render({ifg_edit(glasses, 2.0)});
  EXPECT_TRUE(re_edit.cache_hit);

  // Another photo is another entry; eviction bounds the directory.
  cv::Mat other = photo.clone();
  other.at<cv::Vec3b>(0, 0)[0] ^= 1;
  EXPECT_NE(pipeline::photo_cache_key(other, model, *g, params, models::LatentSpace::Z), cached.cache_key);
  pipeline::evict_photo_cache(params.cache_dir, 0);
  EXPECT_FALSE(std::filesystem::exists(params.cache_dir / cached.cache_key));
}

TEST_F(PhotoPipeline, SeveralEditsComposeInLatentSpace) {
  std::shared_ptr<models::Generator> g = models::load_generator(model);
  params.cache_dir.clear();
  const auto b1 = random_boundary("smiling", 4), b2 = random_boundary("eyeglasses", 5);
  pipeline::PhotoSession session(g, model, params);
  const auto& prep = session.prepare(photo, "000004.jpg", models::LatentSpace::Z, false);
  const auto r = session.render({ifg_edit(b1, 1.5), ifg_edit(b2, -2.0)});
  // InterFaceGAN moves along unit normals: the two edits in sequence land at pivot + 1.5 n1 - 2 n2.
  const auto n1 = edit::load_boundary(b1).normal, n2 = edit::load_boundary(b2).normal;
  const auto expected = prep.pivot.cpu() + 1.5 * n1.view({1, -1}) - 2.0 * n2.view({1, -1});
  EXPECT_LT((r.edited_latent.cpu() - expected).abs().max().item<double>(), 1e-5);
  ASSERT_EQ(r.edits.size(), 2u);
  EXPECT_EQ(r.edits[1].attribute, "eyeglasses");
  EXPECT_NE(test::error_of([&] { std::vector<pipeline::PhotoEdit> e(1); e[0].editor.method = "pfsf"; session.open(e); }).find("needs attr"),
            std::string::npos);
}

// Personalization fine-tunes a session's own copy: the shared generator stays bit for bit, and two
// sessions on one generator give what each gives alone (the server's photos are independent).
TEST_F(PhotoPipeline, SessionsAreIndependentAndTheSharedGeneratorNeverChanges) {
  std::shared_ptr<models::Generator> g = models::load_generator(model);
  params.cache_dir.clear();
  params.personalize_steps = 3;
  std::vector<torch::Tensor> before;
  for (const auto& t : g->named_tensors()) before.push_back(t.value().clone());
  const auto smile = random_boundary("smiling", 6);
  FACEEDIT_REQUIRE_SHARED(other_path, "data/celebahq-photos/000157.jpg");
  const cv::Mat other = io::read_image(other_path);

  const auto alone = [&](const cv::Mat& p) {
    pipeline::PhotoSession s(models::load_generator(model), model, params);
    s.prepare(p, "alone", models::LatentSpace::Z, true);
    return s.render({ifg_edit(smile, 2.0)}).photo;
  };
  pipeline::PhotoSession a(g, model, params), b(g, model, params);
  a.prepare(photo, "a", models::LatentSpace::Z, true);
  b.prepare(other, "b", models::LatentSpace::Z, true);  // interleaved on the same generator
  const auto ra = a.render({ifg_edit(smile, 2.0)}).photo, rb = b.render({ifg_edit(smile, 2.0)}).photo;
  EXPECT_FALSE(a.prepared().delta.empty());
  EXPECT_NE(a.generator().get(), g.get());  // the session renders with its own copy
  const auto equal = [](const cv::Mat& x, const cv::Mat& y) { return x.size() == y.size() && cv::norm(x, y, cv::NORM_INF) == 0; };
  EXPECT_TRUE(equal(ra, alone(photo)));
  EXPECT_TRUE(equal(rb, alone(other)));
  size_t i = 0;
  for (const auto& t : g->named_tensors()) EXPECT_TRUE(torch::equal(t.value(), before[i++])) << t.key() << " changed";
}

// preview() is the blended crop of render(): the same pixels inside the crop as the fused photo's.
TEST_F(PhotoPipeline, PreviewIsTheRenderedCrop) {
  std::shared_ptr<models::Generator> g = models::load_generator(model);
  params.cache_dir.clear();
  const auto smile = random_boundary("smiling", 7);
  pipeline::PhotoSession session(g, model, params);
  const auto& prep = session.prepare(photo, "000004.jpg", models::LatentSpace::Z, false);
  EXPECT_EQ(cv::norm(session.preview({}), prep.face.crop, cv::NORM_INF), 0);  // no edits: the crop
  const cv::Mat shown = session.preview({ifg_edit(smile, 2.5)});
  const auto r = session.render({ifg_edit(smile, 2.5)});
  EXPECT_EQ(cv::norm(shown, face::blend_crops(prep.face.crop, r.edited_crop, prep.mask), cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(shown, prep.face.crop, cv::NORM_L1), 0);
}

}  // namespace
}  // namespace faceedit
