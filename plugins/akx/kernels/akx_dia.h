/* The diagonal (DIA) forms of the matrix-powers plugin's CPU kernels
 * (COLUMNS 2, and COLUMNS 3 for the symmetric form), in place of akx_cpu.h,
 * with its interface, after
 * <asp/cpu_kernel.h>: for a matrix whose nonzeros lie on a few
 * diagonals (the discretised PDEs of Poisson and stencil codes), data
 * (nd, n) holds diagonal d at row i as data[d n + i], the entry of column
 * i + offsets[d] (offsets ascending; zero where the matrix has none). The
 * products need no column indices, so the loops over rows vectorise; each
 * row's sum still runs over its diagonals in ascending column order, without
 * contraction, as akx_cpu.h's rows do: the same value as the CSR kernels
 * and SciPy (up to the sign of a zero sum: the explicit zeros of a diagonal
 * add +0 or -0).
 *
 * The symmetric form (COLUMNS 3) of a matrix equal to its transpose stores
 * only the diagonals at offsets >= 0: the diagonal at -o is the one at o
 * read o rows back (A[i, i - o] = A[i - o, i] = data[d n + i - o]), so the
 * coefficients stream once for both and each row reads the same values, in
 * the same order, as the full form does: the same results. */
#include <stdint.h>

#pragma STDC FP_CONTRACT OFF
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

typedef REAL real;

/* Rows per tile: the partial sums of a tile stay in L1 across the diagonals. */
#define AKX_TILE 512

/* y_i = alpha (A x)_i + beta x_i + gamma z_i for i in [lo, hi) (akx_cpu.h's akx_step). */
static inline void akx_dia_step(const int64_t* offsets, int64_t nd, const real* data, int64_t n, const real* x,
                                const real* z, real* y, int64_t lo, int64_t hi, real alpha, real beta, real gamma) {
  real sum[AKX_TILE];
  for (int64_t t = lo; t < hi; t += AKX_TILE) {
    const int64_t end = hi - t < AKX_TILE ? hi : t + AKX_TILE;
    for (int64_t i = t; i < end; ++i) sum[i - t] = 0;
#if COLUMNS == 3
    /* the lower diagonals first, in ascending column order: offsets -o for the stored o > 0, descending */
    for (int64_t d = nd - 1; d >= 0 && offsets[d] > 0; --d) {
      const int64_t o = offsets[d];
      const real* diagonal = data + d * n;
      for (int64_t i = t > o ? t : o; i < end; ++i) sum[i - t] += diagonal[i - o] * x[i - o];
    }
#endif
    for (int64_t d = 0; d < nd; ++d) {
      const int64_t off = offsets[d];
      /* the rows of the tile whose column i + off is inside the matrix */
      const int64_t first = t > -off ? t : -off, last = end < n - off ? end : n - off;
      const real* diagonal = data + d * n;
      for (int64_t i = first; i < last; ++i) sum[i - t] += diagonal[i] * x[i + off];
    }
    if (alpha == 1 && beta == 0 && gamma == 0) {
      for (int64_t i = t; i < end; ++i) y[i] = sum[i - t];
    } else {
      for (int64_t i = t; i < end; ++i) {
        real v = alpha * sum[i - t];
        if (beta != 0) v += beta * x[i];
        if (gamma != 0) v += gamma * z[i];
        y[i] = v;
      }
    }
  }
}

/* The matrix arguments: offsets and data first; nd follows n. */
#define AKX_MATRIX_ARGS 2
#define AKX_SIZE_ARGS 1
struct akx_matrix {
  const int64_t* offsets;
  const real* data;
  int64_t nd, n;
};

static inline struct akx_matrix akx_matrix_of(void* const* args, int n_index) {
  const struct akx_matrix a = {(const int64_t*)args[0], (const real*)args[1], *(const int64_t*)args[n_index + 1],
                               *(const int64_t*)args[n_index]};
  return a;
}

static inline void akx_matrix_step(const struct akx_matrix* a, const real* x, const real* z, real* y, int64_t lo,
                                   int64_t hi, real alpha, real beta, real gamma) {
  akx_dia_step(a->offsets, a->nd, a->data, a->n, x, z, y, lo, hi, alpha, beta, gamma);
}
