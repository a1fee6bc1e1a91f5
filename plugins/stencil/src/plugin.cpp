// The stencil specializer as an Asp plugin: its frontend, the DSIR optimizers
// (run by the core in this order) and the lowering to PSIR.
#include "stencil/dsir_text.hpp"
#include "stencil/dsir_verify.hpp"
#include "stencil/frontend.hpp"
#include "stencil/lowering.hpp"
#include "stencil/optimizers.hpp"

#include <asp/plugin.hpp>
#include <asp/psir_text.hpp>

#include <hwloc.h>

#include <cstdint>

namespace {

using namespace asp::stencil;

// The bytes of the machine's last-level cache, all its instances together
// (0 when hwloc cannot tell): what a sweep's output must exceed for the
// streaming variant. Probed as the core's platform probe does
// (core/src/platform.cpp), which a plugin cannot reach through the plugin API.
std::uint64_t last_level_cache() {
  static const std::uint64_t bytes = [] {
    hwloc_topology_t topology = nullptr;
    if (hwloc_topology_init(&topology) != 0) return std::uint64_t{0};
    std::uint64_t total = 0;
    if (hwloc_topology_load(topology) == 0) {
      for (hwloc_obj_type_t type : {HWLOC_OBJ_L5CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L1CACHE}) {
        for (hwloc_obj_t c = hwloc_get_next_obj_by_type(topology, type, nullptr); c; c = hwloc_get_next_obj_by_type(topology, type, c)) {
          total += c->attr->cache.size;
        }
        if (total > 0) break;
      }
    }
    hwloc_topology_destroy(topology);
    return total;
  }();
  return bytes;
}

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
    return asp::psir::print(asp::stencil::lower(read_dsir(dsir), last_level_cache()));
  }
};

}  // namespace

ASP_PLUGIN("stencil", ASP_CORE_VERSION, "stencil kernels (StencilKernel): Python frontend, DSIR optimizers, lowering to PSIR",
           asp::frontend<StencilFrontend>("stencil", "stencil"),
           asp::optimizer<DsirOptimizer<unroll_neighbors>>("stencil-unroll-neighbors", "stencil", "dsir.stencil"),
           asp::optimizer<DsirOptimizer<fold_constants>>("stencil-fold-constants", "stencil", "dsir.stencil"),
           asp::optimizer<DsirOptimizer<hoist_invariants>>("stencil-hoist-invariants", "stencil", "dsir.stencil"),
           asp::lowering<StencilLowering>("stencil", "stencil", "dsir.stencil"))
