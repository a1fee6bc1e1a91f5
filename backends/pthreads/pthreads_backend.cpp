// The pthreads backend: PSIR -> C on a persistent, hwloc-pinned thread pool.
// This library so far provides the probe; code generation arrives with the Kernel IR.
#include "c_compiler_probe.hpp"

namespace {

class PthreadsBackend : public asp::Backend {
 public:
  asp::Probe probe(asp::Call&, const asp::BackendConfig& config) override {
    return asp::backends::probe_c_compiler(config, "pthreads");
  }
};

}  // namespace

ASP_PLUGIN("pthreads", ASP_CORE_VERSION, "C on a persistent pthread pool for multicore CPUs",
           asp::backend<PthreadsBackend>("pthreads"))
