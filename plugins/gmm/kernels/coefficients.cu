/* Kernel coefficients on one CUDA thread: W from the parameters (params_common.h). */
extern "C" __global__ void ASP_VARIANT(const double* weights, const double* means, const double* pchol,
                                       const double* shift, real* w, int64_t d, int64_t m, int64_t kp, int64_t mp,
                                       int64_t ctype, double* work, int* status) {
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  gmm_coefficients(weights, means, pchol, shift, d, m, kp, mp, ctype, w, work);
}
