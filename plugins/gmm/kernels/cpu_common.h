/* Shared by the GMM plugin's hand-written CPU kernels (languages "c" and, on
 * the openmp backend, compiled with OpenMP). Prepended to each kernel's
 * source; the core puts the ASP_VARIANT and template-parameter #defines
 * before it, the plugin `#define REAL double` or `float`; params_common.h
 * (the covariance types, the layout check) follows it.
 *
 * EM on a feature map (DESIGN.md §12, plugins/gmm/README.md): for events x
 * (centred by `shift`), the features z(x) are
 *     full, tied:  [1, x_0..x_{D-1}, x_i x_j for i <= j]   K = 1 + D + D(D+1)/2
 *     diag:        [1, x_0..x_{D-1}, x_0^2..x_{D-1}^2]       K = 1 + 2D
 *     spherical:   [1, x_0..x_{D-1}, |x|^2]                  K = 2 + D
 * so that every component's weighted log-density is one dot product
 * log(w_m) + log N(x | mu_m, Sigma_m) = z(x) . W[:, m], and the E-step of a
 * block of events is the GEMM Z W. The M-step's sufficient statistics
 * (sum r, sum r x, sum r x x^T) are the GEMM Z^T R with the responsibilities
 * R: both are computed in one pass over the events, from one Z per block. */
#pragma STDC FP_CONTRACT ON
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef REAL real;
/* How the shared text (params_common.h, update_common.h) declares its functions. */
#define GMM_FN static inline

/* The address space of the kernels' buffers in the text shared with the
 * OpenCL kernels (params_common.h, update_common.h): none in C. */
#define GMM_GLOBAL

/* ---- parallel chunks ----------------------------------------------------
 * On the openmp backend, OpenMP. On the pthreads backend, its pool, which
 * the core hands to asp_runtime_init (the layout of
 * backends/pthreads/pthreads_runtime.h, repeated: this source cannot include
 * a backend's header). Anywhere else, one chunk on the calling thread. */
struct gmm_pthreads_runtime {
  size_t struct_size;
  void* pool;
  void (*parallel_for)(void* pool, int64_t begin, int64_t end, int64_t step, int schedule,
                       void (*body)(void*, int64_t, int64_t), void* context);
  void (*lock)(void* pool);
  void (*unlock)(void* pool);
  int threads;
};
static const struct gmm_pthreads_runtime* gmm_runtime;

void asp_runtime_init(const void* runtime) {
  const struct gmm_pthreads_runtime* r = (const struct gmm_pthreads_runtime*)runtime;
  gmm_runtime = r && r->struct_size >= sizeof(struct gmm_pthreads_runtime) && r->parallel_for ? r : NULL;
}

static inline int64_t gmm_threads(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return gmm_runtime ? gmm_runtime->threads : 1;
#endif
}

/* Runs body(context, c, c + 1) for each chunk c in [0, chunks), in parallel. */
static inline void gmm_parallel(int64_t chunks, void (*body)(void*, int64_t, int64_t), void* context) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) body(context, c, c + 1);
#else
  if (gmm_runtime && chunks > 1) {
    gmm_runtime->parallel_for(gmm_runtime->pool, 0, chunks, 1, 0, body, context);
  } else {
    body(context, 0, chunks);
  }
#endif
}
