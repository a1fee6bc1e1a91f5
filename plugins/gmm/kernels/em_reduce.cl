/* Kernel em_reduce on a device: S and ll from em_pass's per-work-group
 * partials, added in work-group order; a work-item per entry of S (em_device.h). */
__kernel void ASP_VARIANT(__global const double* partial_s, __global const double* partial_ll, __global double* s,
                          __global double* ll, long n, long kp, long mp, __global int* status) {
  gmm_reduce_entry(get_global_id(0), partial_s, partial_ll, s, ll, n, kp, mp);
}
