#include <gtest/gtest.h>

#include <filesystem>

#include "faceedit/distributed.h"
#include "faceedit/error.h"
#include "test_support.h"

using namespace faceedit;

TEST(Distributed, ParsesShardsAndSplitsItemsOnce) {
  const auto w = parse_shard("2/5");
  EXPECT_EQ(w.index, 2);
  EXPECT_EQ(w.count, 5);
  EXPECT_TRUE(w.shard);
  EXPECT_FALSE(w.merges());  // a task of an array computes; a run without --shard merges
  EXPECT_EQ(w.label(), "shard 2/5");
  // Every item belongs to exactly one of the N tasks.
  for (int64_t item = 0; item < 37; ++item) {
    int owners = 0;
    for (int k = 0; k < 5; ++k) owners += parse_shard(std::to_string(k) + "/5").owns(item) ? 1 : 0;
    EXPECT_EQ(owners, 1) << item;
  }
  const WorkShare single;
  EXPECT_TRUE(single.merges());
  EXPECT_TRUE(single.owns(12345));
  EXPECT_EQ(single.label(), "");
  EXPECT_EQ(job_share("").count, 1);  // not under mpirun in the test
  EXPECT_EQ(job_share("1/3").index, 1);
  for (const char* bad : {"", "3", "3/3", "-1/3", "1/0", "a/b", "1/2x", "1/200000", "/2", "1/"})
    EXPECT_THROW(parse_shard(bad), Error) << bad;
}

TEST(Distributed, JobLockRefusesASecondJobButLetsTasksOfAnArrayShare) {
  const auto dir = test::temp_dir() / "locked";
  std::filesystem::create_directories(dir);
  {
    JobLock whole(dir, WorkShare{}, "faceedit sample");
    EXPECT_THROW(JobLock(dir, WorkShare{}, "faceedit sample"), Error);  // a second single run
    EXPECT_THROW(JobLock(dir, parse_shard("0/2"), "faceedit sample"), Error);  // a task while a run holds it
  }
  {
    JobLock a(dir, parse_shard("0/2"), "faceedit sample");
    JobLock b(dir, parse_shard("1/2"), "faceedit sample");  // tasks of one array run side by side
    EXPECT_THROW(JobLock(dir, parse_shard("1/2"), "faceedit sample"), Error);  // the same task twice
    EXPECT_THROW(JobLock(dir, WorkShare{}, "faceedit sample"), Error);  // the merging run waits for them
  }
  JobLock after(dir, WorkShare{}, "faceedit sample");  // all released
  EXPECT_THROW(JobLock(test::temp_dir() / "no-such-dir", WorkShare{}, "x"), Error);
}
