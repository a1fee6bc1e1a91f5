/* The kernels of the native CG program on the host (plugin.cpp cg_program):
 * SciPy's unpreconditioned CG loop in three fused passes over the vectors
 * per step, each pass one parallel loop over the row chunks rows[c] ..
 * rows[c + 1] (the spmv kernel's chunks, so a thread touches the same rows
 * in every pass). The plugin compiles this file once per kernel, CG_KERNEL
 * choosing which:
 *   0 cg_init:      r = b - A x; rr = r.r
 *   1 cg_direction: p = r (first step) or p = r + beta p, beta = rr / rho_prev
 *   2 cg_spmv_dot:  q = A p; alpha = rr / p.q (breakdown when not finite)
 *   3 cg_update:    x += alpha p; r -= alpha q; rr = r.r; one step done
 * Reductions are deterministic: each chunk sums its rows in order into
 * part[c] (in double), and the calling thread adds the parts in chunk order
 * after the parallel loop, so a result depends on the chunks (the plan), not
 * on which thread ran which chunk. Each element operation is SciPy's
 * (p *= beta; p += r; x += alpha*p; r -= alpha*q) without contraction
 * (akx_cpu.h), so the iterates are SciPy's up to the order of the dot
 * products' sums.
 *
 * state (f64[8]) is the loop's scalars, read by the program's conditions:
 *   [0] rr  [1] sqrt(rr)  [2] rho_prev  [3] alpha  [4] breakdown (0 or 1)
 *   [5] steps done  [6] first (1: the next direction is p = r)
 * Parameters: the matrix (AKX_MATRIX_ARGS), rows (chunks + 1) i64, b, x, r,
 * p, q (n) real, state f64[8], part f64[chunks + 1], n, the matrix's sizes
 * (AKX_SIZE_ARGS), cp1 (chunks + 1). */
#include <math.h>

enum { CG_RR, CG_RNORM, CG_RHO_PREV, CG_ALPHA, CG_BREAKDOWN, CG_DONE, CG_FIRST };

struct cg_job {
  struct akx_matrix a;
  const int64_t* rows;
  const real* b;
  real* x;
  real* r;
  real* p;
  real* q;
  double* state;
  double* part;
  real alpha, beta;
  int first;
};

static void cg_chunk(void* context, int64_t begin, int64_t end) {
  const struct cg_job* job = (const struct cg_job*)context;
  for (int64_t c = begin; c < end; ++c) {
    const int64_t lo = job->rows[c], hi = job->rows[c + 1];
    double sum = 0;
#if CG_KERNEL == 0
    /* -(A x)_i + b_i: SciPy's b - A @ x, exactly */
    akx_matrix_step(&job->a, job->x, job->b, job->r, lo, hi, -1, 0, 1);
    for (int64_t i = lo; i < hi; ++i) sum += (double)job->r[i] * (double)job->r[i];
#elif CG_KERNEL == 1
    if (job->first) {
      for (int64_t i = lo; i < hi; ++i) job->p[i] = job->r[i];
    } else {
      const real beta = job->beta;
      for (int64_t i = lo; i < hi; ++i) job->p[i] = job->p[i] * beta + job->r[i];
    }
#elif CG_KERNEL == 2
    akx_matrix_step(&job->a, job->p, job->p, job->q, lo, hi, 1, 0, 0);
    for (int64_t i = lo; i < hi; ++i) sum += (double)job->p[i] * (double)job->q[i];
#else
    const real alpha = job->alpha;
    real* x = job->x;
    real* r = job->r;
    const real* p = job->p;
    const real* q = job->q;
    for (int64_t i = lo; i < hi; ++i) {
      x[i] += alpha * p[i];
      const real ri = r[i] - alpha * q[i];
      r[i] = ri;
      sum += (double)ri * (double)ri;
    }
#endif
    job->part[c] = sum;
  }
}

int ASP_VARIANT(void* const* args) {
  enum { M = AKX_MATRIX_ARGS, N = M + 8, CP1 = N + AKX_SIZE_ARGS + 1 };
  double* state = (double*)args[M + 6];
  const int64_t chunks = *(const int64_t*)args[CP1] - 1;
  struct cg_job job = {akx_matrix_of(args, N), (const int64_t*)args[M], (const real*)args[M + 1], (real*)args[M + 2],
                       (real*)args[M + 3], (real*)args[M + 4], (real*)args[M + 5], state, (double*)args[M + 7],
                       (real)state[CG_ALPHA], 0, state[CG_FIRST] != 0};
#if CG_KERNEL == 1
  if (!job.first) job.beta = (real)(state[CG_RR] / state[CG_RHO_PREV]);
#endif
  asp_cpu_parallel(chunks, cg_chunk, (void*)&job);
  double total = 0;
  for (int64_t c = 0; c < chunks; ++c) total += job.part[c];
#if CG_KERNEL == 0 || CG_KERNEL == 3
  state[CG_RR] = total;
  state[CG_RNORM] = sqrt(total);
#if CG_KERNEL == 3
  state[CG_DONE] += 1;
#endif
#elif CG_KERNEL == 1
  state[CG_RHO_PREV] = state[CG_RR];
  state[CG_FIRST] = 0;
#else
  const double alpha = state[CG_RR] / total;
  if (total == 0 || !isfinite(alpha)) {
    state[CG_BREAKDOWN] = 1;
  } else {
    state[CG_ALPHA] = alpha;
  }
#endif
  return 0;
}
