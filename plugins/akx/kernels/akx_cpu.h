/* Shared by the matrix-powers plugin's CPU kernels (language "c"; compiled
 * with OpenMP on the openmp backend). Put after <asp/cpu_kernel.h>; the
 * plugin defines REAL (double or float) and the column encoding COLUMNS:
 *   0  int32 column indices (CSR as SciPy stores it);
 *   1  int16 offsets from the row (column = row + offset): the compressed
 *      indices of banded matrices, 2 bytes per nonzero instead of 4.
 * (COLUMNS 2, the diagonal form, is akx_dia.h.) Both headers give the
 * kernels (powers.c, spmv.c) one interface: struct akx_matrix, made from a
 * kernel's leading AKX_MATRIX_ARGS arguments by akx_matrix_of, and
 * akx_matrix_step.
 *
 * The matrix is CSR: indptr (n + 1, int64), cols, data (nnz). Every kernel
 * keeps each row's sum in the order of its nonzeros, as SciPy's SpMV does,
 * so a row's value does not depend on which thread or plan computes it. */
#include <stdint.h>

/* No contraction into fused multiply-adds: each row's sum is then exactly
 * SciPy's (whose SpMV does not fuse), and the same whatever the compiler
 * vectorises, which the in-place powers kernel relies on (powers.c). */
#pragma STDC FP_CONTRACT OFF
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

typedef REAL real;
#if COLUMNS == 1
typedef int16_t akx_index;
#define AKX_COLUMN(row, offset) ((row) + (int64_t)(offset))
#else
typedef int32_t akx_index;
#define AKX_COLUMN(row, index) ((int64_t)(index))
#endif

/* y_i = alpha (A x)_i + beta x_i + gamma z_i for i in [lo, hi): a step of a
 * three-term basis (monomial: alpha 1, beta 0, gamma 0; Newton: beta = -shift;
 * Chebyshev: gamma = -1 after the first step). Each row's nonzeros in
 * order; the position p runs on from one row to the next rather than being
 * reloaded from indptr (a fifth faster on rows of five nonzeros, measured).
 * The monomial case keeps its own loop: the loads of x and z that beta and
 * gamma need cost bandwidth. */
static inline void akx_step(const int64_t* indptr, const akx_index* cols, const real* data, const real* x,
                            const real* z, real* y, int64_t lo, int64_t hi, real alpha, real beta, real gamma) {
  int64_t p = indptr[lo];
  if (alpha == 1 && beta == 0 && gamma == 0) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t end = indptr[i + 1];
      real sum = 0;
      for (; p < end; ++p) sum += data[p] * x[AKX_COLUMN(i, cols[p])];
      y[i] = sum;
    }
    return;
  }
  for (int64_t i = lo; i < hi; ++i) {
    const int64_t end = indptr[i + 1];
    real sum = 0;
    for (; p < end; ++p) sum += data[p] * x[AKX_COLUMN(i, cols[p])];
    real v = alpha * sum;
    if (beta != 0) v += beta * x[i];
    if (gamma != 0) v += gamma * z[i];
    y[i] = v;
  }
}

/* The matrix arguments: indptr, cols, data first; np1 and nnz follow n. */
#define AKX_MATRIX_ARGS 3
#define AKX_SIZE_ARGS 2
struct akx_matrix {
  const int64_t* indptr;
  const akx_index* cols;
  const real* data;
};

static inline struct akx_matrix akx_matrix_of(void* const* args, int n_index) {
  (void)n_index;
  const struct akx_matrix a = {(const int64_t*)args[0], (const akx_index*)args[1], (const real*)args[2]};
  return a;
}

static inline void akx_matrix_step(const struct akx_matrix* a, const real* x, const real* z, real* y, int64_t lo,
                                   int64_t hi, real alpha, real beta, real gamma) {
  akx_step(a->indptr, a->cols, a->data, x, z, y, lo, hi, alpha, beta, gamma);
}
