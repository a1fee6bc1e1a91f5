/* Kernel spmv on an OpenCL device: y = A x, a work-item per row. The rows
 * parameter (the host's chunks) is not used. */
__kernel void ASP_VARIANT(__global const long* indptr, __global const akx_index* cols, __global const real* data,
                          __global const long* rows, __global const real* x, __global real* y, long n, long np1, long nnz, long cp1,
                          __global int* status) {
  const long i = get_global_id(0);
  if (i < n) y[i] = akx_row(indptr, cols, data, x, i);
}
