// <asp/cpu_kernel.h>, the threads of hand-written C kernel sources, repeats
// the layout of the pthreads backend's runtime table: the two must agree, and
// a module given the pool runs its chunks on it.
#include "thread_pool.hpp"

extern "C" {
#include <asp/cpu_kernel.h>
}

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <vector>

namespace {

TEST(CpuKernel, RuntimeTableLayoutIsThePthreadsBackends) {
  EXPECT_EQ(sizeof(asp_cpu_runtime), sizeof(asp_pthreads_runtime));
  EXPECT_EQ(offsetof(asp_cpu_runtime, pool), offsetof(asp_pthreads_runtime, pool));
  EXPECT_EQ(offsetof(asp_cpu_runtime, parallel_for), offsetof(asp_pthreads_runtime, parallel_for));
  EXPECT_EQ(offsetof(asp_cpu_runtime, lock), offsetof(asp_pthreads_runtime, lock));
  EXPECT_EQ(offsetof(asp_cpu_runtime, unlock), offsetof(asp_pthreads_runtime, unlock));
  EXPECT_EQ(offsetof(asp_cpu_runtime, threads), offsetof(asp_pthreads_runtime, threads));
}

void count(void* context, std::int64_t begin, std::int64_t end) {
  auto* seen = static_cast<std::vector<std::atomic<int>>*>(context);
  for (std::int64_t c = begin; c < end; ++c) ++(*seen)[static_cast<std::size_t>(c)];
}

TEST(CpuKernel, ChunksRunOnceEachWithOrWithoutThePool) {
  for (const bool pool : {false, true}) {
    asp_runtime_init(pool ? asp::pthreads::runtime() : nullptr);
    EXPECT_EQ(asp_cpu_threads(), pool ? asp::pthreads::runtime()->threads : 1);
    std::vector<std::atomic<int>> seen(37);
    asp_cpu_parallel(37, count, &seen);
    for (const auto& s : seen) EXPECT_EQ(s.load(), 1);
  }
  // A table from an older host (too small) is ignored: chunks run on the caller.
  asp_pthreads_runtime old = *asp::pthreads::runtime();
  old.struct_size = offsetof(asp_pthreads_runtime, threads);
  asp_runtime_init(&old);
  EXPECT_EQ(asp_cpu_threads(), 1);
  asp_runtime_init(nullptr);
}

}  // namespace
