/* Kernel coefficients on one work-item: W from the parameters
 * (params_common.h), the program's temporary `work` as its scratch. */
__kernel void ASP_VARIANT(__global const double* weights, __global const double* means, __global const double* pchol,
                          __global const double* shift, __global real* w, long d, long m, long kp, long mp, long ctype,
                          __global double* work, __global int* status) {
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  gmm_coefficients(weights, means, pchol, shift, d, m, kp, mp, ctype, w, work);
}
