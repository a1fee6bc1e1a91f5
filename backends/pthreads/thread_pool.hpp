// The persistent thread pool behind the pthreads backend's runtime table
// (pthreads_runtime.h): its workers are created once, pinned with hwloc, and
// woken for each parallel loop, so a kernel call costs a wake-up, not a
// thread creation.
#pragma once

#include "pthreads_runtime.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace asp::pthreads {

// ASP_NUM_THREADS above this is a typo rather than a machine: refusing it
// avoids trying to start millions of threads.
inline constexpr int max_threads = 4096;

struct ThreadCount {
  int threads = 1;
  std::string warning;  // why the requested count was ignored; empty when it was used or absent
};

// The number of threads a pool should use: `hardware_threads`, unless
// `requested` (ASP_NUM_THREADS's value, null when unset) is a positive decimal
// integer up to max_threads.
ThreadCount choose_thread_count(int hardware_threads, const char* requested);

class ThreadPool {
 public:
  // The process-wide pool, created on first use with as many threads as hwloc
  // sees PUs in the process's allowed cpuset, or ASP_NUM_THREADS.
  static ThreadPool& instance();

  // A pool of `threads` threads in all: whichever thread calls parallel_for,
  // plus threads - 1 workers, worker w pinned to the PU of share w + 1 (one
  // PU per core first, then the cores' further hardware threads; wrapping
  // around when there are more threads than PUs). Throws
  // std::invalid_argument when threads < 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Workers actually started plus the caller (fewer than asked for only when
  // the system refused a thread, which is reported on stderr).
  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Whether every worker is bound to its PU.
  bool pinned() const { return pinned_; }
  // Where the workers run, or why they are not pinned, for reports.
  const std::string& pinning() const { return pinning_; }

  // Runs body(context, b, e) over [begin, end) split into chunks whose bounds
  // are begin plus multiples of step, and returns when all have run. Static:
  // one contiguous chunk per thread; dynamic: chunks of
  // max(1, iterations / (threads * 8)) handed out on demand. Runs the whole
  // range as one chunk on the calling thread when called from inside a chunk,
  // while another thread is using the pool, in a child forked after the pool
  // started (its workers did not survive the fork), for a single iteration,
  // and when step < 1 (there is no way to split it).
  void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t step, asp_schedule schedule,
                    asp_chunk_fn body, void* context) noexcept;

  // Serialise the combination of reduction partial results. In a forked child
  // every loop is a single chunk, and the mutex may have been copied locked,
  // so they do nothing there.
  void lock() noexcept;
  void unlock() noexcept;

 private:
  struct Placement;
  struct Job {
    std::int64_t begin = 0;
    std::int64_t end = 0;
    std::int64_t step = 1;
    std::uint64_t iterations = 0;
    asp_schedule schedule = ASP_SCHEDULE_STATIC;
    std::uint64_t chunk = 1;   // iterations per dynamic chunk
    std::uint64_t chunks = 0;  // dynamic chunks in all
    asp_chunk_fn body = nullptr;
    void* context = nullptr;
  };

  ThreadPool(int threads, const Placement& placement);
  bool forked() const noexcept;
  void work(int worker, const Placement& placement) noexcept;
  std::uint64_t await_generation(std::uint64_t seen) noexcept;
  void run_share(int thread) noexcept;
  void finish_share() noexcept;
  void await_workers() noexcept;
  std::int64_t index(std::uint64_t offset) const noexcept;

  std::vector<std::thread> workers_;
  std::vector<std::string> bind_errors_;  // per worker, written once at start-up
  bool pinned_ = false;
  std::string pinning_;
  std::chrono::nanoseconds spin_{0};  // how long a waiting thread polls before sleeping
  unsigned fork_generation_;

  std::mutex call_mutex_;       // held by the thread whose loop the workers run
  std::mutex reduction_mutex_;  // lock() / unlock()
  Job job_;                     // written before generation_ is bumped, read after it is seen

  // Start: workers spin, then sleep, until generation_ moves past the last one they ran.
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  alignas(64) std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  // Dynamic chunks: the next chunk to hand out.
  alignas(64) std::atomic<std::uint64_t> next_chunk_{0};
  // Completion: workers that have not finished the current job (or start-up).
  alignas(64) std::atomic<int> pending_{0};
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
};

// The table generated code calls, for the process-wide pool.
const asp_pthreads_runtime* runtime();

}  // namespace asp::pthreads
