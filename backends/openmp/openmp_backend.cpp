// The OpenMP backend: PSIR -> C with OpenMP pragmas (parallel loops with
// reduction clauses, simd for vectorized loops), compiled by the core's JIT
// driver configured for it.
#include "c_backend.hpp"
#include "c_compiler_probe.hpp"

namespace {

class OpenMPBackend : public asp::Backend {
 public:
  asp::Probe probe(asp::Call&, const asp::BackendConfig& config) override {
    return asp::backends::probe_c_compiler(config, "openmp");
  }
  const char* language() const override { return "c+openmp"; }
  std::string generate(asp::Call&, std::string_view psir) override {
    return asp::backends::generate_checked(psir, asp::backends::c_openmp_dialect());
  }
};

}  // namespace

ASP_PLUGIN("openmp", ASP_CORE_VERSION, "C with OpenMP pragmas for multicore CPUs",
           asp::backend<OpenMPBackend>("openmp"))
