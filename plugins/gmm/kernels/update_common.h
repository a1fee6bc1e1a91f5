/* The M-step of kernel update (update.c, update.cl), language-neutral
 * text after params_common.h: scikit-learn's _m_step from the statistics S
 * of em_pass (nk = sum r + 10 eps, weights nk / sum nk, means, covariances
 * plus reg on the diagonal, their precision Cholesky factors), then W for
 * the next E-step. A covariance that is not positive definite stops here:
 * info[0] = its component + 1 (else 0), parameters unchanged. With
 * `original` set (the original asp GMM API), a component whose count is
 * below 1 gets a zero covariance plus reg, as the original code did.
 * `work` holds GMM_UPDATE_WORK(d, m) doubles. */
#if REAL_IS_DOUBLE
#define GMM_EPS 2.220446049250313e-16
#else
#define GMM_EPS 1.1920928955078125e-07
#endif

#define GMM_UPDATE_WORK(d, m) ((m) * (2 * (d) * (d) + (d) + 1) + (d) * (d) + 2 * (d) + 1)

/* The lower Cholesky factor of a (d x d, in place, upper part left as is);
 * 0 when a is not positive definite. */
GMM_FN int gmm_cholesky(GMM_GLOBAL double* a, int64_t d) {
  for (int64_t j = 0; j < d; ++j) {
    double diag = a[j * d + j];
    for (int64_t k = 0; k < j; ++k) diag -= a[j * d + k] * a[j * d + k];
    if (!(diag > 0)) return 0;
    diag = sqrt(diag);
    a[j * d + j] = diag;
    for (int64_t i = j + 1; i < d; ++i) {
      double s = a[i * d + j];
      for (int64_t k = 0; k < j; ++k) s -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = s / diag;
    }
  }
  return 1;
}

/* pchol = (L^-1)^T for the lower factor L (scikit-learn's solve_triangular(L, I, lower=True).T). */
GMM_FN void gmm_precision_cholesky(GMM_GLOBAL const double* l, int64_t d, GMM_GLOBAL double* pchol) {
  for (int64_t e = 0; e < d * d; ++e) pchol[e] = 0;
  for (int64_t col = 0; col < d; ++col) {
    /* column `col` of L^-1: forward substitution of L y = e_col; y is row `col` of pchol */
    for (int64_t i = col; i < d; ++i) {
      double s = i == col ? 1.0 : 0.0;
      for (int64_t k = col; k < i; ++k) s -= l[i * d + k] * pchol[col * d + k];
      pchol[col * d + i] = s / l[i * d + i];
    }
  }
}

GMM_FN void gmm_copy(GMM_GLOBAL double* to, GMM_GLOBAL const double* from, int64_t count) {
  for (int64_t e = 0; e < count; ++e) to[e] = from[e];
}

GMM_FN void gmm_m_step(GMM_GLOBAL const double* s, GMM_GLOBAL const double* shift, GMM_GLOBAL double* weights,
                       GMM_GLOBAL double* means, GMM_GLOBAL double* covars, GMM_GLOBAL double* pchol, GMM_GLOBAL real* w,
                       GMM_GLOBAL double* info, int64_t d, int64_t m, int64_t kp, int64_t mp, int64_t ctype, double reg,
                       int64_t original, GMM_GLOBAL double* work) {
  info[0] = 0;
  /* Work on copies: the parameters change only when every component succeeded. */
  const int64_t dd = d * d;
  GMM_GLOBAL double* new_w = work;
  GMM_GLOBAL double* new_means = new_w + m;          /* m x d, centred */
  GMM_GLOBAL double* new_covars = new_means + m * d; /* m x d x d */
  GMM_GLOBAL double* new_pchol = new_covars + m * dd;
  GMM_GLOBAL double* scratch = new_pchol + m * dd;   /* d x d + 2d + 1 */
  double total = 0;
  for (int64_t c = 0; c < m; ++c) {
    const double s0 = s[c];
    const double nk = s0 + 10 * GMM_EPS;
    new_w[c] = nk;
    total += nk;
    for (int64_t i = 0; i < d; ++i) new_means[c * d + i] = s[(1 + i) * mp + c] / nk;
  }
  GMM_GLOBAL const double* quad = s + (1 + d) * mp;
  for (int64_t c = 0; c < m; ++c) {
    const double s0 = s[c], nk = new_w[c];
    GMM_GLOBAL const double* mu = new_means + c * d;
    GMM_GLOBAL double* cov = new_covars + c * dd;
    for (int64_t e = 0; e < dd; ++e) cov[e] = 0;
    const int empty = original && s0 < 1.0;
    if (ctype == GMM_FULL) {
      int64_t e = 0;
      for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = i; j < d; ++j, ++e) {
          const double v = empty ? 0.0 : (quad[e * mp + c] - (2 * nk - s0) * mu[i] * mu[j]) / nk;
          cov[i * d + j] = cov[j * d + i] = v;
        }
      }
    } else if (ctype == GMM_DIAG) {
      for (int64_t i = 0; i < d; ++i) cov[i * d + i] = empty ? 0.0 : quad[i * mp + c] / nk - mu[i] * mu[i];
    } else if (ctype == GMM_SPHERICAL) {
      double v = quad[c] / nk;
      for (int64_t i = 0; i < d; ++i) v -= mu[i] * mu[i];
      v = empty ? 0.0 : v / (double)d;
      for (int64_t i = 0; i < d; ++i) cov[i * d + i] = v;
    }
  }
  if (ctype == GMM_TIED) {
    /* scikit-learn: (sum_n x x^T - sum_c nk mu mu^T) / sum nk, plus reg */
    GMM_GLOBAL double* cov = new_covars;
    int64_t e = 0;
    for (int64_t i = 0; i < d; ++i) {
      for (int64_t j = i; j < d; ++j, ++e) {
        double v = 0;
        for (int64_t c = 0; c < m; ++c) v += quad[e * mp + c] - new_w[c] * new_means[c * d + i] * new_means[c * d + j];
        cov[i * d + j] = cov[j * d + i] = v / total;
      }
    }
    for (int64_t c = 1; c < m; ++c) gmm_copy(new_covars + c * dd, cov, dd);
  }
  for (int64_t c = 0; c < m; ++c) {
    GMM_GLOBAL double* cov = new_covars + c * dd;
    for (int64_t i = 0; i < d; ++i) cov[i * d + i] += reg;
    GMM_GLOBAL double* p = new_pchol + c * dd;
    if (ctype == GMM_DIAG || ctype == GMM_SPHERICAL) {
      for (int64_t e = 0; e < dd; ++e) p[e] = 0;
      for (int64_t i = 0; i < d; ++i) {
        if (!(cov[i * d + i] > 0)) {
          info[0] = (double)(c + 1);
          break;
        }
        p[i * d + i] = 1.0 / sqrt(cov[i * d + i]);
      }
    } else {
      gmm_copy(scratch, cov, dd);
      if (gmm_cholesky(scratch, d)) {
        gmm_precision_cholesky(scratch, d, p);
      } else {
        info[0] = (double)(c + 1);
      }
    }
    if (info[0] != 0) break;
  }
  if (info[0] == 0) {
    for (int64_t c = 0; c < m; ++c) {
      weights[c] = new_w[c] / total;
      for (int64_t i = 0; i < d; ++i) means[c * d + i] = new_means[c * d + i] + shift[i];
    }
    gmm_copy(covars, new_covars, m * dd);
    gmm_copy(pchol, new_pchol, m * dd);
    gmm_coefficients(weights, means, pchol, shift, d, m, kp, mp, ctype, w, scratch);
  }
}
