/* Kernel update on one CUDA thread (O(m d^3): tiny): update_common.h, with
 * the program's temporary `work` as its scratch. */
extern "C" __global__ void ASP_VARIANT(const double* s, const double* shift, double* weights, double* means,
                                       double* covars, double* pchol, real* w, double* info, int64_t n, int64_t d,
                                       int64_t m, int64_t kp, int64_t mp, int64_t ctype, double reg, int64_t original,
                                       double* work, int* status) {
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  gmm_m_step(s, shift, weights, means, covars, pchol, w, info, d, m, kp, mp, ctype, reg, original, work);
}
