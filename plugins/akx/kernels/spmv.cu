/* Kernel spmv on a CUDA device: y = A x, a thread per row (spmv.cl). */
extern "C" __global__ void ASP_VARIANT(AKX_MATRIX_PARAMS, const long* rows, const real* x, real* y, long n,
                                       AKX_SIZE_PARAMS, long cp1, int* status) {
  const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = AKX_ROW(x, i);
}
