// The tuning database and the tuner's policy: try each runnable variant twice, round robin,
// then always the fastest by its best time; remembered across processes.
#include "asp/core/tuning.hpp"

#include "processes.hpp"
#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fs = std::filesystem;
using asp::core::Tuner;
using asp::core::TuningDatabase;
using asp::core::TuningKey;
using asp::test::TempDir;
using testing::HasSubstr;

namespace {

const TuningKey key{"laplacian3d-0123", "float64 rank 3 shape (64,64,64) strides (32768,512,8)", "Xeon x16"};
const std::vector<std::string> variants = {"block-8", "block-16", "block-32"};
const std::vector<bool> all = {true, true, true};

// The exploration: each variant tried Tuner::runs_to_settle times, round robin, with these times.
void try_each(Tuner& tuner, const std::vector<double>& times) {
  for (std::int64_t round = 0; round < Tuner::runs_to_settle; ++round) {
    for (std::size_t i = 0; i < times.size(); ++i) {
      ASSERT_EQ(tuner.choose(all), i);
      tuner.report(i, times[i]);
    }
  }
}

TEST(Tuner, TriesEachVariantTwiceRoundRobinThenKeepsTheFastest) {
  Tuner tuner(nullptr, key, variants);
  EXPECT_FALSE(tuner.settled(all));
  // The first run of all pays for cold memory: variant 0 looks slowest then.
  const double first_round[] = {9.0, 1.0, 2.0}, second_round[] = {0.5, 1.0, 2.0};
  for (const double* times : {first_round, second_round}) {
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(tuner.choose(all), i);
      tuner.report(i, times[i]);
    }
  }
  EXPECT_TRUE(tuner.settled(all));
  for (int call = 7; call < 12; ++call) {
    EXPECT_EQ(tuner.choose(all), 0u) << "call " << call << ": the best time counts, not the first";
    tuner.report(0, 0.6);
  }
}

TEST(Tuner, ASlowerRunDoesNotHideTheBestTime) {
  Tuner tuner(nullptr, key, variants);
  try_each(tuner, {3.0, 1.0, 2.0});
  tuner.report(1, 10.0);  // one noisy run of the best variant
  EXPECT_EQ(tuner.choose(all), 1u);
}

TEST(Tuner, NeverChoosesAVariantThatCannotRun) {
  Tuner tuner(nullptr, key, variants);
  const std::vector<bool> middle_fails = {true, false, true};
  for (std::int64_t round = 0; round < Tuner::runs_to_settle; ++round) {
    EXPECT_EQ(tuner.choose(middle_fails), 0u);
    tuner.report(0, 3.0);
    EXPECT_EQ(tuner.choose(middle_fails), 2u) << "variant 1 is untried but cannot run";
    tuner.report(2, 2.0);
  }
  EXPECT_TRUE(tuner.settled(middle_fails));
  EXPECT_FALSE(tuner.settled(all));
  EXPECT_EQ(tuner.choose(middle_fails), 2u);
  // When the best cannot run for these arguments, the best of the rest.
  EXPECT_EQ(tuner.choose({true, false, false}), 0u);
}

TEST(Tuner, ABestVariantThatCannotRunIsSkipped) {
  Tuner tuner(nullptr, key, variants);
  try_each(tuner, {3.0, 1.0, 2.0});
  EXPECT_EQ(tuner.choose({true, false, true}), 2u);
}

TEST(Tuner, NoRunnableVariantIsNoChoice) {
  Tuner tuner(nullptr, key, variants);
  EXPECT_EQ(tuner.choose({false, false, false}), std::nullopt);
  Tuner none(nullptr, key, {});
  EXPECT_EQ(none.choose({}), std::nullopt);
}

TEST(Tuner, RejectsMisuse) {
  Tuner tuner(nullptr, key, variants);
  EXPECT_THROW(tuner.choose({true, true}), std::invalid_argument);
  EXPECT_THROW(tuner.settled({true}), std::invalid_argument);
  EXPECT_THROW(tuner.report(3, 1.0), std::out_of_range);
  EXPECT_THROW(tuner.report(0, -1.0), std::invalid_argument);
  EXPECT_THROW(tuner.report(0, std::nan("")), std::invalid_argument);
}

TEST(TuningDatabase, RecordsRunsBestAndTotalPerVariant) {
  TempDir tmp;
  TuningDatabase db(tmp.path() / "tuning.sqlite");
  db.record(key, "block-8", 2.0);
  db.record(key, "block-8", 1.0);
  db.record(key, "block-8", 4.0);
  db.record(key, "block-16", 0.5);
  const auto stats = db.stats(key);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats.at("block-8").runs, 3);
  EXPECT_EQ(stats.at("block-8").best, 1.0);
  EXPECT_EQ(stats.at("block-8").total, 7.0);
  EXPECT_EQ(stats.at("block-16").runs, 1);
  EXPECT_EQ(stats.at("block-16").best, 0.5);
}

