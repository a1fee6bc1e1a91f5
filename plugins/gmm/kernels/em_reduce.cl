/* Kernel em_reduce on a device: S and ll from em_pass's per-work-group
 * partials, added in work-group order; a work-item per entry of S. */
__kernel void ASP_VARIANT(__global const double* partial_s, __global const double* partial_ll, __global double* s,
                          __global double* ll, long n, long kp, long mp, __global int* status) {
  const int64_t e = get_global_id(0), entries = kp * mp;
  if (e < entries) {
    double acc = partial_s[e];
    for (int64_t g = 1; g < GMM_GROUPS; ++g) acc += partial_s[g * entries + e];
    s[e] = acc;
  }
  if (e == 0) {
    double total = partial_ll[0];
    for (int64_t g = 1; g < GMM_GROUPS; ++g) total += partial_ll[g];
    ll[0] = total / (double)n;
  }
}
