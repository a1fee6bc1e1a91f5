// The OpenMP backend: PSIR -> C with OpenMP pragmas. This library so far
// provides the probe; code generation arrives with the Kernel IR.
#include "c_compiler_probe.hpp"

namespace {

class OpenMPBackend : public asp::Backend {
 public:
  asp::Probe probe(asp::Call&, const asp::BackendConfig& config) override {
    return asp::backends::probe_c_compiler(config, "openmp");
  }
};

}  // namespace

ASP_PLUGIN("openmp", ASP_CORE_VERSION, "C with OpenMP pragmas for multicore CPUs",
           asp::backend<OpenMPBackend>("openmp"))
