/* Kernel spmv on the host: y = A x, rows in parallel chunks of about equal
 * nonzero counts (rows[c] .. rows[c + 1], chosen by asp/_akx_plan.py).
 * Parameters: the matrix (AKX_MATRIX_ARGS: akx_cpu.h or akx_dia.h), rows
 * (chunks + 1) i64, x (n) real, y (n) real, n, the matrix's sizes
 * (AKX_SIZE_ARGS), cp1 (chunks + 1). */
struct spmv_job {
  struct akx_matrix a;
  const int64_t* rows;
  const real* x;
  real* y;
};

static void spmv_chunk(void* context, int64_t begin, int64_t end) {
  const struct spmv_job* job = (const struct spmv_job*)context;
  for (int64_t c = begin; c < end; ++c) {
    akx_matrix_step(&job->a, job->x, job->x, job->y, job->rows[c], job->rows[c + 1], 1, 0, 0);
  }
}

int ASP_VARIANT(void* const* args) {
  enum { M = AKX_MATRIX_ARGS, N = M + 3, CP1 = N + AKX_SIZE_ARGS + 1 };
  const struct spmv_job job = {akx_matrix_of(args, N), (const int64_t*)args[M], (const real*)args[M + 1],
                               (real*)args[M + 2]};
  asp_cpu_parallel(*(const int64_t*)args[CP1] - 1, spmv_chunk, (void*)&job);
  return 0;
}
