/* Kernel spmv on the host: y = A x, rows in parallel chunks of about equal
 * nonzero counts (rows[c] .. rows[c + 1], chosen by asp/_akx_plan.py).
 * Parameters: indptr (n + 1) i64, cols (nnz), data (nnz) real, rows
 * (chunks + 1) i64, x (n) real, y (n) real, n, np1, nnz, cp1 (chunks + 1). */
struct spmv_job {
  const int64_t* indptr;
  const akx_index* cols;
  const real* data;
  const int64_t* rows;
  const real* x;
  real* y;
};

static void spmv_chunk(void* context, int64_t begin, int64_t end) {
  const struct spmv_job* job = (const struct spmv_job*)context;
  for (int64_t c = begin; c < end; ++c) {
    akx_step(job->indptr, job->cols, job->data, job->x, job->x, job->y, job->rows[c], job->rows[c + 1], 1, 0, 0);
  }
}

int ASP_VARIANT(void* const* args) {
  const struct spmv_job job = {(const int64_t*)args[0], (const akx_index*)args[1], (const real*)args[2],
                               (const int64_t*)args[3], (const real*)args[4], (real*)args[5]};
  asp_cpu_parallel(*(const int64_t*)args[9] - 1, spmv_chunk, (void*)&job);
  return 0;
}
