// The pthreads runtime's thread pool: every index of a loop runs exactly once
// whatever the range, schedule, thread count or contention; nesting and
// concurrent callers never deadlock; reductions combine under the lock; one
// pool per process, configured by ASP_NUM_THREADS and pinned with hwloc.
#include "thread_pool.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using asp::pthreads::choose_thread_count;
using asp::pthreads::ThreadPool;
using testing::HasSubstr;

struct Chunk {
  std::int64_t begin;
  std::int64_t end;
  std::thread::id thread;
};

// A loop body that records each chunk it is given.
struct Recorder {
  std::mutex mutex;
  std::vector<Chunk> chunks;

  static void body(void* self, std::int64_t begin, std::int64_t end) {
    auto* recorder = static_cast<Recorder*>(self);
    std::lock_guard lock(recorder->mutex);
    recorder->chunks.push_back({begin, end, std::this_thread::get_id()});
  }
};

std::uint64_t iterations_of(std::int64_t begin, std::int64_t end, std::int64_t step) {
  if (end <= begin) return 0;
  const std::uint64_t span = static_cast<std::uint64_t>(end) - static_cast<std::uint64_t>(begin);
  const auto stride = static_cast<std::uint64_t>(step);
  return span / stride + (span % stride != 0 ? 1 : 0);
}

// The chunks as iteration numbers [first, last), sorted; fails the test
// unless every bound is begin plus a multiple of step (or end).
std::vector<std::pair<std::uint64_t, std::uint64_t>> iterations_of_chunks(const std::vector<Chunk>& chunks,
                                                                          std::int64_t begin, std::int64_t end,
                                                                          std::int64_t step) {
  const auto stride = static_cast<std::uint64_t>(step);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  for (const Chunk& chunk : chunks) {
    EXPECT_LE(begin, chunk.begin);
    EXPECT_LT(chunk.begin, chunk.end);
    EXPECT_LE(chunk.end, end);
    const std::uint64_t first = static_cast<std::uint64_t>(chunk.begin) - static_cast<std::uint64_t>(begin);
    const std::uint64_t last = static_cast<std::uint64_t>(chunk.end) - static_cast<std::uint64_t>(begin);
    EXPECT_EQ(first % stride, 0u) << "chunk begins off the step grid: " << chunk.begin;
    if (chunk.end != end) {
      EXPECT_EQ(last % stride, 0u) << "chunk ends off the step grid: " << chunk.end;
    }
    spans.emplace_back(first / stride, chunk.end == end ? iterations_of(begin, end, step) : last / stride);
  }
  std::sort(spans.begin(), spans.end());
  return spans;
}

// Every iteration of the loop lies in exactly one chunk.
void expect_exact_cover(const std::vector<Chunk>& chunks, std::int64_t begin, std::int64_t end,
                        std::int64_t step) {
  const auto spans = iterations_of_chunks(chunks, begin, end, step);
  std::uint64_t next = 0;
  for (const auto& [first, last] : spans) {
    EXPECT_EQ(first, next) << "a gap or an overlap before iteration " << first;
    next = last;
  }
  EXPECT_EQ(next, iterations_of(begin, end, step));
}

struct Range {
  std::int64_t begin;
  std::int64_t end;
  std::int64_t step;
};

const std::vector<Range>& ranges() {
  static const std::vector<Range> all = {
      {0, 0, 1},
      {5, 3, 1},
      {0, -1, 1},
      {7, 7, 3},
      {0, 1, 1},
      {0, 2, 1},
      {0, 3, 1},
      {-4, 3, 1},
      {0, 5, 10},
      {1, 2, 5},
      {-10, 10, 3},
      {0, 100, 7},
      {3, 1003, 4},
      {0, 1000003, 1},
      {-500000, 500000, 1},
      {0, 1 << 20, 3},
      {INT64_MIN, INT64_MAX, std::int64_t{1} << 61},
      {INT64_MIN, INT64_MIN + 5, 1},
      {INT64_MAX - 10, INT64_MAX, 3},
      {INT64_MIN, INT64_MAX, INT64_MAX},
  };
  return all;
}

