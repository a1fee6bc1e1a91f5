/* Kernel estep on a device: one work-group of GMM_BLOCK work-items, each
 * taking the events lid, lid + BLOCK, ...: its log-likelihood into
 * logprob, its responsibilities into resp; ll = their mean, the
 * work-items' sums added in work-item order. */
__kernel void ASP_VARIANT(__global const real* x, __global const double* shift, __global const real* w,
                          __global real* logprob, __global real* resp, __global double* ll, long n, long d, long m,
                          long kp, long mp, long ctype, __global int* status) {
  __local double sums[GMM_BLOCK];
  const int64_t lid = get_local_id(0);
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (lid == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  double sum = 0;
  for (int64_t i = lid; i < n; i += GMM_BLOCK) {
    const real norm = gmm_event(x + i * d, shift, w, d, m, kp, mp, ctype, resp + i * m);
    logprob[i] = norm;
    sum += (double)norm;
  }
  sums[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {
    double total = 0;
    for (int64_t i = 0; i < GMM_BLOCK; ++i) total += sums[i];
    ll[0] = total / (double)n;
  }
}
