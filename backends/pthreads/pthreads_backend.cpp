// The pthreads backend: PSIR -> C whose parallel loops run on a persistent,
// hwloc-pinned thread pool (thread_pool.hpp) created once per process. The
// generated module receives the pool through asp_runtime_init.
#include "c_backend.hpp"
#include "c_compiler_probe.hpp"
#include "thread_pool.hpp"

namespace {

class PthreadsBackend : public asp::Backend {
 public:
  asp::Probe probe(asp::Call&, const asp::BackendConfig& config) override {
    return asp::backends::probe_c_compiler(config, "pthreads");
  }
  const char* language() const override { return "c"; }
  std::string generate(asp::Call&, std::string_view psir) override {
    return asp::backends::generate_checked(psir, asp::backends::c_pthreads_dialect());
  }
  const void* runtime() override { return asp::pthreads::runtime(); }
};

}  // namespace

ASP_PLUGIN("pthreads", ASP_CORE_VERSION, "C on a persistent pthread pool for multicore CPUs",
           asp::backend<PthreadsBackend>("pthreads"))
