/* Kernel coefficients: W from the parameters (before the first E-step).
 * Parameters: weights (m) f64, means (m, d) f64, pchol (m, d, d) f64,
 * shift (d) f64, W (kp, mp) real, d, m, kp, mp, ctype, then work (the
 * OpenCL variant's scratch; this one allocates its own). */
int ASP_VARIANT(void* const* args) {
  const int64_t d = *(const int64_t*)args[5], m = *(const int64_t*)args[6], kp = *(const int64_t*)args[7],
                mp = *(const int64_t*)args[8], ctype = *(const int64_t*)args[9];
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) return ASP_GMM_BAD_LAYOUT;
  double* work = (double*)malloc((size_t)(d * d + 2 * d + 1) * sizeof(double));
  if (!work) return ASP_GMM_OUT_OF_MEMORY;
  gmm_coefficients((const double*)args[0], (const double*)args[1], (const double*)args[2], (const double*)args[3], d, m,
                   kp, mp, ctype, (real*)args[4], work);
  free(work);
  return 0;
}
