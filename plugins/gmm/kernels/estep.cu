/* Kernel estep on CUDA: one thread per event (TPB per block) computes its
 * weighted log-densities from W, their log-sum-exp and its responsibilities
 * (em_device.h); the block's summed log-likelihood is added to ll (zeroed
 * by the program's clear_stats before). */
extern "C" __global__ void ASP_VARIANT(const real* X, const double* shift, const real* W, real* logprob, real* resp,
                                       double* ll, int64_t n, int64_t d, int64_t m, int64_t kp, int64_t mp,
                                       int64_t ctype, int* status) {
  __shared__ double scratch[TPB];
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  double lse = 0;
  if (e < n) {
    lse = (double)gmm_event(X + e * d, shift, W, d, m, kp, mp, ctype, resp + e * m);
    logprob[e] = (real)lse;
  }
  const double total = gmm_block_sum(lse, scratch);
  if (threadIdx.x == 0) atomicAdd(ll, total / (double)n);
}
