// C with the pthread pool: the outermost parallel loop becomes chunk
// functions that the backend's persistent pool runs (<pthreads_runtime.h>).
#include "host_c.hpp"

#include <asp/plugin.h>

namespace asp::backends {

namespace {

const char* pthreads_runtime_decl =
    "\n/* Mirrors struct asp_pthreads_runtime of backends/pthreads/pthreads_runtime.h. */\n"
    "struct asp_pthreads_runtime {\n"
    "  __SIZE_TYPE__ struct_size;\n"
    "  void* pool;\n"
    "  void (*parallel_for)(void* pool, asp_i64 begin, asp_i64 end, asp_i64 step, int schedule,\n"
    "                       void (*body)(void*, asp_i64, asp_i64), void* context);\n"
    "  void (*lock)(void* pool);\n"
    "  void (*unlock)(void* pool);\n"
    "  int threads;\n"
    "};\n"
    "static const struct asp_pthreads_runtime* asp_rt;\n"
    "void " ASP_C_RUNTIME_INIT_SYMBOL "(const void* runtime) { asp_rt = (const struct asp_pthreads_runtime*)runtime; }\n";

class CPthreadsDialect final : public HostCDialect {
 public:
  CPthreadsDialect() : HostCDialect("pthreads") {}
  Sharing sharing() const override { return Sharing::pool; }

 private:
  const char* loop_runtime() const override { return pthreads_runtime_decl; }
};

}  // namespace

const Dialect& c_pthreads_dialect() {
  static const CPthreadsDialect dialect;
  return dialect;
}

}  // namespace asp::backends
