/* Kernel update on one work-item (O(m d^3): tiny): update_common.h, with
 * the program's temporary `work` (8 m d d doubles, at least
 * GMM_UPDATE_WORK(d, m)) as its scratch. */
__kernel void ASP_VARIANT(__global const double* s, __global const double* shift, __global double* weights,
                          __global double* means, __global double* covars, __global double* pchol, __global real* w,
                          __global double* info, long n, long d, long m, long kp, long mp, long ctype, double reg,
                          long original, __global double* work, __global int* status) {
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  gmm_m_step(s, shift, weights, means, covars, pchol, w, info, d, m, kp, mp, ctype, reg, original, work);
}
