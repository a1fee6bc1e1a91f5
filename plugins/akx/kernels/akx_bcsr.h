/* The register-tiled (BCSR) form of the matrix-powers plugin's CPU kernels
 * (COLUMNS 4), in place of akx_cpu.h, with its interface, after
 * <asp/cpu_kernel.h>. The plugin defines BR and BC, the rows and columns of
 * a tile. The matrix is the block CSR of SciPy's BSR format: indptr (block
 * rows + 1, int64), cols (one int32 block column per tile) and data (tiles,
 * BR, BC), row-major tiles holding the zeros of their fill; the last block
 * row and column may reach past n (the matrix padded with zero rows and
 * columns), and those entries are never read.
 *
 * A row's sum runs over its tiles in ascending block column and each tile's
 * row in ascending column, so in SciPy's order, with the fill's zeros added
 * in (which leave a sum unchanged, up to the sign of a zero sum); no
 * contraction, as akx_cpu.h. The tiling pays where rows come in whole tiles:
 * the BR rows of a block row are summed together, so each x element a tile
 * reads is loaded once for BR rows, and one column index serves BR x BC
 * entries. A range of rows that does not start or end on a tile's edge
 * computes its partial block rows row by row, with the same sums. */
#include <stdint.h>

#pragma STDC FP_CONTRACT OFF
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

typedef REAL real;

/* Adds row `row` of the tiles of block row `br` times x to sum (the row's
 * entries in ascending column; only columns below n). */
static inline real akx_bcsr_row(const int64_t* indptr, const int32_t* cols, const real* data, int64_t n,
                                const real* x, int64_t br, int row) {
  real sum = 0;
  for (int64_t p = indptr[br]; p < indptr[br + 1]; ++p) {
    const int64_t col = (int64_t)cols[p] * BC;
    const real* tile = data + p * (BR * BC) + row * BC;
    const int width = col + BC <= n ? BC : (int)(n - col);
    for (int j = 0; j < width; ++j) sum += tile[j] * x[col + j];
  }
  return sum;
}

static inline real akx_bcsr_combine(real ax, const real* x, const real* z, int64_t i, real alpha, real beta,
                                    real gamma) {
  real v = alpha * ax;
  if (beta != 0) v += beta * x[i];
  if (gamma != 0) v += gamma * z[i];
  return v;
}

/* y_i = alpha (A x)_i + beta x_i + gamma z_i for i in [lo, hi) (akx_cpu.h's akx_step). */
static inline void akx_bcsr_step(const int64_t* indptr, const int32_t* cols, const real* data, int64_t n,
                                 const real* x, const real* z, real* y, int64_t lo, int64_t hi, real alpha, real beta,
                                 real gamma) {
  int64_t i = lo;
  /* the rows before the first whole block row */
  for (; i < hi && i % BR != 0; ++i) {
    y[i] = akx_bcsr_combine(akx_bcsr_row(indptr, cols, data, n, x, i / BR, (int)(i % BR)), x, z, i, alpha, beta, gamma);
  }
  for (; i + BR <= hi; i += BR) {
    const int64_t br = i / BR;
    real sum[BR];
    for (int r = 0; r < BR; ++r) sum[r] = 0;
    for (int64_t p = indptr[br]; p < indptr[br + 1]; ++p) {
      const int64_t col = (int64_t)cols[p] * BC;
      const real* tile = data + p * (BR * BC);
      if (col + BC <= n) {
        for (int j = 0; j < BC; ++j) {
          const real xj = x[col + j];
          for (int r = 0; r < BR; ++r) sum[r] += tile[r * BC + j] * xj;
        }
      } else {
        for (int j = 0; j < n - col; ++j) {
          for (int r = 0; r < BR; ++r) sum[r] += tile[r * BC + j] * x[col + j];
        }
      }
    }
    for (int r = 0; r < BR; ++r) y[i + r] = akx_bcsr_combine(sum[r], x, z, i + r, alpha, beta, gamma);
  }
  /* the rows after the last whole block row */
  for (; i < hi; ++i) {
    y[i] = akx_bcsr_combine(akx_bcsr_row(indptr, cols, data, n, x, i / BR, (int)(i % BR)), x, z, i, alpha, beta, gamma);
  }
}

/* The matrix arguments: indptr, cols, data first; np1 (block rows + 1) and
 * nnz (tiles) follow n, as in akx_cpu.h. */
#define AKX_MATRIX_ARGS 3
#define AKX_SIZE_ARGS 2
struct akx_matrix {
  const int64_t* indptr;
  const int32_t* cols;
  const real* data;
  int64_t n;
};

static inline struct akx_matrix akx_matrix_of(void* const* args, int n_index) {
  const struct akx_matrix a = {(const int64_t*)args[0], (const int32_t*)args[1], (const real*)args[2],
                               *(const int64_t*)args[n_index]};
  return a;
}

static inline void akx_matrix_step(const struct akx_matrix* a, const real* x, const real* z, real* y, int64_t lo,
                                   int64_t hi, real alpha, real beta, real gamma) {
  akx_bcsr_step(a->indptr, a->cols, a->data, a->n, x, z, y, lo, hi, alpha, beta, gamma);
}