void expect_loops_correct(ThreadPool& pool) {
  for (const asp_schedule schedule : {ASP_SCHEDULE_STATIC, ASP_SCHEDULE_DYNAMIC}) {
    for (const Range& range : ranges()) {
      SCOPED_TRACE(testing::Message() << "threads " << pool.threads() << ", schedule " << schedule << ", ["
                                      << range.begin << ", " << range.end << ") step " << range.step);
      Recorder recorder;
      pool.parallel_for(range.begin, range.end, range.step, schedule, Recorder::body, &recorder);
      expect_exact_cover(recorder.chunks, range.begin, range.end, range.step);
      if (range.end <= range.begin) {
        EXPECT_TRUE(recorder.chunks.empty());
      }
    }
  }
}

TEST(ThreadPool, EveryIndexRunsExactlyOnceForAnyThreadCount) {
  for (const int threads : {1, 2, 3, 4, 7}) {
    ThreadPool pool(threads);
    ASSERT_EQ(pool.threads(), threads);
    expect_loops_correct(pool);
  }
}

TEST(ThreadPool, EveryIndexRunsExactlyOnceOnTheProcessPool) { expect_loops_correct(ThreadPool::instance()); }

TEST(ThreadPool, StaticGivesEachThreadOneContiguousBalancedChunk) {
  for (const int threads : {2, 3, 4, 7}) {
    ThreadPool pool(threads);
    for (const Range& range : ranges()) {
      if (range.end <= range.begin) continue;
      SCOPED_TRACE(testing::Message() << "threads " << threads << ", [" << range.begin << ", " << range.end
                                      << ") step " << range.step);
      Recorder recorder;
      pool.parallel_for(range.begin, range.end, range.step, ASP_SCHEDULE_STATIC, Recorder::body, &recorder);
      const std::uint64_t iterations = iterations_of(range.begin, range.end, range.step);
      EXPECT_EQ(recorder.chunks.size(), std::min<std::uint64_t>(iterations, static_cast<std::uint64_t>(threads)));
      std::set<std::thread::id> runners;
      for (const Chunk& chunk : recorder.chunks) runners.insert(chunk.thread);
      EXPECT_EQ(runners.size(), recorder.chunks.size()) << "a thread ran two chunks";
      const auto spans = iterations_of_chunks(recorder.chunks, range.begin, range.end, range.step);
      for (const auto& [first, last] : spans) {
        EXPECT_LE(last - first, iterations / static_cast<std::uint64_t>(threads) + 1);
        EXPECT_GE(last - first, iterations / static_cast<std::uint64_t>(threads));
      }
    }
  }
}

TEST(ThreadPool, DynamicChunksHaveTheDocumentedSize) {
  for (const int threads : {2, 4}) {
    ThreadPool pool(threads);
    for (const Range& range : ranges()) {
      if (range.end <= range.begin) continue;
      SCOPED_TRACE(testing::Message() << "threads " << threads << ", [" << range.begin << ", " << range.end
                                      << ") step " << range.step);
      Recorder recorder;
      pool.parallel_for(range.begin, range.end, range.step, ASP_SCHEDULE_DYNAMIC, Recorder::body, &recorder);
      const std::uint64_t iterations = iterations_of(range.begin, range.end, range.step);
      if (iterations < 2) continue;  // a single iteration runs as one chunk on the caller
      const std::uint64_t size = std::max<std::uint64_t>(1, iterations / (static_cast<std::uint64_t>(threads) * 8));
      const auto spans = iterations_of_chunks(recorder.chunks, range.begin, range.end, range.step);
      for (std::size_t i = 0; i < spans.size(); ++i) {
        if (i + 1 < spans.size()) {
          EXPECT_EQ(spans[i].second - spans[i].first, size);
        } else {
          EXPECT_LE(spans[i].second - spans[i].first, size);
        }
      }
    }
  }
}

TEST(ThreadPool, MoreThanOneThreadRunsALargeRange) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "this machine has a single hardware thread";
  ThreadPool& pool = ThreadPool::instance();
  if (pool.threads() < 2) GTEST_SKIP() << "the process pool has one thread (a single allowed PU, or ASP_NUM_THREADS=1)";
  Recorder recorder;
  pool.parallel_for(0, 1 << 22, 1, ASP_SCHEDULE_STATIC, Recorder::body, &recorder);
  std::set<std::thread::id> runners;
  for (const Chunk& chunk : recorder.chunks) runners.insert(chunk.thread);
  EXPECT_EQ(runners.size(), static_cast<std::size_t>(pool.threads()));
  EXPECT_EQ(runners.count(std::this_thread::get_id()), 1u) << "the caller takes a share";
}

