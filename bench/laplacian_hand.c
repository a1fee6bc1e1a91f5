/* The 3-D 7-point Laplacian written by hand, the way a C programmer would,
 * compiled with gcc -O3 -march=native -fopenmp: the yardstick for Asp's
 * generated code. Same summation order as the PSIR kernel. */
#include <stdint.h>

void laplacian_hand(const double* restrict in, double* restrict out, int64_t n0, int64_t n1, int64_t n2) {
  const int64_t s0 = n1 * n2, s1 = n2;
#pragma omp parallel for schedule(static)
  for (int64_t i = 1; i < n0 - 1; ++i) {
    for (int64_t j = 1; j < n1 - 1; ++j) {
      const double* c = in + i * s0 + j * s1;
      double* o = out + i * s0 + j * s1;
#pragma omp simd
      for (int64_t k = 1; k < n2 - 1; ++k) {
        o[k] = -6.0 * c[k] + c[k - s0] + c[k + s0] + c[k - s1] + c[k + s1] + c[k - 1] + c[k + 1];
      }
    }
  }
}
