/* Kernel powers on the host: one pass of `steps` levels of the PA1 matrix
 * powers kernel (Hoemmen 2010; Mohiyuddin et al., SC09), implicit cache
 * blocks, in place.
 *
 * Row i of level `start + l` is computed from level start + l - 1 (and
 * start + l - 2 for a three-term basis) of vecs, the (m + 1, n) array of the
 * whole basis, in place. Each chunk (a thread block) follows its own list of
 * stanzas (level l in 1..steps, first row, end row) of the plan
 * (asp/_akx_plan.py): for each of its cache blocks in turn, the rows of the
 * block's (steps - l)-level ghost zone at level l that the chunk has not
 * computed yet. Whatever a chunk reads it has computed itself in this pass
 * (or it is level `start`, or below, written before the pass), so chunks
 * need no synchronisation within a pass; rows of a ghost zone that another
 * chunk owns are computed by both from the same inputs in the same order
 * (akx_cpu.h), so both write the same value. The matrix streams from memory
 * once per pass instead of once per level; the levels of a cache block stay
 * in cache between its steps.
 *
 * Parameters: the matrix (AKX_MATRIX_ARGS: akx_cpu.h or akx_dia.h), stanzas
 * (s, 3) i64, plan (2, chunks + 1) i64 (row 0: a pass of k levels, row 1:
 * the last pass of a call, when m is not a multiple of k), vecs (m + 1, n)
 * real, coef (m, 3) f64 (alpha, beta, gamma of each level), n, the matrix's
 * sizes (AKX_SIZE_ARGS), s, cp1 (chunks + 1), mp1, m, start, steps, tail
 * (which row of the plan). */
struct powers_job {
  struct akx_matrix a;
  const int64_t* stanzas;
  const int64_t* plan;
  real* vecs;
  const double* coef;
  int64_t n, start;
};

static void powers_chunk(void* context, int64_t begin, int64_t end) {
  const struct powers_job* job = (const struct powers_job*)context;
  const int64_t n = job->n;
  for (int64_t c = begin; c < end; ++c) {
    for (int64_t s = job->plan[c]; s < job->plan[c + 1]; ++s) {
      const int64_t* stanza = job->stanzas + 3 * s;
      const int64_t level = job->start + stanza[0];
      const double* coef = job->coef + 3 * (level - 1);
      const real* x = job->vecs + (level - 1) * n;
      const real* z = level >= 2 ? x - n : x;
      const real gamma = level >= 2 ? (real)coef[2] : 0;
      akx_matrix_step(&job->a, x, z, job->vecs + level * n, stanza[1], stanza[2], (real)coef[0], (real)coef[1], gamma);
    }
  }
}

int ASP_VARIANT(void* const* args) {
  enum { M = AKX_MATRIX_ARGS, N = M + 4, CP1 = N + AKX_SIZE_ARGS + 2, START = CP1 + 3, TAIL = START + 2 };
  const int64_t cp1 = *(const int64_t*)args[CP1];
  const struct powers_job job = {akx_matrix_of(args, N), (const int64_t*)args[M],
                                 (const int64_t*)args[M + 1] + (*(const int64_t*)args[TAIL] ? cp1 : 0),
                                 (real*)args[M + 2], (const double*)args[M + 3], *(const int64_t*)args[N],
                                 *(const int64_t*)args[START]};
  asp_cpu_parallel(cp1 - 1, powers_chunk, (void*)&job);
  return 0;
}
