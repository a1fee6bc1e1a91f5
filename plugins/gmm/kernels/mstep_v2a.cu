/* Kernel mstep_stats (CUDA), the original's V2A: one block per component,
 * one thread per statistic (matrix element), each looping over every event.
 * Grid m, kp threads (a run check keeps kp within the 1024 a block may have). */
extern "C" __global__ void ASP_VARIANT(const real* X, const double* shift, const real* resp, double* S, int64_t n,
                                       int64_t d, int64_t m, int64_t kp, int64_t mp, int64_t ctype, int* status) {
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  const int64_t c = blockIdx.x, k = threadIdx.x;
  double acc = 0;
  if (k < gmm_features(d, ctype)) {
    int64_t a, b;
    const int kind = gmm_feature_kind(k, d, ctype, &a, &b);
    for (int64_t e = 0; e < n; ++e) acc += (double)gmm_feature(kind, a, b, X + e * d, shift, d) * (double)resp[e * m + c];
  }
  S[k * mp + c] = acc;
}
