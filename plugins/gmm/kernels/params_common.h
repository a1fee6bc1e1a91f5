/* Shared by the kernels that turn parameters into the coefficient matrix
 * (coefficients, update): the parameters are float64 whatever the events'
 * type; covars[c] and pchol[c] are full d x d matrices for every covariance
 * type (diagonal, shared or scalar ones written out), pchol[c] a
 * triangular factor of the precision, precision = pchol pchol^T, as
 * scikit-learn's precisions_cholesky_ (upper when computed from a
 * covariance, lower when from precisions_init).
 * Language-neutral text, shared by the C and the OpenCL C kernels: after
 * cpu_common.h or opencl_common.h (real, int64_t, GMM_GLOBAL, the address
 * space of buffers). */

enum { GMM_FULL = 0, GMM_TIED = 1, GMM_DIAG = 2, GMM_SPHERICAL = 3 };

/* K, the number of features for d dimensions and a covariance type. */
GMM_FN int64_t gmm_features(int64_t d, int64_t ctype) {
  return ctype == GMM_DIAG ? 1 + 2 * d : ctype == GMM_SPHERICAL ? 2 + d : 1 + d + d * (d + 1) / 2;
}

/* Whether W and S of kp x mp hold the features of d dimensions and m
 * components padded as the micro-kernels need (GMM_NR rows, 16 columns):
 * the kernels refuse anything else (status ASP_GMM_BAD_LAYOUT). */
GMM_FN int gmm_layout_ok(int64_t d, int64_t m, int64_t kp, int64_t mp, int64_t ctype) {
  return ctype >= 0 && ctype <= 3 && d > 0 && m > 0 && kp >= gmm_features(d, ctype) && kp % 4 == 0 && mp >= m && mp % 16 == 0;
}

/* W[:, c] from weights, means (uncentred), pchol: z(x - shift) . W[:, c] =
 * log w_c + log N(x | mean_c, precision_c^-1). */
GMM_FN void gmm_coefficients(GMM_GLOBAL const double* weights, GMM_GLOBAL const double* means,
                                    GMM_GLOBAL const double* pchol, GMM_GLOBAL const double* shift, int64_t d, int64_t m,
                                    int64_t kp, int64_t mp, int64_t ctype, GMM_GLOBAL real* w, GMM_GLOBAL double* work) {
  for (int64_t e = 0; e < kp * mp; ++e) w[e] = 0;
  GMM_GLOBAL double* precision = work; /* d x d */
  GMM_GLOBAL double* mu = work + d * d; /* d, centred */
  GMM_GLOBAL double* a_mu = mu + d;     /* d */
  for (int64_t c = 0; c < m; ++c) {
    GMM_GLOBAL const double* p = pchol + c * d * d;
    for (int64_t i = 0; i < d; ++i) mu[i] = means[c * d + i] - shift[i];
    double log_det = 0;
    for (int64_t i = 0; i < d; ++i) log_det += log(p[i * d + i]);
    for (int64_t i = 0; i < d; ++i) {
      for (int64_t j = i; j < d; ++j) {
        double s = 0;
        /* all of k: a factor of precisions_init is lower triangular, one of a covariance upper */
        for (int64_t k = 0; k < d; ++k) s += p[i * d + k] * p[j * d + k];
        precision[i * d + j] = precision[j * d + i] = s;
      }
    }
    double quad = 0;
    for (int64_t i = 0; i < d; ++i) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += precision[i * d + j] * mu[j];
      a_mu[i] = s;
      quad += s * mu[i];
    }
    w[c] = (real)(log(weights[c]) + log_det - 0.5 * quad - 0.5 * (double)d * 1.8378770664093453);
    for (int64_t i = 0; i < d; ++i) w[(1 + i) * mp + c] = (real)a_mu[i];
    GMM_GLOBAL real* q = w + (1 + d) * mp + c;
    if (ctype == GMM_DIAG) {
      for (int64_t i = 0; i < d; ++i) q[i * mp] = (real)(-0.5 * precision[i * d + i]);
    } else if (ctype == GMM_SPHERICAL) {
      q[0] = (real)(-0.5 * precision[0]);
    } else {
      int64_t e = 0;
      for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = i; j < d; ++j, ++e) q[e * mp] = (real)(i == j ? -0.5 * precision[i * d + i] : -precision[i * d + j]);
      }
    }
  }
}
