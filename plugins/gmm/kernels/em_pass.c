/* Kernel em_pass: the E-step for the current parameters (their coefficient
 * matrix W) and the M-step's sufficient statistics S = sum_n z(x_n) r_n^T,
 * in one pass over the events. Events are split into one contiguous range
 * per thread; each thread sums into its own S and log-likelihood, combined
 * in thread order afterwards, so the result does not depend on timing.
 * Template parameters: MR (accumulator columns), NB (events per block).
 * Parameters: X (n, d) real, shift (d) f64, W (kp, mp) real, S (kp, mp) f64,
 * ll (1) f64 = mean log-likelihood, n, d, m, kp, mp, ctype. */
struct em_pass_job {
  const real* x;
  const double* shift;
  const real* w;
  double* partial_s;   /* chunks x kp x mp */
  double* partial_ll;  /* chunks */
  int64_t n, d, m, kp, mp, ctype, chunks;
  int failed;
};

static void em_pass_chunk(void* context, int64_t begin, int64_t end) {
  struct em_pass_job* job = (struct em_pass_job*)context;
  real* z = (real*)malloc((size_t)(NB * job->kp + NB * job->mp + NB) * sizeof(real));
  if (!z) {
    job->failed = 1;
    return;
  }
  real* l = z + NB * job->kp;
  real* lse = l + NB * job->mp;
  for (int64_t c = begin; c < end; ++c) {
    double* s = job->partial_s + c * job->kp * job->mp;
    memset(s, 0, (size_t)(job->kp * job->mp) * sizeof(double));
    double ll = 0;
    const int64_t first = job->n * c / job->chunks, last = job->n * (c + 1) / job->chunks;
    for (int64_t i = first; i < last; i += NB) {
      const int64_t rows = last - i < NB ? last - i : NB;
      gmm_feature_block(job->x + i * job->d, rows, NB, job->shift, job->d, job->kp, job->ctype, z);
      gmm_log_density(z, job->w, NB, job->kp, job->mp, l);
      ll += gmm_normalise(l, rows, job->m, job->mp, lse);
      if (rows < NB) memset(l + rows * job->mp, 0, (size_t)((NB - rows) * job->mp) * sizeof(real));
      gmm_statistics(z, l, NB, job->kp, job->mp, s);
    }
    job->partial_ll[c] = ll;
  }
  free(z);
}

int ASP_VARIANT(void* const* args) {
  struct em_pass_job job = {(const real*)args[0], (const double*)args[1], (const real*)args[2], NULL, NULL,
                            *(const int64_t*)args[5], *(const int64_t*)args[6], *(const int64_t*)args[7],
                            *(const int64_t*)args[8], *(const int64_t*)args[9], *(const int64_t*)args[10], 1, 0};
  double* s = (double*)args[3];
  if (!gmm_layout_ok(job.d, job.m, job.kp, job.mp, job.ctype)) return ASP_GMM_BAD_LAYOUT;
  double* ll = (double*)args[4];
  const int64_t chunks = job.chunks = gmm_chunks(job.n);
  job.partial_s = (double*)malloc((size_t)(chunks * job.kp * job.mp + chunks) * sizeof(double));
  if (!job.partial_s) return ASP_GMM_OUT_OF_MEMORY;
  job.partial_ll = job.partial_s + chunks * job.kp * job.mp;
  asp_cpu_parallel(chunks, em_pass_chunk, &job);
  if (!job.failed) {
    const int64_t size = job.kp * job.mp;
    memcpy(s, job.partial_s, (size_t)size * sizeof(double));
    double total = job.partial_ll[0];
    for (int64_t c = 1; c < chunks; ++c) {
      const double* p = job.partial_s + c * size;
      for (int64_t e = 0; e < size; ++e) s[e] += p[e];
      total += job.partial_ll[c];
    }
    ll[0] = total / (double)job.n;
  }
  free(job.partial_s);
  return job.failed ? ASP_GMM_OUT_OF_MEMORY : 0;
}
