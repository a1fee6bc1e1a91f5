// The stencil specializer as an Asp plugin: its frontend, the DSIR optimizers
// (run by the core in this order) and the lowering to PSIR.
#include "stencil/dsir_text.hpp"
#include "stencil/dsir_verify.hpp"
#include "stencil/frontend.hpp"
#include "stencil/lowering.hpp"
#include "stencil/optimizers.hpp"

#include <asp/plugin.hpp>
#include <asp/psir_text.hpp>

namespace {

using namespace asp::stencil;

// DSIR from another component is checked before it is used.
Kernel read_dsir(std::string_view text) {
  Kernel k = parse(text);
  verify(k);
  return k;
}

struct StencilFrontend : asp::Frontend {
  std::string translate(asp::Call&, std::string_view tree, std::span<const asp_arg> args) override {
    return print(asp::stencil::translate(tree, args));
  }
};

template <Kernel (*Pass)(const Kernel&)>
struct DsirOptimizer : asp::Optimizer {
  std::string run(asp::Call&, std::string_view ir) override { return print(Pass(read_dsir(ir))); }
};

struct StencilLowering : asp::Lowering {
  std::string lower(asp::Call&, std::string_view dsir) override {
    return asp::psir::print(asp::stencil::lower(read_dsir(dsir)));
  }
};

}  // namespace

ASP_PLUGIN("stencil", ASP_CORE_VERSION, "stencil kernels (StencilKernel): Python frontend, DSIR optimizers, lowering to PSIR",
           asp::frontend<StencilFrontend>("stencil", "stencil"),
           asp::optimizer<DsirOptimizer<unroll_neighbors>>("stencil-unroll-neighbors", "stencil", "dsir.stencil"),
           asp::optimizer<DsirOptimizer<fold_constants>>("stencil-fold-constants", "stencil", "dsir.stencil"),
           asp::optimizer<DsirOptimizer<hoist_invariants>>("stencil-hoist-invariants", "stencil", "dsir.stencil"),
           asp::lowering<StencilLowering>("stencil", "stencil", "dsir.stencil"))
