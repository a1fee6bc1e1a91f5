/* Kernel spmv_dia on an OpenCL device: y = A x on the diagonal form, a
 * work-item per row. */
__kernel void ASP_VARIANT(__global const long* offsets, __global const real* data, __global const long* rows,
                          __global const real* x, __global real* y, long n, long nd, long cp1, __global int* status) {
  const long i = get_global_id(0);
  if (i < n) y[i] = akx_dia_row(offsets, nd, data, n, x, i);
}
