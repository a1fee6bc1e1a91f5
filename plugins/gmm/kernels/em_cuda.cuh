/* Shared by the CUDA kernels that reduce over a block, after em_device.h. */

/* Sums v over the block (blockDim.x a power of two, at most 1024) into every thread's result. */
__device__ inline double gmm_block_sum(double v, double* scratch) {
  scratch[threadIdx.x] = v;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) scratch[threadIdx.x] += scratch[threadIdx.x + stride];
    __syncthreads();
  }
  const double total = scratch[0];
  __syncthreads();
  return total;
}
