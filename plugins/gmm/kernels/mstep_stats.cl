/* Kernel mstep_stats on OpenCL: one work-item per entry (k, c) of S, summing
 * feature k times the responsibility of component c over the events in
 * order (em_device.h's feature map). */
__kernel void ASP_VARIANT(__global const real* x, __global const double* shift, __global const real* resp,
                          __global double* s, long n, long d, long m, long kp, long mp, long ctype,
                          __global int* status) {
  const int64_t e = get_global_id(0);
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (e == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  if (e >= kp * mp) return;
  const int64_t k = e / mp, c = e % mp;
  double acc = 0;
  int64_t a, b;
  const int kind = gmm_feature_kind(k, d, ctype, &a, &b);
  if (c < m && kind != GMM_PADDING) {
    for (int64_t i = 0; i < n; ++i) acc += (double)gmm_feature(kind, a, b, x + i * d, shift, d) * (double)resp[i * m + c];
  }
  s[e] = acc;
}
