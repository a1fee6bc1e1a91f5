/* Kernel em_reduce on CUDA: S and ll from em_pass's per-block partials,
 * added in block order; a thread per entry of S. */
extern "C" __global__ void ASP_VARIANT(const double* partial_s, const double* partial_ll, double* s, double* ll,
                                       int64_t n, int64_t kp, int64_t mp, int* status) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, entries = kp * mp;
  if (e < entries) {
    double acc = partial_s[e];
    for (int64_t g = 1; g < GMM_GROUPS; ++g) acc += partial_s[g * entries + e];
    s[e] = acc;
  }
  if (e == 0) {
    double total = partial_ll[0];
    for (int64_t g = 1; g < GMM_GROUPS; ++g) total += partial_ll[g];
    ll[0] = total / (double)n;
  }
}