TEST(ThreadPool, AStepBelowOneRunsTheRangeAsOneChunkOnTheCaller) {
  ThreadPool pool(3);
  for (const std::int64_t step : {std::int64_t{0}, std::int64_t{-1}, INT64_MIN}) {
    for (const asp_schedule schedule : {ASP_SCHEDULE_STATIC, ASP_SCHEDULE_DYNAMIC}) {
      Recorder recorder;
      pool.parallel_for(-5, 50, step, schedule, Recorder::body, &recorder);
      ASSERT_EQ(recorder.chunks.size(), 1u);
      EXPECT_EQ(recorder.chunks[0].begin, -5);
      EXPECT_EQ(recorder.chunks[0].end, 50);
      EXPECT_EQ(recorder.chunks[0].thread, std::this_thread::get_id());
    }
  }
}

TEST(ThreadPool, RefusesZeroThreads) {
  EXPECT_THROW(ThreadPool(0), std::invalid_argument);
  EXPECT_THROW(ThreadPool(-3), std::invalid_argument);
}

// An outer loop whose every chunk runs an inner loop on the same pool.
struct Nested {
  ThreadPool* pool;
  asp_schedule inner_schedule;
  std::atomic<int> inline_inner{0};
  std::atomic<int> outer_chunks{0};

  static void outer(void* self, std::int64_t, std::int64_t) {
    auto* nested = static_cast<Nested*>(self);
    nested->outer_chunks.fetch_add(1);
    Recorder inner;
    nested->pool->parallel_for(0, 1000, 1, nested->inner_schedule, Recorder::body, &inner);
    if (inner.chunks.size() == 1 && inner.chunks[0].begin == 0 && inner.chunks[0].end == 1000 &&
        inner.chunks[0].thread == std::this_thread::get_id()) {
      nested->inline_inner.fetch_add(1);
    }
  }
};

TEST(ThreadPool, ALoopInsideAChunkRunsInline) {
  ThreadPool own(4);
  for (ThreadPool* pool : {&ThreadPool::instance(), &own}) {
    for (const asp_schedule outer : {ASP_SCHEDULE_STATIC, ASP_SCHEDULE_DYNAMIC}) {
      for (const asp_schedule inner : {ASP_SCHEDULE_STATIC, ASP_SCHEDULE_DYNAMIC}) {
        Nested nested{pool, inner};
        pool->parallel_for(0, 64, 1, outer, Nested::outer, &nested);
        EXPECT_GE(nested.outer_chunks.load(), 1);
        EXPECT_EQ(nested.inline_inner.load(), nested.outer_chunks.load());
      }
    }
  }
}

// A loop whose chunks hold the pool until another thread's loop has finished.
struct Holder {
  std::promise<void> entered;
  std::atomic<bool> announced{false};
  std::shared_future<void> released;

  static void body(void* self, std::int64_t, std::int64_t) {
    auto* holder = static_cast<Holder*>(self);
    if (!holder->announced.exchange(true)) holder->entered.set_value();
    holder->released.wait();
  }
};

TEST(ThreadPool, ALoopWhileAnotherThreadHoldsThePoolRunsInline) {
  ThreadPool pool(3);
  std::promise<void> release;
  Holder holder;
  holder.released = release.get_future().share();
  std::thread first([&] { pool.parallel_for(0, 100, 1, ASP_SCHEDULE_STATIC, Holder::body, &holder); });
  holder.entered.get_future().wait();
  Recorder second;
  pool.parallel_for(0, 100, 1, ASP_SCHEDULE_DYNAMIC, Recorder::body, &second);
  release.set_value();
  first.join();
  ASSERT_EQ(second.chunks.size(), 1u);
  EXPECT_EQ(second.chunks[0].begin, 0);
  EXPECT_EQ(second.chunks[0].end, 100);
  EXPECT_EQ(second.chunks[0].thread, std::this_thread::get_id());
}

// Counts visits of every index of [0, size).
struct Visits {
  std::vector<std::atomic<int>> counts;
  explicit Visits(std::size_t size) : counts(size) {}

