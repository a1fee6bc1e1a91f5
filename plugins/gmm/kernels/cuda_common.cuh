/* Shared by the GMM plugin's CUDA kernels (language "cuda-c", compiled by
 * NVRTC), the counterpart of cpu_common.h: prepended to each kernel's
 * source, before params_common.h. The plugin #defines REAL, REAL_IS_DOUBLE,
 * the statuses and GMM_GROUPS (blocks of em_pass, the rows of its
 * temporaries); the core the ASP_VARIANT and template-parameter #defines. The feature map,
 * the coefficient matrix W (kp x mp) and the statistics S (kp x mp, double)
 * are those of the CPU kernels (em_common.h): feature k of a centred event x
 * is 1 (k = 0), x_{k-1} (k <= d), then x_i^2 (diag), |x|^2 (spherical) or
 * x_i x_j for i <= j in row-major order (full, tied); rows k >= K are padding. */
typedef REAL real;
typedef long long int64_t;

/* How the shared text (params_common.h, update_common.h) declares its
 * functions, and the address space of its buffers (none in CUDA). */
#define GMM_FN __device__ static inline
#define GMM_GLOBAL

#define GMM_MAX_D 64 /* the per-thread event copy of estep and em_pass; a run check keeps d within it */
