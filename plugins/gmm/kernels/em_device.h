/* Shared by the device kernels that pass over the events (OpenCL C and
 * CUDA: em_pass, estep, mstep_stats), after opencl_common.h or
 * cuda_common.cuh and params_common.h: the counterpart of em_common.h, a
 * work-item (thread) per event. */

/* ---- one event, by a work-item ------------------------------------------
 * The feature map of cpu_common.h computed on the fly from x: feature k of
 * the centred event, described by (kind, a, b) once per k. */
enum { GMM_ONE = 0, GMM_LINEAR = 1, GMM_PRODUCT = 2, GMM_SQUARES = 3, GMM_PADDING = 4 };

GMM_FN int gmm_feature_kind(int64_t k, int64_t d, int64_t ctype, int64_t* a, int64_t* b) {
  *a = 0;
  *b = 0;
  if (k == 0) return GMM_ONE;
  if (k <= d) {
    *a = k - 1;
    return GMM_LINEAR;
  }
  int64_t q = k - 1 - d;
  if (ctype == GMM_DIAG) {
    if (q >= d) return GMM_PADDING;
    *a = *b = q;
    return GMM_PRODUCT;
  }
  if (ctype == GMM_SPHERICAL) return q == 0 ? GMM_SQUARES : GMM_PADDING;
  for (int64_t i = 0; i < d; ++i) {
    if (q < d - i) {
      *a = i;
      *b = i + q;
      return GMM_PRODUCT;
    }
    q -= d - i;
  }
  return GMM_PADDING;
}

GMM_FN real gmm_linear(GMM_GLOBAL const real* x, GMM_GLOBAL const double* shift, int64_t a) {
  return (real)(x[a] - shift[a]);
}

GMM_FN real gmm_feature(int kind, int64_t a, int64_t b, GMM_GLOBAL const real* x, GMM_GLOBAL const double* shift,
                               int64_t d) {
  switch (kind) {
    case GMM_ONE:
      return (real)1;
    case GMM_LINEAR:
      return gmm_linear(x, shift, a);
    case GMM_PRODUCT:
      return gmm_linear(x, shift, a) * gmm_linear(x, shift, b);
    case GMM_SQUARES: {
      real s = 0;
      for (int64_t i = 0; i < d; ++i) {
        const real l = gmm_linear(x, shift, i);
        s += l * l;
      }
      return s;
    }
    default:
      return (real)0;
  }
}

/* Event x (d values): its row of L = z(x) W, the log-sum-exp over the m
 * components (returned), and the responsibilities into r (m values): the
 * arithmetic of gmm_log_density and gmm_normalise, in the same order. */
GMM_FN real gmm_event(GMM_GLOBAL const real* x, GMM_GLOBAL const double* shift, GMM_GLOBAL const real* w, int64_t d,
                             int64_t m, int64_t kp, int64_t mp, int64_t ctype, GMM_GLOBAL real* r) {
  /* r = z(x) W, k ascending for every component (gmm_log_density's order), each feature decoded once */
  for (int64_t j = 0; j < m; ++j) r[j] = 0;
  for (int64_t k = 0; k < kp; ++k) {
    int64_t a, b;
    const int kind = gmm_feature_kind(k, d, ctype, &a, &b);
    if (kind == GMM_PADDING) break;
    const real z = gmm_feature(kind, a, b, x, shift, d);
    GMM_GLOBAL const real* wk = w + k * mp;
    for (int64_t j = 0; j < m; ++j) r[j] += z * wk[j];
  }
  real top = r[0];
  for (int64_t j = 1; j < m; ++j) top = r[j] > top ? r[j] : top;
  real total = 0;
  for (int64_t j = 0; j < m; ++j) {
    const real e = exp(r[j] - top);
    r[j] = e;
    total += e;
  }
  const real norm = top + (real)log((double)total);
  const real inverse = (real)(1.0 / (double)total);
  for (int64_t j = 0; j < m; ++j) r[j] *= inverse;
  return norm;
}

/* Entry e of S (and, for e = 0, ll) from the per-group partials of the
 * device em_pass, added in group order: em_reduce's work item e. */
GMM_FN void gmm_reduce_entry(int64_t e, GMM_GLOBAL const double* partial_s, GMM_GLOBAL const double* partial_ll,
                             GMM_GLOBAL double* s, GMM_GLOBAL double* ll, int64_t n, int64_t kp, int64_t mp) {
  const int64_t entries = kp * mp;
  if (e < entries) {
    double acc = partial_s[e];
    for (int64_t g = 1; g < GMM_GROUPS; ++g) acc += partial_s[g * entries + e];
    s[e] = acc;
  }
  if (e == 0) {
    double total = partial_ll[0];
    for (int64_t g = 1; g < GMM_GROUPS; ++g) total += partial_ll[g];
    ll[0] = total / (double)n;
  }
}
