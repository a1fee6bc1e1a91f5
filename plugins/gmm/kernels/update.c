/* Kernel update: the M-step from the statistics S of em_pass, as
 * scikit-learn's _m_step (nk = sum r + 10 eps, weights nk / sum nk, means,
 * covariances plus reg on the diagonal, their precision Cholesky factors),
 * then W for the next E-step. A covariance that is not positive definite
 * stops here: info[0] = its component + 1 (else 0), parameters unchanged.
 * With `original` set (the original asp GMM API), a component whose count is
 * below 1 gets a zero covariance plus reg, as the original code did.
 * Parameters: S (kp, mp) f64, shift (d) f64, weights (m), means (m, d),
 * covars (m, d, d), pchol (m, d, d) f64, W (kp, mp) real, info (1) f64,
 * n, d, m, kp, mp, ctype, reg f64, original. */
#if REAL_IS_DOUBLE
#define GMM_EPS 2.220446049250313e-16
#else
#define GMM_EPS 1.1920928955078125e-07
#endif

/* The lower Cholesky factor of a (d x d, in place, upper part left as is);
 * 0 when a is not positive definite. */
static int gmm_cholesky(double* a, int64_t d) {
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
static void gmm_precision_cholesky(const double* l, int64_t d, double* pchol) {
  memset(pchol, 0, (size_t)(d * d) * sizeof(double));
  for (int64_t col = 0; col < d; ++col) {
    /* column `col` of L^-1: forward substitution of L y = e_col; y is row `col` of pchol */
    for (int64_t i = col; i < d; ++i) {
      double s = i == col ? 1.0 : 0.0;
      for (int64_t k = col; k < i; ++k) s -= l[i * d + k] * pchol[col * d + k];
      pchol[col * d + i] = s / l[i * d + i];
    }
  }
}

int ASP_VARIANT(void* const* args) {
  const double* s = (const double*)args[0];
  const double* shift = (const double*)args[1];
  double* weights = (double*)args[2];
  double* means = (double*)args[3];
  double* covars = (double*)args[4];
  double* pchol = (double*)args[5];
  real* w = (real*)args[6];
  double* info = (double*)args[7];
  const int64_t d = *(const int64_t*)args[9], m = *(const int64_t*)args[10], kp = *(const int64_t*)args[11],
                mp = *(const int64_t*)args[12], ctype = *(const int64_t*)args[13];
  const double reg = *(const double*)args[14];
  const int64_t original = *(const int64_t*)args[15];
  if (!gmm_layout_ok(d, m, kp, mp, ctype)) return ASP_GMM_BAD_LAYOUT;
  info[0] = 0;
  /* Work on copies: the parameters change only when every component succeeded. */
  const size_t dd = (size_t)(d * d);
  double* work = (double*)malloc(((size_t)m * (2 * dd + (size_t)d + 1) + dd + 2 * (size_t)d + 1) * sizeof(double));
  if (!work) return ASP_GMM_OUT_OF_MEMORY;
  double* new_w = work;
  double* new_means = new_w + m;          /* m x d, centred */
  double* new_covars = new_means + m * d; /* m x d x d */
  double* new_pchol = new_covars + m * dd;
  double* scratch = new_pchol + m * dd;   /* d x d + 2d + 1 */
  double total = 0;
  for (int64_t c = 0; c < m; ++c) {
    const double s0 = s[c];
    const double nk = s0 + 10 * GMM_EPS;
    new_w[c] = nk;
    total += nk;
    for (int64_t i = 0; i < d; ++i) new_means[c * d + i] = s[(1 + i) * mp + c] / nk;
  }
  const double* quad = s + (1 + d) * mp;
  for (int64_t c = 0; c < m; ++c) {
    const double s0 = s[c], nk = new_w[c];
    const double* mu = new_means + c * d;
    double* cov = new_covars + c * dd;
    memset(cov, 0, dd * sizeof(double));
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
    double* cov = new_covars;
    int64_t e = 0;
    for (int64_t i = 0; i < d; ++i) {
      for (int64_t j = i; j < d; ++j, ++e) {
        double v = 0;
        for (int64_t c = 0; c < m; ++c) v += quad[e * mp + c] - new_w[c] * new_means[c * d + i] * new_means[c * d + j];
        cov[i * d + j] = cov[j * d + i] = v / total;
      }
    }
    for (int64_t c = 1; c < m; ++c) memcpy(new_covars + c * dd, cov, dd * sizeof(double));
  }
  for (int64_t c = 0; c < m; ++c) {
    double* cov = new_covars + c * dd;
    for (int64_t i = 0; i < d; ++i) cov[i * d + i] += reg;
    double* p = new_pchol + c * dd;
    if (ctype == GMM_DIAG || ctype == GMM_SPHERICAL) {
      memset(p, 0, dd * sizeof(double));
      for (int64_t i = 0; i < d; ++i) {
        if (!(cov[i * d + i] > 0)) {
          info[0] = (double)(c + 1);
          break;
        }
        p[i * d + i] = 1.0 / sqrt(cov[i * d + i]);
      }
    } else {
      memcpy(scratch, cov, dd * sizeof(double));
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
    memcpy(covars, new_covars, (size_t)m * dd * sizeof(double));
    memcpy(pchol, new_pchol, (size_t)m * dd * sizeof(double));
    gmm_coefficients(weights, means, pchol, shift, d, m, kp, mp, ctype, w, scratch);
  }
  free(work);
  return 0;
}
