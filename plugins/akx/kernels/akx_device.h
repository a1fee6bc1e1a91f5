/* Shared by the matrix-powers plugin's device kernels (OpenCL C and CUDA;
 * opencl_common.h or cuda_common.cuh define AKX_GLOBAL, the index types and
 * the work-item functions first). The same arithmetic as akx_cpu.h: each
 * row's sum in the order of its nonzeros, no contraction. */
#if COLUMNS == 1
#define AKX_COLUMN(row, offset) ((row) + (long)(offset))
#else
#define AKX_COLUMN(row, index) ((long)(index))
#endif
/* COLUMNS 2 is the diagonal form (akx_dia.h), whose rows are akx_dia_row;
 * COLUMNS 3 its symmetric form (upper diagonals only), akx_sdia_row;
 * COLUMNS 4 the register-tiled form (akx_bcsr.h), akx_bcsr_row. */

AKX_FN real akx_row(AKX_GLOBAL const long* indptr, AKX_GLOBAL const akx_index* cols, AKX_GLOBAL const real* data,
                    AKX_GLOBAL const real* x, long i) {
  real sum = 0;
  for (long p = indptr[i]; p < indptr[i + 1]; ++p) sum = sum + AKX_MUL(data[p], x[AKX_COLUMN(i, cols[p])]);
  return sum;
}

/* Row i of the diagonal form (akx_dia.h): its diagonals in ascending order. */
AKX_FN real akx_dia_row(AKX_GLOBAL const long* offsets, long nd, AKX_GLOBAL const real* data, long n,
                        AKX_GLOBAL const real* x, long i) {
  real sum = 0;
  for (long d = 0; d < nd; ++d) {
    const long j = i + offsets[d];
    if (j >= 0 && j < n) sum = sum + AKX_MUL(data[d * n + i], x[j]);
  }
  return sum;
}

/* Row i of the symmetric diagonal form (akx_dia.h, COLUMNS 3): the stored
 * diagonals at offsets o > 0 read o rows back for the lower diagonals, in
 * descending o, then every stored diagonal, in ascending order. */
AKX_FN real akx_sdia_row(AKX_GLOBAL const long* offsets, long nd, AKX_GLOBAL const real* data, long n,
                         AKX_GLOBAL const real* x, long i) {
  real sum = 0;
  for (long d = nd - 1; d >= 0 && offsets[d] > 0; --d) {
    const long j = i - offsets[d];
    if (j >= 0) sum = sum + AKX_MUL(data[d * n + j], x[j]);
  }
  for (long d = 0; d < nd; ++d) {
    const long j = i + offsets[d];
    if (j < n) sum = sum + AKX_MUL(data[d * n + i], x[j]);
  }
  return sum;
}

/* Row i of the register-tiled form (akx_bcsr.h, COLUMNS 4; the plugin
 * defines BR and BC): its block row's tiles in ascending block column, each
 * tile's row in ascending column, the columns below n only. */
#if COLUMNS == 4
AKX_FN real akx_bcsr_row(AKX_GLOBAL const long* indptr, AKX_GLOBAL const int* cols, AKX_GLOBAL const real* data, long n,
                         AKX_GLOBAL const real* x, long i) {
  real sum = 0;
  const long br = i / BR, row = i % BR;
  for (long p = indptr[br]; p < indptr[br + 1]; ++p) {
    const long col = (long)cols[p] * BC;
    for (long j = 0; j < BC && col + j < n; ++j) sum = sum + AKX_MUL(data[(p * BR + row) * BC + j], x[col + j]);
  }
  return sum;
}
#endif

/* The kernels' interface to the matrix's form: its parameters (before the
 * plan's), its sizes (after n) and the product of row i. */
#if COLUMNS == 2 || COLUMNS == 3
#define AKX_MATRIX_PARAMS AKX_GLOBAL const long *offsets, AKX_GLOBAL const real *data
#define AKX_SIZE_PARAMS long nd
#if COLUMNS == 3
#define AKX_ROW(x, i) akx_sdia_row(offsets, nd, data, n, x, i)
#else
#define AKX_ROW(x, i) akx_dia_row(offsets, nd, data, n, x, i)
#endif
#else
#define AKX_MATRIX_PARAMS AKX_GLOBAL const long *indptr, AKX_GLOBAL const akx_index *cols, AKX_GLOBAL const real *data
#define AKX_SIZE_PARAMS long np1, long nnz
#if COLUMNS == 4
#define AKX_ROW(x, i) akx_bcsr_row(indptr, cols, data, n, x, i)
#else
#define AKX_ROW(x, i) akx_row(indptr, cols, data, x, i)
#endif
#endif

/* Row i of a step from (A x)_i: alpha (A x)_i + beta x_i + gamma z_i. */
AKX_FN real akx_combine(real ax, AKX_GLOBAL const real* x, AKX_GLOBAL const real* z, long i, real alpha, real beta,
                        real gamma) {
  real v = AKX_MUL(alpha, ax);
  if (beta != 0) v = v + AKX_MUL(beta, x[i]);
  if (gamma != 0) v = v + AKX_MUL(gamma, z[i]);
  return v;
}
