/* Kernel spmv on a CUDA device: y = A x, a thread per row (spmv.cl). */
extern "C" __global__ void ASP_VARIANT(const long* indptr, const akx_index* cols, const real* data, const long* rows,
                                       const real* x, real* y, long n, long np1, long nnz, long cp1, int* status) {
  const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = akx_row(indptr, cols, data, x, i);
}
