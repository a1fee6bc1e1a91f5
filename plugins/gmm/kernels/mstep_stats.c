/* Kernel mstep_stats: the M-step's statistics S = sum_n z(x_n) r_n^T from
 * given responsibilities (the E-step of another kernel, or an
 * initialisation's, e.g. k-means labels), in the same layout as em_pass's.
 * Events are split as in em_pass; per-thread partials summed in order.
 * Parameters: X (n, d) real, shift (d) f64, resp (n, m) real, S (kp, mp) f64,
 * n, d, m, kp, mp, ctype. */
struct stats_job {
  const real* x;
  const double* shift;
  const real* resp;
  double* partial_s;
  int64_t n, d, m, kp, mp, ctype, chunks;
  int failed;
};

static void stats_chunk(void* context, int64_t begin, int64_t end) {
  struct stats_job* job = (struct stats_job*)context;
  real* z = (real*)malloc((size_t)(NB * job->kp + NB * job->mp) * sizeof(real));
  if (!z) {
    job->failed = 1;
    return;
  }
  real* r = z + NB * job->kp;
  for (int64_t c = begin; c < end; ++c) {
    double* s = job->partial_s + c * job->kp * job->mp;
    memset(s, 0, (size_t)(job->kp * job->mp) * sizeof(double));
    const int64_t first = job->n * c / job->chunks, last = job->n * (c + 1) / job->chunks;
    for (int64_t i = first; i < last; i += NB) {
      const int64_t rows = last - i < NB ? last - i : NB;
      gmm_feature_block(job->x + i * job->d, rows, NB, job->shift, job->d, job->kp, job->ctype, z);
      memset(r, 0, (size_t)(NB * job->mp) * sizeof(real));
      for (int64_t e = 0; e < rows; ++e) memcpy(r + e * job->mp, job->resp + (i + e) * job->m, (size_t)job->m * sizeof(real));
      gmm_statistics(z, r, NB, job->kp, job->mp, s);
    }
  }
  free(z);
}

int ASP_VARIANT(void* const* args) {
  struct stats_job job = {(const real*)args[0], (const double*)args[1], (const real*)args[2], NULL,
                          *(const int64_t*)args[4], *(const int64_t*)args[5], *(const int64_t*)args[6],
                          *(const int64_t*)args[7], *(const int64_t*)args[8], *(const int64_t*)args[9], 1, 0};
  double* s = (double*)args[3];
  if (!gmm_layout_ok(job.d, job.m, job.kp, job.mp, job.ctype)) return ASP_GMM_BAD_LAYOUT;
  const int64_t chunks = job.chunks = gmm_chunks(job.n);
  const int64_t size = job.kp * job.mp;
  job.partial_s = (double*)malloc((size_t)(chunks * size) * sizeof(double));
  if (!job.partial_s) return ASP_GMM_OUT_OF_MEMORY;
  asp_cpu_parallel(chunks, stats_chunk, &job);
  if (!job.failed) {
    memcpy(s, job.partial_s, (size_t)size * sizeof(double));
    for (int64_t c = 1; c < chunks; ++c) {
      const double* p = job.partial_s + c * size;
      for (int64_t e = 0; e < size; ++e) s[e] += p[e];
    }
  }
  free(job.partial_s);
  return job.failed ? ASP_GMM_OUT_OF_MEMORY : 0;
}
