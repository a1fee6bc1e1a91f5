/* Kernel powers on a CUDA device: one pass of PA1, a block per chunk of the
 * plan (powers.cl, powers.c). */
extern "C" __global__ void ASP_VARIANT(AKX_MATRIX_PARAMS, const long* stanzas, const long* plan, real* vecs,
                                       const double* coef, long n, AKX_SIZE_PARAMS, long s_count, long cp1, long mp1,
                                       long m, long start, long steps, long tail, int* status) {
  const long* chunks = plan + (tail ? cp1 : 0);
  const long c = blockIdx.x;
  for (long s = chunks[c]; s < chunks[c + 1]; ++s) {
    const long* stanza = stanzas + 3 * s;
    const long level = start + stanza[0];
    const double* k = coef + 3 * (level - 1);
    const real* x = vecs + (level - 1) * n;
    const real* z = level >= 2 ? x - n : x;
    const real gamma = level >= 2 ? (real)k[2] : (real)0;
    for (long i = stanza[1] + threadIdx.x; i < stanza[2]; i += blockDim.x) {
      vecs[level * n + i] = akx_combine(AKX_ROW(x, i), x, z, i, (real)k[0], (real)k[1], gamma);
    }
    __syncthreads();
  }
}
