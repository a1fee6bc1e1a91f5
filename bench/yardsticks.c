/* The yardsticks of the benchmark suite, compiled with gcc -O3 -march=native
 * -fopenmp and called from bench/suite.py through ctypes:
 *   - STREAM-style copy and triad: the memory-bandwidth ceiling;
 *   - the suite's stencils written by hand, the way a C programmer would,
 *     with the same summation order as the Python kernels (so the results
 *     are bitwise equal to Asp's). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

void stream_copy(double* restrict a, const double* restrict b, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = b[i];
}

void stream_triad(double* restrict a, const double* restrict b, const double* restrict c, double s, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

void laplacian3d(const double* restrict in, double* restrict out, int64_t n0, int64_t n1, int64_t n2) {
  const int64_t s0 = n1 * n2, s1 = n2;
#pragma omp parallel for schedule(static)
  for (int64_t i = 1; i < n0 - 1; ++i) {
    for (int64_t j = 1; j < n1 - 1; ++j) {
      const double* c = in + i * s0 + j * s1;
      double* o = out + i * s0 + j * s1;
#pragma omp simd
      for (int64_t k = 1; k < n2 - 1; ++k) {
        /* The default neighbour order of a StencilGrid: +1 then -1 along each axis. */
        o[k] = -6.0 * c[k] + c[k + s0] + c[k - s0] + c[k + s1] + c[k - s1] + c[k + 1] + c[k - 1];
      }
    }
  }
}

void laplacian2d(const double* restrict in, double* restrict out, int64_t n0, int64_t n1) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 1; i < n0 - 1; ++i) {
    const double* c = in + i * n1;
    double* o = out + i * n1;
#pragma omp simd
    for (int64_t j = 1; j < n1 - 1; ++j) o[j] = -4.0 * c[j] + c[j + n1] + c[j - n1] + c[j + 1] + c[j - 1];
  }
}

/* out[x] += in[y] * fd[(int)distance(x, y)] * fs[abs((int)(in[x] - in[y]))] over a cube of radius r. */
void bilateral3d(const double* restrict in, const double* restrict fd, const double* restrict fs,
                 double* restrict out, int64_t n, int64_t r) {
  const int64_t s0 = n * n, s1 = n;
#pragma omp parallel for schedule(static)
  for (int64_t i = r; i < n - r; ++i) {
    for (int64_t j = r; j < n - r; ++j) {
      for (int64_t k = r; k < n - r; ++k) {
        const int64_t x = i * s0 + j * s1 + k;
        double acc = out[x];
        for (int64_t a = -r; a <= r; ++a) {
          for (int64_t b = -r; b <= r; ++b) {
            for (int64_t c = -r; c <= r; ++c) {
              if (a == 0 && b == 0 && c == 0) continue;
              const int64_t y = x + a * s0 + b * s1 + c;
              const double d = sqrt((double)(a * a + b * b + c * c));
              acc = acc + in[y] * fd[(int64_t)d] * fs[llabs((int64_t)(in[x] - in[y]))];
            }
          }
        }
        out[x] = acc;
      }
    }
  }
}
