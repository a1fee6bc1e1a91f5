/* Kernel powers on an OpenCL device: one pass of PA1 (powers.c explains the
 * plan), a work-group per chunk of the plan, its work-items sharing each
 * stanza's rows; a barrier after each stanza makes a level's rows visible to
 * the whole work-group before the next stanza reads them. Work-groups need
 * no synchronisation with each other within a pass (powers.c). */
__kernel void ASP_VARIANT(AKX_MATRIX_PARAMS, __global const long* stanzas, __global const long* plan,
                          __global real* vecs, __global const double* coef, long n, AKX_SIZE_PARAMS, long s_count,
                          long cp1, long mp1, long m, long start, long steps, long tail, __global int* status) {
  __global const long* chunks = plan + (tail ? cp1 : 0);
  const long c = get_group_id(0);
  for (long s = chunks[c]; s < chunks[c + 1]; ++s) {
    __global const long* stanza = stanzas + 3 * s;
    const long level = start + stanza[0];
    __global const double* k = coef + 3 * (level - 1);
    __global const real* x = vecs + (level - 1) * n;
    __global const real* z = level >= 2 ? x - n : x;
    const real gamma = level >= 2 ? (real)k[2] : 0;
    for (long i = stanza[1] + get_local_id(0); i < stanza[2]; i += get_local_size(0)) {
      vecs[level * n + i] = akx_combine(AKX_ROW(x, i), x, z, i, (real)k[0], (real)k[1], gamma);
    }
    barrier(CLK_GLOBAL_MEM_FENCE);
  }
}
