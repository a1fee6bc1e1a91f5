/* Kernel spmv on an OpenCL device: y = A x, a work-item per row. The rows
 * parameter (the host's chunks) is not used. */
__kernel void ASP_VARIANT(AKX_MATRIX_PARAMS, __global const long* rows, __global const real* x, __global real* y,
                          long n, AKX_SIZE_PARAMS, long cp1, __global int* status) {
  const long i = get_global_id(0);
  if (i < n) y[i] = AKX_ROW(x, i);
}
