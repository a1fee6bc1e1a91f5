/* Kernel em_pass on a device: GMM_GROUPS work-groups of GMM_BLOCK
 * work-items. Work-group g takes the contiguous events
 * [n g / GROUPS, n (g + 1) / GROUPS) in tiles of BLOCK events: each
 * work-item computes one event's responsibilities (into resp, its
 * log-likelihood into logprob: both are scratch here, the last E-step
 * writes them again), then, after a barrier, each work-item owns entries
 * (k, j) of the work-group's statistics partial_s[g] (kp x mp, double) and
 * adds the tile's z_k r_j to them in event order. partial_ll[g] is the sum
 * of the work-group's log-likelihoods. Kernel em_reduce adds the partials
 * in work-group order: the result does not depend on timing. */
__kernel void ASP_VARIANT(__global const real* x, __global const double* shift, __global const real* w,
                          __global double* s, __global double* ll, long n, long d, long m, long kp, long mp, long ctype,
                          __global real* logprob, __global real* resp, __global double* partial_s,
                          __global double* partial_ll, __global int* status) {
  const int64_t g = get_group_id(0), lid = get_local_id(0);
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) {
    if (g == 0 && lid == 0) *status = ASP_GMM_BAD_LAYOUT;
    return;
  }
  const int64_t first = n * g / GMM_GROUPS, last = n * (g + 1) / GMM_GROUPS, entries = kp * mp;
  __global double* ps = partial_s + g * entries;
  for (int64_t e = lid; e < entries; e += GMM_BLOCK) ps[e] = 0;
  double sum = 0;
  for (int64_t tile = first; tile < last; tile += GMM_BLOCK) {
    const int64_t rows = last - tile < GMM_BLOCK ? last - tile : GMM_BLOCK;
    if (lid < rows) {
      const int64_t i = tile + lid;
      logprob[i] = gmm_event(x + i * d, shift, w, d, m, kp, mp, ctype, resp + i * m);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
    for (int64_t e = lid; e < entries; e += GMM_BLOCK) {
      const int64_t k = e / mp, j = e % mp;
      int64_t a, b;
      const int kind = gmm_feature_kind(k, d, ctype, &a, &b);
      if (j >= m || kind == GMM_PADDING) continue;
      double acc = ps[e];
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = tile + r;
        acc += (double)gmm_feature(kind, a, b, x + i * d, shift, d) * (double)resp[i * m + j];
      }
      ps[e] = acc;
    }
    if (lid == 0) {
      for (int64_t r = 0; r < rows; ++r) sum += (double)logprob[tile + r];
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
  }
  if (lid == 0) partial_ll[g] = sum;
}
