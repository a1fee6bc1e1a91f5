/* Kernel em_reduce on CUDA: S and ll from em_pass's per-block partials,
 * added in block order; a thread per entry of S (em_device.h). */
extern "C" __global__ void ASP_VARIANT(const double* partial_s, const double* partial_ll, double* s, double* ll,
                                       int64_t n, int64_t kp, int64_t mp, int* status) {
  gmm_reduce_entry((int64_t)blockIdx.x * blockDim.x + threadIdx.x, partial_s, partial_ll, s, ll, n, kp, mp);
}
