// The pthreads runtime's per-call overhead: what an empty parallel_for costs
// on the process-wide pool, with the workers awake (back-to-back calls, as in
// a Python loop over a kernel) and asleep (calls further apart than their
// spin), against a loop that runs inline.
#include "thread_pool.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <thread>

namespace {

using asp::pthreads::ThreadPool;

void empty(void*, std::int64_t, std::int64_t) {}

// Back-to-back calls over one iteration per thread.
void BM_EmptyParallelFor(benchmark::State& state, asp_schedule schedule) {
  ThreadPool& pool = ThreadPool::instance();
  for (auto _ : state) pool.parallel_for(0, pool.threads(), 1, schedule, empty, nullptr);
  state.SetLabel(std::to_string(pool.threads()) + " threads; " + pool.pinning());
}
BENCHMARK_CAPTURE(BM_EmptyParallelFor, static, ASP_SCHEDULE_STATIC);
BENCHMARK_CAPTURE(BM_EmptyParallelFor, dynamic, ASP_SCHEDULE_DYNAMIC);

// Each call preceded by a pause longer than the workers' spin, so they are
// asleep on the condition variable when it starts.
void BM_EmptyParallelForWorkersAsleep(benchmark::State& state) {
  ThreadPool& pool = ThreadPool::instance();
  for (auto _ : state) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(0, pool.threads(), 1, ASP_SCHEDULE_STATIC, empty, nullptr);
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetLabel(std::to_string(pool.threads()) + " threads");
}
BENCHMARK(BM_EmptyParallelForWorkersAsleep)->UseManualTime()->Iterations(2000);

// A single iteration never wakes the workers: the floor of a call.
void BM_EmptyParallelForInline(benchmark::State& state) {
  ThreadPool& pool = ThreadPool::instance();
  for (auto _ : state) pool.parallel_for(0, 1, 1, ASP_SCHEDULE_STATIC, empty, nullptr);
}
BENCHMARK(BM_EmptyParallelForInline);

}  // namespace
