/* The kernels of the native CG program on the host (plugin.cpp cg_program):
 * SciPy's CG loop, unpreconditioned or with a diagonal (Jacobi)
 * preconditioner z = d r, in three fused passes over the vectors
 * per step, each pass one parallel loop over the row chunks rows[c] ..
 * rows[c + 1] (the spmv kernel's chunks, so a thread touches the same rows
 * in every pass). The plugin compiles this file once per kernel, CG_KERNEL
 * choosing which:
 *   0 cg_init:      r = b - A x; rr = r.r, rz = r.z
 *   1 cg_direction: p = z (first step) or p = z + beta p, beta = rz / rho_prev
 *   2 cg_spmv_dot:  q = A p; alpha = rz / p.q (breakdown when not finite)
 *   3 cg_update:    x += alpha p; r -= alpha q; rr = r.r, rz = r.z; one step done
 * z = r without the preconditioner (then rz is rr), else z_i = d_i r_i, the
 * product SciPy's psolve (M @ r for a diagonal M) computes, recomputed where
 * it is needed instead of stored.
 * Reductions are deterministic: each chunk sums its rows in order into
 * part[c] (in double), and the calling thread adds the parts in chunk order
 * after the parallel loop, so a result depends on the chunks (the plan), not
 * on which thread ran which chunk. Each element operation is SciPy's
 * (p *= beta; p += z; x += alpha*p; r -= alpha*q) without contraction
 * (akx_cpu.h), so the iterates are SciPy's up to the order of the dot
 * products' sums.
 *
 * state (f64[9]) is the loop's scalars, read by the program's conditions:
 *   [0] rr  [1] sqrt(rr)  [2] rho_prev  [3] alpha  [4] breakdown (0 or 1)
 *   [5] steps done  [6] first (1: the next direction is p = z)  [7] rz
 *   [8] preconditioned (1: z = d r)
 * Parameters: the matrix (AKX_MATRIX_ARGS), rows (chunks + 1) i64, b, x, r,
 * p, q, d (n) real, state f64[9], part f64[2, chunks + 1] (each chunk's rr
 * and rz), n, the matrix's sizes (AKX_SIZE_ARGS), cp1 (chunks + 1). */
#include <math.h>

enum { CG_RR, CG_RNORM, CG_RHO_PREV, CG_ALPHA, CG_BREAKDOWN, CG_DONE, CG_FIRST, CG_RZ, CG_JACOBI };

struct cg_job {
  struct akx_matrix a;
  const int64_t* rows;
  const real* b;
  real* x;
  real* r;
  real* p;
  real* q;
  const real* d;  /* the preconditioner's diagonal, or NULL */
  double* part;
  int64_t cp1;
  real alpha, beta;
  int first;
};

static void cg_chunk(void* context, int64_t begin, int64_t end) {
  const struct cg_job* job = (const struct cg_job*)context;
  for (int64_t c = begin; c < end; ++c) {
    const int64_t lo = job->rows[c], hi = job->rows[c + 1];
    const real* d = job->d;
    (void)d;  /* the SpMV pass does not need it */
    double sum = 0, rz = 0;
#if CG_KERNEL == 0
    /* -(A x)_i + b_i: SciPy's b - A @ x, exactly */
    akx_matrix_step(&job->a, job->x, job->b, job->r, lo, hi, -1, 0, 1);
    const real* r = job->r;
    for (int64_t i = lo; i < hi; ++i) sum += (double)r[i] * (double)r[i];
    if (d) {
      for (int64_t i = lo; i < hi; ++i) rz += (double)r[i] * (double)(d[i] * r[i]);
    }
#elif CG_KERNEL == 1
    const real* r = job->r;
    real* p = job->p;
    if (job->first && d) {
      for (int64_t i = lo; i < hi; ++i) p[i] = d[i] * r[i];
    } else if (job->first) {
      for (int64_t i = lo; i < hi; ++i) p[i] = r[i];
    } else if (d) {
      const real beta = job->beta;
      for (int64_t i = lo; i < hi; ++i) p[i] = p[i] * beta + d[i] * r[i];
    } else {
      const real beta = job->beta;
      for (int64_t i = lo; i < hi; ++i) p[i] = p[i] * beta + r[i];
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
    if (d) {
      for (int64_t i = lo; i < hi; ++i) {
        x[i] += alpha * p[i];
        const real ri = r[i] - alpha * q[i];
        r[i] = ri;
        sum += (double)ri * (double)ri;
        rz += (double)ri * (double)(d[i] * ri);
      }
    } else {
      for (int64_t i = lo; i < hi; ++i) {
        x[i] += alpha * p[i];
        const real ri = r[i] - alpha * q[i];
        r[i] = ri;
        sum += (double)ri * (double)ri;
      }
    }
#endif
    job->part[c] = sum;
    job->part[job->cp1 + c] = rz;
  }
}

int ASP_VARIANT(void* const* args) {
  enum { M = AKX_MATRIX_ARGS, N = M + 9, CP1 = N + AKX_SIZE_ARGS + 1 };
  double* state = (double*)args[M + 7];
  const int64_t cp1 = *(const int64_t*)args[CP1], chunks = cp1 - 1;
  struct cg_job job = {akx_matrix_of(args, N), (const int64_t*)args[M], (const real*)args[M + 1], (real*)args[M + 2],
                       (real*)args[M + 3], (real*)args[M + 4], (real*)args[M + 5],
                       state[CG_JACOBI] != 0 ? (const real*)args[M + 6] : NULL, (double*)args[M + 8], cp1,
                       (real)state[CG_ALPHA], 0, state[CG_FIRST] != 0};
#if CG_KERNEL == 1
  if (!job.first) job.beta = (real)(state[CG_RZ] / state[CG_RHO_PREV]);
#endif
  asp_cpu_parallel(chunks, cg_chunk, (void*)&job);
  double total = 0, rz = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    total += job.part[c];
    rz += job.part[cp1 + c];
  }
#if CG_KERNEL == 0 || CG_KERNEL == 3
  state[CG_RR] = total;
  state[CG_RNORM] = sqrt(total);
  state[CG_RZ] = job.d ? rz : total;
#if CG_KERNEL == 3
  state[CG_DONE] += 1;
#endif
#elif CG_KERNEL == 1
  state[CG_RHO_PREV] = state[CG_RZ];
  state[CG_FIRST] = 0;
#else
  const double alpha = state[CG_RZ] / total;
  if (total == 0 || !isfinite(alpha)) {
    state[CG_BREAKDOWN] = 1;
  } else {
    state[CG_ALPHA] = alpha;
  }
#endif
  return 0;
}
