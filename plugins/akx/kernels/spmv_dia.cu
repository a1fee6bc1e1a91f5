/* Kernel spmv_dia on a CUDA device: y = A x on the diagonal form, a thread per row. */
extern "C" __global__ void ASP_VARIANT(const long* offsets, const real* data, const long* rows, const real* x,
                                       real* y, long n, long nd, long cp1, int* status) {
  const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = akx_dia_row(offsets, nd, data, n, x, i);
}
