/* Kernel update: the M-step from the statistics S of em_pass, then W for
 * the next E-step (update_common.h).
 * Parameters: S (kp, mp) f64, shift (d) f64, weights (m), means (m, d),
 * covars (m, d, d), pchol (m, d, d) f64, W (kp, mp) real, info (1) f64,
 * n, d, m, kp, mp, ctype, reg f64, original, then work (the OpenCL
 * variant's scratch; this one allocates its own). */
int ASP_VARIANT(void* const* args) {
  const int64_t d = *(const int64_t*)args[9], m = *(const int64_t*)args[10], kp = *(const int64_t*)args[11],
                mp = *(const int64_t*)args[12], ctype = *(const int64_t*)args[13];
  const double reg = *(const double*)args[14];
  const int64_t original = *(const int64_t*)args[15];
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) return ASP_GMM_BAD_LAYOUT;
  double* work = (double*)malloc((size_t)GMM_UPDATE_WORK(d, m) * sizeof(double));
  if (!work) return ASP_GMM_OUT_OF_MEMORY;
  gmm_m_step((const double*)args[0], (const double*)args[1], (double*)args[2], (double*)args[3], (double*)args[4],
             (double*)args[5], (real*)args[6], (double*)args[7], d, m, kp, mp, ctype, reg, original, work);
  free(work);
  return 0;
}
