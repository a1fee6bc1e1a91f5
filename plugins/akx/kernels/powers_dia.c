/* Kernel powers_dia on the host: powers.c's pass on the diagonal form
 * (akx_dia.h). Parameters: offsets (nd) i64, data (nd, n) real, stanzas
 * (s, 3) i64, plan (2, chunks + 1) i64, vecs (m + 1, n) real, coef (m, 3)
 * f64, n, nd, s, cp1, mp1, m, start, steps, tail. */
struct powers_dia_job {
  const int64_t* offsets;
  const real* data;
  const int64_t* stanzas;
  const int64_t* plan;
  real* vecs;
  const double* coef;
  int64_t n, nd, start;
};

static void powers_dia_chunk(void* context, int64_t begin, int64_t end) {
  const struct powers_dia_job* job = (const struct powers_dia_job*)context;
  const int64_t n = job->n;
  for (int64_t c = begin; c < end; ++c) {
    for (int64_t s = job->plan[c]; s < job->plan[c + 1]; ++s) {
      const int64_t* stanza = job->stanzas + 3 * s;
      const int64_t level = job->start + stanza[0];
      const double* coef = job->coef + 3 * (level - 1);
      const real* x = job->vecs + (level - 1) * n;
      const real* z = level >= 2 ? x - n : x;
      const real gamma = level >= 2 ? (real)coef[2] : 0;
      akx_dia_step(job->offsets, job->nd, job->data, n, x, z, job->vecs + level * n, stanza[1], stanza[2],
                   (real)coef[0], (real)coef[1], gamma);
    }
  }
}

int ASP_VARIANT(void* const* args) {
  const int64_t cp1 = *(const int64_t*)args[9];
  const int64_t tail = *(const int64_t*)args[14];
  const struct powers_dia_job job = {(const int64_t*)args[0], (const real*)args[1], (const int64_t*)args[2],
                                     (const int64_t*)args[3] + (tail ? cp1 : 0), (real*)args[4],
                                     (const double*)args[5], *(const int64_t*)args[6], *(const int64_t*)args[7],
                                     *(const int64_t*)args[12]};
  asp_cpu_parallel(cp1 - 1, powers_dia_chunk, (void*)&job);
  return 0;
}