  static void body(void* self, std::int64_t begin, std::int64_t end) {
    auto* visits = static_cast<Visits*>(self);
    for (std::int64_t i = begin; i < end; ++i) visits->counts[static_cast<std::size_t>(i)].fetch_add(1);
  }
  bool each_once() const {
    return std::all_of(counts.begin(), counts.end(), [](const std::atomic<int>& c) { return c.load() == 1; });
  }
};

TEST(ThreadPool, ConcurrentCallersBothComplete) {
  ThreadPool own(3);
  for (ThreadPool* pool : {&ThreadPool::instance(), &own}) {
    std::atomic<int> wrong{0};
    const auto caller = [&](int seed) {
      for (int round = 0; round < 300; ++round) {
        const auto size = static_cast<std::size_t>(1 + (round * 7919 + seed * 104729) % 5000);
        Visits visits(size);
        const asp_schedule schedule = (round + seed) % 2 == 0 ? ASP_SCHEDULE_STATIC : ASP_SCHEDULE_DYNAMIC;
        pool->parallel_for(0, static_cast<std::int64_t>(size), 1, schedule, Visits::body, &visits);
        if (!visits.each_once()) wrong.fetch_add(1);
      }
    };
    std::thread a(caller, 1);
    std::thread b(caller, 2);
    a.join();
    b.join();
    EXPECT_EQ(wrong.load(), 0);
  }
}

// Sums the indices of its chunks, combining partial sums under the runtime's lock.
struct Sum {
  const asp_pthreads_runtime* runtime;
  std::int64_t total = 0;  // deliberately not atomic: the lock alone protects it

  static void body(void* self, std::int64_t begin, std::int64_t end) {
    auto* sum = static_cast<Sum*>(self);
    std::int64_t partial = 0;
    for (std::int64_t i = begin; i < end; ++i) partial += i;
    sum->runtime->lock(sum->runtime->pool);
    sum->total += partial;
    sum->runtime->unlock(sum->runtime->pool);
  }
};

bool sums_correctly(const asp_pthreads_runtime* runtime) {
  constexpr std::int64_t n = 200000;
  for (const int schedule : {ASP_SCHEDULE_STATIC, ASP_SCHEDULE_DYNAMIC}) {
    Sum sum{runtime};
    runtime->parallel_for(runtime->pool, 0, n, 1, schedule, Sum::body, &sum);
    if (sum.total != n * (n - 1) / 2) return false;
  }
  return true;
}

TEST(PthreadsRuntime, ReductionsCombineUnderTheLock) {
  for (int round = 0; round < 50; ++round) ASSERT_TRUE(sums_correctly(asp::pthreads::runtime())) << round;
}

TEST(PthreadsRuntime, TableDescribesTheProcessPool) {
  const asp_pthreads_runtime* table = asp::pthreads::runtime();
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table, asp::pthreads::runtime());
  EXPECT_EQ(table->struct_size, sizeof(asp_pthreads_runtime));
  EXPECT_EQ(table->pool, &ThreadPool::instance());
  EXPECT_EQ(table->threads, ThreadPool::instance().threads());
  ASSERT_NE(table->parallel_for, nullptr);
  ASSERT_NE(table->lock, nullptr);
  ASSERT_NE(table->unlock, nullptr);
}

TEST(PthreadsRuntime, AnUnknownScheduleStillRunsEveryIndexOnce) {
  const asp_pthreads_runtime* table = asp::pthreads::runtime();
  Recorder recorder;
  table->parallel_for(table->pool, 0, 1000, 1, 42, Recorder::body, &recorder);
  expect_exact_cover(recorder.chunks, 0, 1000, 1);
}

TEST(ThreadPool, OneInstancePerProcess) {
  std::vector<ThreadPool*> seen(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) threads.emplace_back([&seen, i] { seen[i] = &ThreadPool::instance(); });
  for (std::thread& thread : threads) thread.join();
  for (ThreadPool* pool : seen) EXPECT_EQ(pool, &ThreadPool::instance());
}

TEST(ThreadPool, TheProcessPoolHasOneThreadPerAllowedPuOrAspNumThreads) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  const int expected = choose_thread_count(CPU_COUNT(&allowed), std::getenv("ASP_NUM_THREADS")).threads;
  EXPECT_EQ(ThreadPool::instance().threads(), expected);
}

