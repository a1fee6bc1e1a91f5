#include "thread_pool.hpp"

#include <hwloc.h>
#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

namespace asp::pthreads {

namespace {

// Set on a thread while it runs chunks (for a worker: always): a parallel_for
// from there runs inline, since nesting would wait on the pool it occupies.
thread_local bool in_region = false;

class Region {
 public:
  Region() : outer_(in_region) { in_region = true; }
  ~Region() { in_region = outer_; }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

 private:
  bool outer_;
};

// Bumped in the child of every fork: a pool started before it has no workers
// there, and its mutexes are copies that another thread may have held.
std::atomic<unsigned> fork_generation{0};
void note_fork() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

// The backend links only the plugin API, not the core's logger; this matches
// its format. One fwrite keeps lines from concurrent threads whole.
void warn(const std::string& message) {
  const std::string line = "asp: warning: [pthreads] " + message + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string error_text(const char* what, int error) {
  // std::generic_category, unlike strerror, is safe from several threads at once.
  return std::string(what) + ": " + std::generic_category().message(error);
}

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Long enough that back-to-back loops of a Python program (microseconds
// apart) find the workers awake, short enough to steal no measurable CPU
// between kernel calls.
constexpr std::chrono::microseconds spin_budget{50};

// Polls ready() for up to `budget`; whether it became true.
template <class Ready>
bool spin_until(Ready ready, std::chrono::nanoseconds budget) noexcept {
  if (budget.count() == 0) return ready();
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (;;) {
    // Reading the clock only every 64 polls keeps it out of the wake-up latency.
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
    // The unpinned caller may share a PU with a pinned worker: without
    // yielding, the one spinning there would keep the other, which it waits
    // for, off the PU for the whole budget.
    std::this_thread::yield();
  }
}

std::uint64_t iterations_of(std::int64_t begin, std::int64_t end, std::int64_t step) {
  // Unsigned: end - begin may exceed INT64_MAX.
  const std::uint64_t span = static_cast<std::uint64_t>(end) - static_cast<std::uint64_t>(begin);
  const auto stride = static_cast<std::uint64_t>(step);
  return span / stride + (span % stride != 0 ? 1 : 0);
}

struct TopologyDeleter {
  void operator()(hwloc_topology* topology) const { hwloc_topology_destroy(topology); }
};
struct BitmapDeleter {
  void operator()(hwloc_bitmap_s* bitmap) const { hwloc_bitmap_free(bitmap); }
};
using Topology = std::unique_ptr<hwloc_topology, TopologyDeleter>;
using Bitmap = std::unique_ptr<hwloc_bitmap_s, BitmapDeleter>;

void parallel_for_entry(void* pool, std::int64_t begin, std::int64_t end, std::int64_t step, int schedule,
                        asp_chunk_fn body, void* context) noexcept {
  // Any value but dynamic runs static: both visit every index exactly once,
  // so a stray value costs balance, never correctness.
  const asp_schedule chosen = schedule == ASP_SCHEDULE_DYNAMIC ? ASP_SCHEDULE_DYNAMIC : ASP_SCHEDULE_STATIC;
  static_cast<ThreadPool*>(pool)->parallel_for(begin, end, step, chosen, body, context);
}
void lock_entry(void* pool) noexcept { static_cast<ThreadPool*>(pool)->lock(); }
void unlock_entry(void* pool) noexcept { static_cast<ThreadPool*>(pool)->unlock(); }

}  // namespace

// The PUs the workers are bound to, or why there are none.
struct ThreadPool::Placement {
  Topology topology;
  std::vector<hwloc_obj_t> pus;  // in the order shares take them
  std::string problem;

  static Placement probe();

  // Binds the calling thread to the PU of `share` (modulo the PUs); the error, or empty.
  std::string bind(std::size_t share) const {
    const hwloc_obj_t pu = pus[share % pus.size()];
    if (hwloc_set_cpubind(topology.get(), pu->cpuset, HWLOC_CPUBIND_THREAD) == 0) return {};
    return error_text("hwloc_set_cpubind failed", errno);
  }

  std::size_t hardware_threads() const {
    return pus.empty() ? std::max(std::thread::hardware_concurrency(), 1u) : pus.size();
  }
};

ThreadPool::Placement ThreadPool::Placement::probe() {
  Placement placement;
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    placement.problem = error_text("hwloc_topology_init failed", errno);
    return placement;
  }
  placement.topology.reset(raw);
  if (hwloc_topology_load(raw) != 0) {
    placement.problem = error_text("hwloc_topology_load failed", errno);
    return placement;
  }
  // The topology holds the PUs the process may use (cgroups); its binding
  // (taskset, a launcher) narrows them further, as it does for OpenMP. When
  // the binding cannot be read, every allowed PU is used.
  Bitmap usable(hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(raw)));
  Bitmap bound(hwloc_bitmap_alloc());
  if (!usable || !bound) throw std::bad_alloc();
  if (hwloc_get_cpubind(raw, bound.get(), HWLOC_CPUBIND_PROCESS) == 0 &&
      hwloc_bitmap_intersects(usable.get(), bound.get())) {
    hwloc_bitmap_and(usable.get(), usable.get(), bound.get());
  }
  // The first PU of every core, then the second of every core, and so on: a
  // pool smaller than the machine then spreads over cores rather than sharing
  // them. With one PU per core this is hwloc's logical order.
  std::map<hwloc_obj_t, unsigned> taken_on_core;
  std::vector<std::pair<unsigned, hwloc_obj_t>> ranked;
  for (hwloc_obj_t pu = hwloc_get_next_obj_inside_cpuset_by_type(raw, usable.get(), HWLOC_OBJ_PU, nullptr); pu;
       pu = hwloc_get_next_obj_inside_cpuset_by_type(raw, usable.get(), HWLOC_OBJ_PU, pu)) {
    const hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(raw, HWLOC_OBJ_CORE, pu);
    ranked.emplace_back(taken_on_core[core]++, pu);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [rank, pu] : ranked) placement.pus.push_back(pu);
  if (placement.pus.empty()) placement.problem = "hwloc sees no PU this process may run on";
  return placement;
}

ThreadCount choose_thread_count(int hardware_threads, const char* requested) {
  ThreadCount count;
  count.threads = std::max(hardware_threads, 1);
  if (requested == nullptr) return count;
  const std::string_view text(requested);
  int value = 0;
  const char* const last = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), last, value);
  if (!text.empty() && error == std::errc() && stop == last && value >= 1 && value <= max_threads) {
    count.threads = value;
    return count;
  }
  count.warning = "ignoring ASP_NUM_THREADS=\"" + std::string(text) + "\": not a positive integer up to " +
                  std::to_string(max_threads) + "; using " + std::to_string(count.threads) + " threads";
  return count;
}

