/* Kernel spmv_dia on the host: y = A x on the diagonal form (akx_dia.h),
 * rows in parallel chunks. Parameters: offsets (nd) i64, data (nd, n) real,
 * rows (chunks + 1) i64, x (n) real, y (n) real, n, nd, cp1. */
struct spmv_dia_job {
  const int64_t* offsets;
  const real* data;
  const int64_t* rows;
  const real* x;
  real* y;
  int64_t n, nd;
};

static void spmv_dia_chunk(void* context, int64_t begin, int64_t end) {
  const struct spmv_dia_job* job = (const struct spmv_dia_job*)context;
  for (int64_t c = begin; c < end; ++c) {
    akx_dia_step(job->offsets, job->nd, job->data, job->n, job->x, job->x, job->y, job->rows[c], job->rows[c + 1], 1,
                 0, 0);
  }
}

int ASP_VARIANT(void* const* args) {
  const struct spmv_dia_job job = {(const int64_t*)args[0], (const real*)args[1], (const int64_t*)args[2],
                                   (const real*)args[3], (real*)args[4], *(const int64_t*)args[5],
                                   *(const int64_t*)args[6]};
  asp_cpu_parallel(*(const int64_t*)args[7] - 1, spmv_dia_chunk, (void*)&job);
  return 0;
}
