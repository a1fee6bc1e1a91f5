/* Shared by the kernels that turn parameters into the coefficient matrix
 * (coefficients, update): the parameters are float64 whatever the events'
 * type; covars[c] and pchol[c] are full d x d matrices for every covariance
 * type (diagonal, shared or scalar ones written out), pchol[c] a
 * triangular factor of the precision, precision = pchol pchol^T, as
 * scikit-learn's precisions_cholesky_ (upper when computed from a
 * covariance, lower when from precisions_init). */

/* W[:, c] from weights, means (uncentred), pchol: z(x - shift) . W[:, c] =
 * log w_c + log N(x | mean_c, precision_c^-1). */
static inline void gmm_coefficients(const double* weights, const double* means, const double* pchol, const double* shift,
                             int64_t d, int64_t m, int64_t kp, int64_t mp, int64_t ctype, real* w, double* work) {
  memset(w, 0, (size_t)(kp * mp) * sizeof(real));
  double* precision = work;  /* d x d */
  double* mu = work + d * d;  /* d, centred */
  double* a_mu = mu + d;      /* d */
  for (int64_t c = 0; c < m; ++c) {
    const double* p = pchol + c * d * d;
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
    real* q = w + (1 + d) * mp + c;
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