TEST(ThreadCount, UsesTheHardwareWhenUnset) {
  const auto count = choose_thread_count(8, nullptr);
  EXPECT_EQ(count.threads, 8);
  EXPECT_TRUE(count.warning.empty());
  EXPECT_EQ(choose_thread_count(0, nullptr).threads, 1);
}

TEST(ThreadCount, AcceptsPositiveIntegers) {
  for (const auto& [text, threads] : {std::pair{"1", 1}, std::pair{"4", 4}, std::pair{"16", 16},
                                      std::pair{"007", 7}, std::pair{"4096", 4096}}) {
    const auto count = choose_thread_count(8, text);
    EXPECT_EQ(count.threads, threads) << text;
    EXPECT_TRUE(count.warning.empty()) << text;
  }
}

TEST(ThreadCount, IgnoresInvalidValuesWithAWarning) {
  for (const char* text : {"", "0", "-2", "abc", "4x", " 4", "4 ", "+4", "2.5", "4097", "99999999999999999999"}) {
    const auto count = choose_thread_count(8, text);
    EXPECT_EQ(count.threads, 8) << '"' << text << '"';
    EXPECT_THAT(count.warning, HasSubstr("ASP_NUM_THREADS")) << '"' << text << '"';
    EXPECT_THAT(count.warning, HasSubstr(std::string("\"") + text + "\"")) << '"' << text << '"';
  }
}

// Records how many CPUs each chunk's thread may run on.
struct Affinity {
  std::mutex mutex;
  std::vector<std::pair<std::thread::id, int>> cpus;

  static void body(void* self, std::int64_t, std::int64_t) {
    auto* affinity = static_cast<Affinity*>(self);
    cpu_set_t set;
    const int error = pthread_getaffinity_np(pthread_self(), sizeof set, &set);
    std::lock_guard lock(affinity->mutex);
    affinity->cpus.emplace_back(std::this_thread::get_id(), error == 0 ? CPU_COUNT(&set) : -1);
  }
};

TEST(ThreadPool, WorkersArePinnedOrSayWhyNot) {
  ThreadPool single(1);
  EXPECT_FALSE(single.pinned());
  EXPECT_THAT(single.pinning(), HasSubstr("no worker"));

  for (ThreadPool* pool : {&ThreadPool::instance(), &single}) {
    SCOPED_TRACE(pool->pinning());
    EXPECT_FALSE(pool->pinning().empty());
    if (!pool->pinned()) {
      EXPECT_THAT(pool->pinning(), testing::AnyOf(HasSubstr("unpinned"), HasSubstr("no worker")));
      continue;
    }
    EXPECT_THAT(pool->pinning(), HasSubstr("pinned to PU"));
    Affinity affinity;
    pool->parallel_for(0, pool->threads(), 1, ASP_SCHEDULE_STATIC, Affinity::body, &affinity);
    ASSERT_EQ(affinity.cpus.size(), static_cast<std::size_t>(pool->threads()));
    for (const auto& [thread, cpus] : affinity.cpus) {
      if (thread != std::this_thread::get_id()) {
        EXPECT_EQ(cpus, 1) << "a worker may run on more than its PU";
      }
    }
  }
}

TEST(ThreadPool, AForkedChildRunsLoopsWithoutTheParentsWorkers) {
  // Start the workers first: the child then inherits a pool whose threads it lacks.
  ASSERT_TRUE(sums_correctly(asp::pthreads::runtime()));
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    alarm(60);  // a hang guard: a deadlocked child dies of SIGALRM instead of stalling the suite
    Visits visits(10000);
    asp::pthreads::runtime()->parallel_for(asp::pthreads::runtime()->pool, 0, 10000, 1, ASP_SCHEDULE_DYNAMIC,
                                           Visits::body, &visits);
    ThreadPool fresh(2);  // a pool started in the child has workers of its own
    Recorder recorder;
    fresh.parallel_for(0, 100, 1, ASP_SCHEDULE_STATIC, Recorder::body, &recorder);
    std::set<std::thread::id> runners;
    for (const Chunk& chunk : recorder.chunks) runners.insert(chunk.thread);
    const bool ok = visits.each_once() && sums_correctly(asp::pthreads::runtime()) && runners.size() == 2;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
