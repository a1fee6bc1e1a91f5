/* The OpenCL C side of the matrix-powers kernels (language "opencl-c"): the
 * plugin defines REAL, REAL_IS_DOUBLE and COLUMNS first. */
#if REAL_IS_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#pragma OPENCL FP_CONTRACT OFF
typedef REAL real;
#if COLUMNS == 1
typedef short akx_index;
#else
typedef int akx_index;
#endif
#define AKX_GLOBAL __global
#define AKX_FN static inline
#define AKX_MUL(a, b) ((a) * (b))
