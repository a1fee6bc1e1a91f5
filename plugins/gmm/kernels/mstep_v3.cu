/* Kernel mstep_stats (CUDA), the original's V3: one block per statistic
 * (matrix element) for all components: each thread computes an event's
 * feature once and adds it, weighted, to its partial sum of every component
 * (in shared memory, 64 threads x at most 80 components), reduced per
 * component at the end. Grid kp, 64 threads. */
#define GMM_V3_THREADS 64
#define GMM_V3_MAX_M 80
extern "C" __global__ void ASP_VARIANT(const real* X, const double* shift, const real* resp, double* S, int64_t n,
                                       int64_t d, int64_t m, int64_t kp, int64_t mp, int64_t ctype, int* status) {
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  __shared__ double part[GMM_V3_MAX_M * GMM_V3_THREADS];
  const int64_t k = blockIdx.x;
  for (int64_t c = 0; c < m; ++c) part[c * GMM_V3_THREADS + threadIdx.x] = 0;
  if (k < gmm_features(d, ctype)) {
    int64_t a, b;
    const int kind = gmm_feature_kind(k, d, ctype, &a, &b);
    for (int64_t e = threadIdx.x; e < n; e += GMM_V3_THREADS) {
      const double z = (double)gmm_feature(kind, a, b, X + e * d, shift, d);
      for (int64_t c = 0; c < m; ++c) part[c * GMM_V3_THREADS + threadIdx.x] += z * (double)resp[e * m + c];
    }
  }
  __syncthreads();
  for (int64_t c = threadIdx.x; c < m; c += GMM_V3_THREADS) {
    double total = 0;
    for (int t = 0; t < GMM_V3_THREADS; ++t) total += part[c * GMM_V3_THREADS + t];
    S[k * mp + c] = total;
  }
}
