/* Kernel mstep_stats (CUDA), the original's V1: one block per component and
 * statistic (the M-step's matrix elements), threads striding over the
 * events, a shared-memory sum. Grid (m, kp), TPB threads. */
extern "C" __global__ void ASP_VARIANT(const real* X, const double* shift, const real* resp, double* S, int64_t n,
                                       int64_t d, int64_t m, int64_t kp, int64_t mp, int64_t ctype, int* status) {
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  __shared__ double scratch[TPB];
  const int64_t c = blockIdx.x, k = blockIdx.y;
  double acc = 0;
  if (k < gmm_features(d, ctype)) {
    int64_t a, b;
    const int kind = gmm_feature_kind(k, d, ctype, &a, &b);
    for (int64_t e = threadIdx.x; e < n; e += blockDim.x) acc += (double)gmm_feature(kind, a, b, X + e * d, shift, d) * (double)resp[e * m + c];
  }
  const double total = gmm_block_sum(acc, scratch);
  if (threadIdx.x == 0) S[k * mp + c] = total;
}
