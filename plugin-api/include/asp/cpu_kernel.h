/* The threads of the CPU backends, for hand-written C kernel sources
 * (kernel-source components of language "c", DESIGN.md §4): a plugin puts
 * this text before its kernels (asp_embed_sources makes it a string).
 *
 * On the openmp backend (compiled with -fopenmp): OpenMP. On the pthreads
 * backend: its persistent pool, which the core hands to each loaded module
 * through the module's exported asp_runtime_init (the table's layout is
 * struct asp_pthreads_runtime of backends/pthreads/pthreads_runtime.h,
 * repeated because a kernel module cannot include a backend's header; a test
 * compiles both and compares them). Anywhere else: one chunk on the calling
 * thread. Define it once per kernel source: it defines asp_runtime_init. */
#ifndef ASP_CPU_KERNEL_H
#define ASP_CPU_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct asp_cpu_runtime {
  size_t struct_size;
  void* pool;
  void (*parallel_for)(void* pool, int64_t begin, int64_t end, int64_t step, int schedule,
                       void (*body)(void*, int64_t, int64_t), void* context);
  void (*lock)(void* pool);
  void (*unlock)(void* pool);
  int threads;
};
static const struct asp_cpu_runtime* asp_cpu_runtime_table;

void asp_runtime_init(const void* runtime) {
  const struct asp_cpu_runtime* r = (const struct asp_cpu_runtime*)runtime;
  asp_cpu_runtime_table = r && r->struct_size >= sizeof(struct asp_cpu_runtime) && r->parallel_for ? r : NULL;
}

/* How many threads asp_cpu_parallel runs chunks on. */
static inline int64_t asp_cpu_threads(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return asp_cpu_runtime_table ? asp_cpu_runtime_table->threads : 1;
#endif
}

/* Runs body(context, c, c + 1) for each chunk c in [0, chunks), in parallel. */
static inline void asp_cpu_parallel(int64_t chunks, void (*body)(void*, int64_t, int64_t), void* context) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) body(context, c, c + 1);
#else
  if (asp_cpu_runtime_table && chunks > 1) {
    asp_cpu_runtime_table->parallel_for(asp_cpu_runtime_table->pool, 0, chunks, 1, 0, body, context);
  } else {
    body(context, 0, chunks);
  }
#endif
}

#endif
