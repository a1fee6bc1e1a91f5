/* Kernel mstep_stats (CUDA), the original's V2B: the events split into EB
 * chunks; one block per component and chunk, one thread per statistic; the
 * chunks' partial sums combined with atomicAdd into S (zeroed by the
 * program). Grid (m, EB), kp threads. */
extern "C" __global__ void ASP_VARIANT(const real* X, const double* shift, const real* resp, double* S, int64_t n,
                                       int64_t d, int64_t m, int64_t kp, int64_t mp, int64_t ctype, int* status) {
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  const int64_t c = blockIdx.x, k = threadIdx.x;
  const int64_t first = n * blockIdx.y / gridDim.y, last = n * (blockIdx.y + 1) / gridDim.y;
  if (k >= gmm_features(d, ctype)) return;
  int64_t a, b;
  const int kind = gmm_feature_kind(k, d, ctype, &a, &b);
  double acc = 0;
  for (int64_t e = first; e < last; ++e) acc += (double)gmm_feature(kind, a, b, X + e * d, shift, d) * (double)resp[e * m + c];
  atomicAdd(&S[k * mp + c], acc);
}
