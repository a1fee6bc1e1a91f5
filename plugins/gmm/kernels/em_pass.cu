/* Kernel em_pass on CUDA: the fused pass. GMM_GROUPS blocks of 256
 * threads, each over a contiguous range of events in tiles of 32: 32
 * threads compute their event's responsibilities into shared memory
 * (em_device.h), then each thread adds feature x responsibility over the
 * tile to the entries of its block's partial statistics that it owns (no
 * two threads write one entry: no atomics). em_reduce adds the blocks'
 * partials in block order, so results do not depend on timing. Run check:
 * m <= 96 (a tile's responsibilities in shared memory). */
#define GMM_TILE 32
#define GMM_PASS_MAX_M 96
extern "C" __global__ void ASP_VARIANT(const real* X, const double* shift, const real* W, double* S, double* ll,
                                       int64_t n, int64_t d, int64_t m, int64_t kp, int64_t mp, int64_t ctype,
                                       real* logprob, real* resp, double* partial_s, double* partial_ll, int* status) {
  __shared__ real r[GMM_TILE * GMM_PASS_MAX_M];
  __shared__ double scratch[256];
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (blockIdx.x == 0 && threadIdx.x == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  const int64_t first = n * blockIdx.x / gridDim.x, last = n * (blockIdx.x + 1) / gridDim.x;
  const int64_t entries = gmm_features(d, ctype) * m;
  double* part = partial_s + (int64_t)blockIdx.x * kp * mp;
  for (int64_t e = threadIdx.x; e < entries; e += blockDim.x) part[(e / m) * mp + e % m] = 0;
  double lse = 0;
  for (int64_t t0 = first; t0 < last; t0 += GMM_TILE) {
    const int64_t rows = last - t0 < GMM_TILE ? last - t0 : GMM_TILE;
    if (threadIdx.x < rows) lse += (double)gmm_event(X + (t0 + threadIdx.x) * d, shift, W, d, m, kp, mp, ctype, r + threadIdx.x * m);
    __syncthreads();
    for (int64_t e = threadIdx.x; e < entries; e += blockDim.x) {
      const int64_t k = e / m, c = e % m;
      int64_t a, b;
      const int kind = gmm_feature_kind(k, d, ctype, &a, &b);
      double acc = 0;
      for (int64_t t = 0; t < rows; ++t) acc += (double)gmm_feature(kind, a, b, X + (t0 + t) * d, shift, d) * (double)r[t * m + c];
      part[k * mp + c] += acc;
    }
    __syncthreads();
  }
  const double total = gmm_block_sum(lse, scratch);
  if (threadIdx.x == 0) partial_ll[blockIdx.x] = total;
}
