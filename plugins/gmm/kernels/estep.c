/* Kernel estep: the E-step alone, keeping what it computes per event: the
 * log-likelihood (logprob, n) and the responsibilities (resp, n x m), and
 * their mean (ll). Events in parallel blocks of NB.
 * Parameters: X (n, d) real, shift (d) f64, W (kp, mp) real, logprob (n) real,
 * resp (n, m) real, ll (1) f64, n, d, m, kp, mp, ctype. */
struct estep_job {
  const real* x;
  const double* shift;
  const real* w;
  real* logprob;
  real* resp;
  double* partial_ll;
  int64_t n, d, m, kp, mp, ctype, chunks;
  int failed;
};

static void estep_chunk(void* context, int64_t begin, int64_t end) {
  struct estep_job* job = (struct estep_job*)context;
  real* z = (real*)malloc((size_t)(NB * job->kp + NB * job->mp) * sizeof(real));
  if (!z) {
    job->failed = 1;
    return;
  }
  real* l = z + NB * job->kp;
  for (int64_t c = begin; c < end; ++c) {
    double ll = 0;
    const int64_t first = job->n * c / job->chunks, last = job->n * (c + 1) / job->chunks;
    for (int64_t i = first; i < last; i += NB) {
      const int64_t rows = last - i < NB ? last - i : NB;
      gmm_feature_block(job->x + i * job->d, rows, NB, job->shift, job->d, job->kp, job->ctype, z);
      gmm_log_density(z, job->w, NB, job->kp, job->mp, l);
      ll += gmm_normalise(l, rows, job->m, job->mp, job->logprob + i);
      for (int64_t r = 0; r < rows; ++r) memcpy(job->resp + (i + r) * job->m, l + r * job->mp, (size_t)job->m * sizeof(real));
    }
    job->partial_ll[c] = ll;
  }
  free(z);
}

int ASP_VARIANT(void* const* args) {
  struct estep_job job = {(const real*)args[0], (const double*)args[1], (const real*)args[2], (real*)args[3],
                          (real*)args[4], NULL, *(const int64_t*)args[6], *(const int64_t*)args[7],
                          *(const int64_t*)args[8], *(const int64_t*)args[9], *(const int64_t*)args[10],
                          *(const int64_t*)args[11], 1, 0};
  double* ll = (double*)args[5];
  if (!gmm_layout_ok(job.d, job.m, job.kp, job.mp, job.ctype)) return ASP_GMM_BAD_LAYOUT;
  const int64_t chunks = job.chunks = gmm_chunks(job.n);
  job.partial_ll = (double*)malloc((size_t)chunks * sizeof(double));
  if (!job.partial_ll) return ASP_GMM_OUT_OF_MEMORY;
  asp_cpu_parallel(chunks, estep_chunk, &job);
  double total = 0;
  for (int64_t c = 0; c < chunks; ++c) total += job.partial_ll[c];
  if (!job.failed) ll[0] = job.n ? total / (double)job.n : 0.0;
  free(job.partial_ll);
  return job.failed ? ASP_GMM_OUT_OF_MEMORY : 0;
}
