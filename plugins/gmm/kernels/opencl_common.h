/* Shared by the GMM plugin's OpenCL C kernels (language "opencl-c"), the
 * counterpart of cpu_common.h: prepended to each kernel's source, before
 * params_common.h. The plugin #defines REAL, REAL_IS_DOUBLE, the statuses,
 * GMM_GROUPS (work-groups of em_pass, the rows of its temporaries) and
 * GMM_BLOCK (work-items per work-group). The parameters are float64 whatever
 * the events' type, so every kernel needs cl_khr_fp64. */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT ON

typedef REAL real;
typedef long int64_t;

/* How the shared text declares its functions, and the address space of every buffer in it. */
#define GMM_FN static inline
#define GMM_GLOBAL __global