ThreadPool& ThreadPool::instance() {
  // Allocated and never destroyed: a static destructor would have to wake and
  // join the workers at exit, which deadlocks when exit() runs inside a chunk
  // or while another thread is in parallel_for, and destroying the mutexes
  // under sleeping workers is undefined. Left alone, the workers sleep until
  // the process ends; the library holding their code is never unloaded
  // (DESIGN.md §4).
  static ThreadPool* const pool = [] {
    const Placement placement = Placement::probe();
    const ThreadCount count =
        choose_thread_count(static_cast<int>(placement.hardware_threads()), std::getenv("ASP_NUM_THREADS"));
    if (!count.warning.empty()) warn(count.warning);
    return new ThreadPool(count.threads, placement);
  }();
  return *pool;
}

ThreadPool::ThreadPool(int threads) : ThreadPool(threads, Placement::probe()) {}

ThreadPool::ThreadPool(int threads, const Placement& placement)
    : fork_generation_(fork_generation.load(std::memory_order_relaxed)) {
  if (threads < 1) throw std::invalid_argument("a thread pool needs at least 1 thread, not " + std::to_string(threads));
  static const int atfork = pthread_atfork(nullptr, nullptr, note_fork);
  if (atfork != 0) throw std::system_error(atfork, std::generic_category(), "pthread_atfork");
  // More threads than PUs: a spinning thread would keep the one it waits for off its PU.
  if (static_cast<std::size_t>(threads) <= placement.hardware_threads()) spin_ = spin_budget;

  const int wanted = threads - 1;
  bind_errors_.resize(static_cast<std::size_t>(wanted));
  workers_.reserve(static_cast<std::size_t>(wanted));
  pending_.store(wanted, std::memory_order_relaxed);
  for (int worker = 0; worker < wanted; ++worker) {
    try {
      workers_.emplace_back([this, worker, &placement] { work(worker, placement); });
    } catch (const std::system_error& error) {
      warn("could not start worker thread " + std::to_string(worker + 1) + " of " + std::to_string(wanted) + ": " +
           error.what() + "; running with " + std::to_string(worker + 1) + " threads");
      pending_.fetch_sub(wanted - worker, std::memory_order_relaxed);
      break;
    }
  }
  // Start-up is the workers' first job: `placement` must outlive their binding.
  await_workers();

  const std::size_t started = workers_.size();
  if (started == 0) {
    pinning_ = "no worker threads to pin (1 thread: the caller)";
    return;
  }
  if (!placement.problem.empty()) {
    pinning_ = "workers unpinned: " + placement.problem;
    return;
  }
  std::size_t failed = 0;
  std::string first_failure;
  for (std::size_t w = 0; w < started; ++w) {
    if (bind_errors_[w].empty()) continue;
    if (failed++ == 0) {
      first_failure = "worker " + std::to_string(w + 1) + " to PU " +
                      std::to_string(placement.pus[(w + 1) % placement.pus.size()]->os_index) + ": " + bind_errors_[w];
    }
  }
  if (failed != 0) {
    pinning_ = std::to_string(failed) + " of " + std::to_string(started) + " workers unpinned (" + first_failure + ")";
    return;
  }
  pinned_ = true;
  constexpr std::size_t listed = 16;
  pinning_ = std::to_string(started) + (started == 1 ? " worker pinned to PU " : " workers pinned to PUs ");
  for (std::size_t w = 0; w < std::min(started, listed); ++w) {
    if (w != 0) pinning_ += ", ";
    pinning_ += std::to_string(placement.pus[(w + 1) % placement.pus.size()]->os_index);
  }
  if (started > listed) pinning_ += ", ... (" + std::to_string(started - listed) + " more)";
  pinning_ += started == 1 ? " (OS index)" : " (OS indices)";
  pinning_ += "; the calling thread is not pinned";
}