TEST(TuningDatabase, KeepsKernelsSignaturesAndPlatformsApart) {
  TempDir tmp;
  TuningDatabase db(tmp.path() / "tuning.sqlite");
  db.record(key, "block-8", 1.0);
  for (auto other : {TuningKey{"other", key.signature, key.platform}, TuningKey{key.kernel, "int32", key.platform},
                     TuningKey{key.kernel, key.signature, "another machine"}}) {
    EXPECT_TRUE(db.stats(other).empty()) << other.kernel << " / " << other.signature << " / " << other.platform;
  }
  EXPECT_EQ(db.stats(key).size(), 1u);
}

TEST(TuningDatabase, UsesWriteAheadLogging) {
  TempDir tmp;
  const fs::path file = tmp.path() / "tuning.sqlite";
  TuningDatabase db(file);
  db.record(key, "block-8", 1.0);
  EXPECT_TRUE(fs::exists(file.string() + "-wal"));
}

TEST(TuningDatabase, ReportsWhyItCannotOpen) {
  TempDir tmp;
  const fs::path missing_dir = tmp.path() / "no-such-dir" / "tuning.sqlite";
  EXPECT_THAT([&] { TuningDatabase db(missing_dir); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("cannot open " + missing_dir.string())));
  const fs::path garbage = tmp.write("garbage.sqlite", std::string(4096, 'x'));
  EXPECT_THAT([&] { TuningDatabase db(garbage); },
              testing::ThrowsMessage<std::runtime_error>(HasSubstr("file is not a database")));
}

TEST(Tuner, ANewTunerOnTheSameDatabaseStartsOnTheBestVariant) {
  TempDir tmp;
  const fs::path file = tmp.path() / "tuning.sqlite";
  {
    TuningDatabase db(file);
    Tuner tuner(&db, key, variants);
    try_each(tuner, {3.0, 1.0, 2.0});
  }
  TuningDatabase db(file);
  Tuner tuner(&db, key, variants);
  EXPECT_TRUE(tuner.settled(all));
  EXPECT_EQ(tuner.choose(all), 1u);
}

TEST(Tuner, ANewVariantIsStillTriedAfterARestart) {
  TempDir tmp;
  const fs::path file = tmp.path() / "tuning.sqlite";
  {
    TuningDatabase db(file);
    Tuner tuner(&db, key, variants);
    try_each(tuner, {3.0, 1.0, 2.0});
  }
  TuningDatabase db(file);
  Tuner tuner(&db, key, {"block-8", "block-16", "block-32", "block-64"});
  for (std::int64_t round = 0; round < Tuner::runs_to_settle; ++round) {
    EXPECT_EQ(tuner.choose({true, true, true, true}), 3u);
    tuner.report(3, 5.0);
  }
  EXPECT_EQ(tuner.choose({true, true, true, true}), 1u);
}

TEST(Tuner, AnotherProcessStartsOnTheBestVariant) {
  TempDir tmp;
  const fs::path file = tmp.path() / "tuning.sqlite";
  // The first process tunes, the second (started after it exits) must not re-try anything.
  ASSERT_EQ(asp::test::run_processes(1,
                                     [&](int) {
                                       TuningDatabase db(file);
                                       Tuner tuner(&db, key, variants);
                                       const std::vector<double> times = {3.0, 1.0, 2.0};
                                       for (std::int64_t round = 0; round < Tuner::runs_to_settle; ++round) {
                                         for (std::size_t i = 0; i < times.size(); ++i) {
                                           if (tuner.choose(all) != i) return false;
                                           tuner.report(i, times[i]);
                                         }
                                       }
                                       return true;
                                     }),
            0);
  ASSERT_EQ(asp::test::run_processes(1,
                                     [&](int) {
                                       TuningDatabase db(file);
                                       Tuner tuner(&db, key, variants);
                                       return tuner.choose(all) == std::optional<std::size_t>(1);
                                     }),
            0);
}

TEST(TuningDatabase, ConcurrentProcessesLoseNoRecords) {
  TempDir tmp;
  const fs::path file = tmp.path() / "tuning.sqlite";
  constexpr int processes = 2;
  constexpr int records = 300;
  // Each opens the database itself (a new file: both race to create it) and records into a shared row and its own.
  const int failed = asp::test::run_processes(processes, [&](int process) {
    TuningDatabase db(file);
    for (int i = 0; i < records; ++i) {
      db.record(key, "shared", 1.0);
      db.record(key, "process-" + std::to_string(process), 2.0);
    }
    return true;
  });
  ASSERT_EQ(failed, 0);
  TuningDatabase db(file);
  const auto stats = db.stats(key);
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats.at("shared").runs, processes * records);
  EXPECT_EQ(stats.at("shared").total, processes * records * 1.0);
  for (int process = 0; process < processes; ++process) {
    EXPECT_EQ(stats.at("process-" + std::to_string(process)).runs, records);
  }
}

}  // namespace
