/* The CUDA side of the matrix-powers kernels (language "cuda-c", NVRTC): the
 * plugin defines REAL, REAL_IS_DOUBLE and COLUMNS first. Products are
 * rounded on their own (__dmul_rn, __fmul_rn): NVRTC contracts a * b + c
 * into a fused multiply-add otherwise. */
typedef REAL real; /* long is 64 bits on the hosts NVRTC compiles for (LP64), as the i64 parameters need */
#if COLUMNS == 1
typedef short akx_index;
#else
typedef int akx_index;
#endif
#define AKX_GLOBAL
#define AKX_FN static __device__ inline
#if REAL_IS_DOUBLE
#define AKX_MUL(a, b) __dmul_rn((a), (b))
#else
#define AKX_MUL(a, b) __fmul_rn((a), (b))
#endif