ThreadPool::~ThreadPool() {
  if (forked()) {
    // The workers did not survive the fork: there is nothing to wake or join.
    for (std::thread& worker : workers_) worker.detach();
    return;
  }
  {
    std::lock_guard lock(wake_mutex_);
    stopping_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

bool ThreadPool::forked() const noexcept {
  return fork_generation.load(std::memory_order_relaxed) != fork_generation_;
}

void ThreadPool::parallel_for(std::int64_t begin, std::int64_t end, std::int64_t step, asp_schedule schedule,
                              asp_chunk_fn body, void* context) noexcept {
  if (end <= begin) return;
  if (!in_region && !workers_.empty() && step >= 1 && !forked()) {
    const std::uint64_t iterations = iterations_of(begin, end, step);
    std::unique_lock call(call_mutex_, std::defer_lock);
    if (iterations >= 2 && call.try_lock()) {
      Region region;
      job_.begin = begin;
      job_.end = end;
      job_.step = step;
      job_.iterations = iterations;
      job_.schedule = schedule;
      job_.chunk = std::max<std::uint64_t>(1, iterations / (static_cast<std::uint64_t>(threads()) * 8));
      job_.chunks = iterations / job_.chunk + (iterations % job_.chunk != 0 ? 1 : 0);
      job_.body = body;
      job_.context = context;
      next_chunk_.store(0, std::memory_order_relaxed);
      pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
      {
        std::lock_guard lock(wake_mutex_);
        generation_.fetch_add(1, std::memory_order_release);
      }
      wake_cv_.notify_all();
      run_share(0);
      await_workers();
      return;
    }
  }
  Region region;
  body(context, begin, end);
}

void ThreadPool::lock() noexcept {
  if (!forked()) reduction_mutex_.lock();
}

void ThreadPool::unlock() noexcept {
  if (!forked()) reduction_mutex_.unlock();
}

void ThreadPool::work(int worker, const Placement& placement) noexcept {
  in_region = true;
  if (placement.problem.empty()) bind_errors_[static_cast<std::size_t>(worker)] = placement.bind(worker + 1);
  finish_share();
  for (std::uint64_t seen = 0;;) {
    seen = await_generation(seen);
    if (stopping_.load(std::memory_order_relaxed)) return;
    run_share(worker + 1);
    finish_share();
  }
}

std::uint64_t ThreadPool::await_generation(std::uint64_t seen) noexcept {
  std::uint64_t current = seen;
  const auto moved = [&] {
    current = generation_.load(std::memory_order_acquire);
    return current != seen;
  };
  if (spin_until(moved, spin_)) return current;
  std::unique_lock lock(wake_mutex_);
  wake_cv_.wait(lock, moved);
  return current;
}

void ThreadPool::run_share(int thread) noexcept {
  const Job& job = job_;
  if (job.schedule == ASP_SCHEDULE_STATIC) {
    const auto shares = static_cast<std::uint64_t>(threads());
    const auto share = static_cast<std::uint64_t>(thread);
    const std::uint64_t base = job.iterations / shares;
    const std::uint64_t extra = job.iterations % shares;  // the first `extra` shares take one more
    const std::uint64_t first = share * base + std::min(share, extra);
    const std::uint64_t count = base + (share < extra ? 1 : 0);
    if (count != 0) job.body(job.context, index(first), index(first + count));
    return;
  }
  for (;;) {
    const std::uint64_t chunk = next_chunk_.fetch_add(1, std::memory_order_relaxed);
    if (chunk >= job.chunks) return;
    const std::uint64_t first = chunk * job.chunk;
    job.body(job.context, index(first), index(first + std::min(job.chunk, job.iterations - first)));
  }
}

void ThreadPool::finish_share() noexcept {
  if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // The caller checks pending_ under done_mutex_ before it sleeps; taking the
  // mutex here puts this wake-up after that check, so it cannot be lost.
  { std::lock_guard lock(done_mutex_); }
  done_cv_.notify_one();
}

void ThreadPool::await_workers() noexcept {
  const auto done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  if (spin_until(done, spin_)) return;
  std::unique_lock lock(done_mutex_);
  done_cv_.wait(lock, done);
}

std::int64_t ThreadPool::index(std::uint64_t offset) const noexcept {
  if (offset >= job_.iterations) return job_.end;
  // Below `iterations`, begin + offset * step lies in [begin, end): the
  // unsigned sum wraps back into range exactly.
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(job_.begin) +
                                   offset * static_cast<std::uint64_t>(job_.step));
}

const asp_pthreads_runtime* runtime() {
  static const asp_pthreads_runtime table = [] {
    ThreadPool& pool = ThreadPool::instance();
    asp_pthreads_runtime entries{};
    entries.struct_size = sizeof entries;
    entries.pool = &pool;
    entries.parallel_for = parallel_for_entry;
    entries.lock = lock_entry;
    entries.unlock = unlock_entry;
    entries.threads = pool.threads();
    return entries;
  }();
  return &table;
}

}  // namespace asp::pthreads
