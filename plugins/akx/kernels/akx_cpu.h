/* Shared by the matrix-powers plugin's CPU kernels (language "c"; compiled
 * with OpenMP on the openmp backend). Put after <asp/cpu_kernel.h>; the
 * plugin defines REAL (double or float) and the column encoding COLUMNS:
 *   0  int32 column indices (CSR as SciPy stores it);
 *   1  int16 offsets from the row (column = row + offset): the compressed
 *      indices of banded matrices, 2 bytes per nonzero instead of 4.
 *
 * The matrix is CSR: indptr (n + 1, int64), cols, data (nnz). Every kernel
 * keeps each row's sum in the order of its nonzeros, as SciPy's SpMV does,
 * so a row's value does not depend on which thread or variant computes it. */
#include <stdint.h>

/* No contraction into fused multiply-adds: each row's sum is then exactly
 * SciPy's (whose SpMV does not fuse), and the same whichever loop of
 * akx_step computes it, which the in-place powers kernel relies on. */
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

/* (A x)_i: row i's nonzeros in order. */
static inline real akx_row(const int64_t* indptr, const akx_index* cols, const real* data, const real* x, int64_t i) {
  real sum = 0;
  for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) sum += data[p] * x[AKX_COLUMN(i, cols[p])];
  return sum;
}

/* y_i = alpha (A x)_i + beta x_i + gamma z_i for i in [lo, hi): a step of a
 * three-term basis (monomial: alpha 1, beta 0, gamma 0; Newton: beta = -shift;
 * Chebyshev: gamma = -1 after the first step). The plain cases keep their
 * own loop: a multiplication by 1 changes nothing, but the loads of x and z
 * for beta and gamma cost bandwidth. RB rows are summed side by side (a template
 * parameter): independent chains the core can overlap, each row still in
 * its own order and with the same operations as in the loop of one row. */
static inline void akx_step(const int64_t* indptr, const akx_index* cols, const real* data, const real* x,
                            const real* z, real* y, int64_t lo, int64_t hi, real alpha, real beta, real gamma) {
  int64_t i = lo;
#if RB > 1
  for (; i + RB <= hi; i += RB) {
    real sum[RB];
    int64_t p[RB], end[RB], longest = 0;
    for (int r = 0; r < RB; ++r) {
      sum[r] = 0;
      p[r] = indptr[i + r];
      end[r] = indptr[i + r + 1];
      if (end[r] - p[r] > longest) longest = end[r] - p[r];
    }
    int64_t shortest = longest;
    for (int r = 0; r < RB; ++r) shortest = end[r] - p[r] < shortest ? end[r] - p[r] : shortest;
    for (int64_t q = 0; q < shortest; ++q) {
      for (int r = 0; r < RB; ++r) sum[r] += data[p[r] + q] * x[AKX_COLUMN(i + r, cols[p[r] + q])];
    }
    for (int r = 0; r < RB; ++r) {
      for (int64_t q = p[r] + shortest; q < end[r]; ++q) sum[r] += data[q] * x[AKX_COLUMN(i + r, cols[q])];
    }
    for (int r = 0; r < RB; ++r) {
      real v = alpha * sum[r];
      if (beta != 0) v += beta * x[i + r];
      if (gamma != 0) v += gamma * z[i + r];
      y[i + r] = v;
    }
  }
#endif
  if (alpha == 1 && beta == 0 && gamma == 0) {
    for (; i < hi; ++i) y[i] = akx_row(indptr, cols, data, x, i);
  } else {
    for (; i < hi; ++i) {
      real v = alpha * akx_row(indptr, cols, data, x, i);
      if (beta != 0) v += beta * x[i];
      if (gamma != 0) v += gamma * z[i];
      y[i] = v;
    }
  }
}
