/* Shared by the kernels that pass over the events (em_pass, estep), after
 * cpu_common.h: a vectorisable exp, the feature block and the two GEMMs.
 * MR (accumulator columns) and NB (events per block) are template
 * parameters. */

/* ---- exp, vectorisable --------------------------------------------------
 * exp(x) for x <= 0 (log-sum-exp terms): 2^k e^r with |r| <= ln2/2, e^r by
 * its Taylor series (degree 13 in double, 7 in float: below half an ulp of
 * truncation error), 2^k built in the exponent bits. Branch-free, so the
 * loops over components that call it vectorise. Below the smallest normal
 * result it returns 0. */
#if REAL_IS_DOUBLE
static inline real gmm_exp(real x) {
  const double big = 0x1.8p52;
  const double t = x < -708.0 ? -708.0 : x;
  const double kb = t * 1.4426950408889634 + big;
  const double k = kb - big;
  const double r = (t - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  int64_t bits;
  memcpy(&bits, &kb, sizeof bits);
  bits = (bits - 0x4338000000000000LL + 1023) << 52;
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return x < -708.0 ? 0.0 : p * scale;
}
#else
static inline real gmm_exp(real x) {
  const float big = 0x1.8p23f;
  const float t = x < -87.0f ? -87.0f : x;
  const float kb = t * 1.44269504f + big;
  const float k = kb - big;
  const float r = (t - k * 0.693359375f) + k * 2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits;
  memcpy(&bits, &kb, sizeof bits);
  bits = (bits - 0x4B400000 + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return x < -87.0f ? 0.0f : p * scale;
}
#endif

/* How many contiguous ranges of events to split n into: one per thread, and
 * at least a block of NB events each. */
static inline int64_t gmm_chunks(int64_t n) {
  int64_t chunks = asp_cpu_threads();
  if (chunks > (n + NB - 1) / NB) chunks = (n + NB - 1) / NB;
  return chunks < 1 ? 1 : chunks;
}

/* ---- the feature block --------------------------------------------------
 * Z (rows events, kp columns, zero past K and past the last event). */
static inline void gmm_feature_block(const real* x, int64_t rows, int64_t nb, const double* shift, int64_t d, int64_t kp,
                              int64_t ctype, real* z) {
  for (int64_t i = 0; i < nb; ++i) {
    real* zi = z + i * kp;
    memset(zi, 0, (size_t)kp * sizeof(real));
    if (i >= rows) continue;
    const real* xi = x + i * d;
    real* lin = zi + 1;
    zi[0] = 1;
    for (int64_t a = 0; a < d; ++a) lin[a] = (real)(xi[a] - shift[a]);
    real* quad = lin + d;
    if (ctype == GMM_DIAG) {
      for (int64_t a = 0; a < d; ++a) quad[a] = lin[a] * lin[a];
    } else if (ctype == GMM_SPHERICAL) {
      real s = 0;
      for (int64_t a = 0; a < d; ++a) s += lin[a] * lin[a];
      quad[0] = s;
    } else {
      for (int64_t a = 0; a < d; ++a) {
        const real la = lin[a];
        for (int64_t b = a; b < d; ++b) *quad++ = la * lin[b];
      }
    }
  }
}

/* ---- the two GEMMs, register-blocked -------------------------------------
 * NR rows by MR columns of accumulators; MR (a template parameter) is a
 * multiple of the vector width on every x86 and Arm target, so the inner
 * loops vectorise without naming an instruction set. */
#define GMM_NR 4

/* L (nb x mp) = Z (nb x kp) W (kp x mp); nb % NR == 0, mp % MR == 0. */
static inline void gmm_log_density(const real* z, const real* w, int64_t nb, int64_t kp, int64_t mp, real* l) {
  for (int64_t i0 = 0; i0 < nb; i0 += GMM_NR) {
    for (int64_t j0 = 0; j0 < mp; j0 += MR) {
      real acc[GMM_NR][MR];
      for (int i = 0; i < GMM_NR; ++i)
        for (int j = 0; j < MR; ++j) acc[i][j] = 0;
      const real* zr = z + i0 * kp;
      const real* wc = w + j0;
      for (int64_t k = 0; k < kp; ++k) {
        const real* wk = wc + k * mp;
        for (int i = 0; i < GMM_NR; ++i) {
          const real a = zr[i * kp + k];
          for (int j = 0; j < MR; ++j) acc[i][j] += a * wk[j];
        }
      }
      for (int i = 0; i < GMM_NR; ++i)
        for (int j = 0; j < MR; ++j) l[(i0 + i) * mp + j0 + j] = acc[i][j];
    }
  }
}

/* S (kp x mp, double) += Z^T (kp x nb) R (nb x mp); kp % NR == 0. */
static inline void gmm_statistics(const real* z, const real* r, int64_t nb, int64_t kp, int64_t mp, double* s) {
  for (int64_t k0 = 0; k0 < kp; k0 += GMM_NR) {
    for (int64_t j0 = 0; j0 < mp; j0 += MR) {
      real acc[GMM_NR][MR];
      for (int i = 0; i < GMM_NR; ++i)
        for (int j = 0; j < MR; ++j) acc[i][j] = 0;
      for (int64_t n = 0; n < nb; ++n) {
        const real* rn = r + n * mp + j0;
        const real* zn = z + n * kp + k0;
        for (int i = 0; i < GMM_NR; ++i) {
          const real a = zn[i];
          for (int j = 0; j < MR; ++j) acc[i][j] += a * rn[j];
        }
      }
      for (int i = 0; i < GMM_NR; ++i)
        for (int j = 0; j < MR; ++j) s[(k0 + i) * mp + j0 + j] += acc[i][j];
    }
  }
}

/* Per event of the block: its log-likelihood (log-sum-exp over the m
 * components of its row of L) into lse, and L's row turned into the
 * responsibilities (zero in the padding columns). Returns the sum of lse.
 * The maximum and the sum run in GMM_LANES interleaved partial results, so
 * they vectorise without reassociating anything the compiler may not. */
#define GMM_LANES 16 /* divides mp */
static inline double gmm_normalise(real* l, int64_t rows, int64_t m, int64_t mp, real* lse) {
  double sum = 0;
  for (int64_t i = 0; i < rows; ++i) {
    real* li = l + i * mp;
    for (int64_t j = m; j < mp; ++j) li[j] = -INFINITY; /* exp gives 0 */
    real top[GMM_LANES];
    for (int k = 0; k < GMM_LANES; ++k) top[k] = li[k];
    for (int64_t j = GMM_LANES; j < mp; j += GMM_LANES)
      for (int k = 0; k < GMM_LANES; ++k) top[k] = li[j + k] > top[k] ? li[j + k] : top[k];
    real t = top[0];
    for (int k = 1; k < GMM_LANES; ++k) t = top[k] > t ? top[k] : t;
    real part[GMM_LANES];
    for (int k = 0; k < GMM_LANES; ++k) part[k] = 0;
    for (int64_t j = 0; j < mp; j += GMM_LANES) {
      for (int k = 0; k < GMM_LANES; ++k) {
        const real e = gmm_exp(li[j + k] - t);
        li[j + k] = e;
        part[k] += e;
      }
    }
    real total = 0;
    for (int k = 0; k < GMM_LANES; ++k) total += part[k];
    const real norm = t + (real)log((double)total);
    const real inverse = (real)(1.0 / (double)total);
    for (int64_t j = 0; j < mp; ++j) li[j] *= inverse;
    lse[i] = norm;
    sum += norm;
  }
  return sum;
}
