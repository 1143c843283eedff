#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "faceedit/error.h"
#include "faceedit/io/image.h"
#include "test_support.h"

using namespace faceedit;

TEST(Image, TensorRoundTripAndGrid) {
  auto t = torch::rand({1, 3, 8, 6}) * 2 - 1;
  auto img = io::tensor_to_image(t);
  EXPECT_EQ(img.rows, 8);
  EXPECT_EQ(img.cols, 6);
  auto back = io::image_to_tensor(img);
  EXPECT_LE((back - t).abs().max().item<double>(), 1.0 / 127.5 + 1e-6);
  // Red in RGB is stored as BGR (0, 0, 255).
  auto red = torch::tensor({1.0f, -1.0f, -1.0f}).reshape({1, 3, 1, 1});
  EXPECT_EQ(io::tensor_to_image(red).at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
  auto grid = io::make_grid(torch::zeros({5, 3, 4, 4}), 3, 2, 2);
  EXPECT_EQ(grid.cols, 3 * 8 + 4 * 2);
  EXPECT_EQ(grid.rows, 2 * 8 + 3 * 2);
}

TEST(Image, WriteReadAndRefusals) {
  const auto dir = test::temp_dir();
  cv::Mat m(10, 12, CV_8UC3, cv::Scalar(10, 20, 30));
  io::write_image((dir / "a.png").string(), m);
  auto r = io::read_image((dir / "a.png").string());
  EXPECT_EQ(cv::norm(r, m, cv::NORM_INF), 0);
  EXPECT_THROW(io::write_image((dir / "a.unknownext").string(), m), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.unknownext"));
  std::ofstream(dir / "fake.jpg") << "this is text";
  EXPECT_THROW(io::read_image((dir / "fake.jpg").string()), Error);
  EXPECT_THROW(io::read_image((dir / "missing.png").string()), Error);
  cv::Mat big(1024, 1024, CV_8UC3, cv::Scalar(0));
  io::write_image((dir / "big.png").string(), big);
  EXPECT_THROW(io::read_image((dir / "big.png").string(), 1000), Error);
}
