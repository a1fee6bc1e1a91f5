// C with OpenMP: the outermost parallel loop becomes a parallel region that
// shares out its iterations itself, vectorized loops get `omp simd`.
#include "host_c.hpp"

namespace asp::backends {

namespace {

const char* openmp_share_decl =
    "\nint omp_get_num_threads(void);\n"
    "int omp_get_thread_num(void);\n"
    "/* This thread's share of [*begin, *end) in steps of `step`, as schedule(static) shares it out:\n"
    "   contiguous, the first (iterations % threads) threads one iteration more. */\n"
    "static inline void asp_omp_share(asp_i64* begin, asp_i64* end, asp_i64 step) {\n"
    "  const asp_i64 threads = omp_get_num_threads();\n"
    "  if (threads == 1) return;\n"
    "  const asp_i64 trips = *end > *begin ? (*end - *begin + step - 1) / step : 0;\n"
    "  const asp_i64 t = omp_get_thread_num(), q = trips / threads, r = trips % threads;\n"
    "  *begin += (t * q + (t < r ? t : r)) * step;\n"
    "  *end = *begin + (q + (t < r)) * step;\n"
    "}\n";

class COpenMPDialect final : public HostCDialect {
 public:
  COpenMPDialect() : HostCDialect("openmp") {}
  Sharing sharing() const override { return Sharing::openmp; }
  const char* simd_pragma() const override { return "#pragma omp simd"; }

 private:
  const char* loop_runtime() const override { return openmp_share_decl; }
};

}  // namespace

const Dialect& c_openmp_dialect() {
  static const COpenMPDialect dialect;
  return dialect;
}

}  // namespace asp::backends
