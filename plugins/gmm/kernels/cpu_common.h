/* Shared by the GMM plugin's hand-written CPU kernels (languages "c" and, on
 * the openmp backend, compiled with OpenMP). Prepended to each kernel's
 * source; the core puts the ASP_VARIANT and template-parameter #defines
 * before it, the plugin `#define REAL double` or `float`; params_common.h
 * (the covariance types, the layout check) follows it.
 *
 * EM on a feature map (DESIGN.md §12; README.md, "The GMM specializer"): for events x
 * (centred by `shift`), the features z(x) are
 *     full, tied:  [1, x_0..x_{D-1}, x_i x_j for i <= j]   K = 1 + D + D(D+1)/2
 *     diag:        [1, x_0..x_{D-1}, x_0^2..x_{D-1}^2]       K = 1 + 2D
 *     spherical:   [1, x_0..x_{D-1}, |x|^2]                  K = 2 + D
 * so that every component's weighted log-density is one dot product
 * log(w_m) + log N(x | mu_m, Sigma_m) = z(x) . W[:, m], and the E-step of a
 * block of events is the GEMM Z W. The M-step's sufficient statistics
 * (sum r, sum r x, sum r x x^T) are the GEMM Z^T R with the responsibilities
 * R: both are computed in one pass over the events, from one Z per block. */
#pragma STDC FP_CONTRACT ON
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef REAL real;
/* How the shared text (params_common.h, update_common.h) declares its functions. */
#define GMM_FN static inline

/* The address space of the kernels' buffers in the text shared with the
 * OpenCL kernels (params_common.h, update_common.h): none in C. */
#define GMM_GLOBAL

/* The chunks run in parallel by asp_cpu_parallel (<asp/cpu_kernel.h>, put
 * before this text by the plugin). */
