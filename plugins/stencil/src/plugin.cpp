// The stencil specializer as an Asp plugin: its frontend, the DSIR optimizers
// of stencil/passes.hpp (registered, and so run by the core, in that order)
// and the lowering to PSIR.
#include "stencil/dsir_text.hpp"
#include "stencil/dsir_verify.hpp"
#include "stencil/frontend.hpp"
#include "stencil/lowering.hpp"
#include "stencil/passes.hpp"

#include <asp/plugin.hpp>
#include <asp/psir_text.hpp>

#include <hwloc.h>

#include <cstdint>
#include <vector>

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

struct DsirOptimizer : asp::Optimizer {
  explicit DsirOptimizer(Kernel (*pass)(const Kernel&)) : pass_(pass) {}
  std::string run(asp::Call&, std::string_view ir) override { return print(pass_(read_dsir(ir))); }

 private:
  Kernel (*pass_)(const Kernel&);
};

struct StencilLowering : asp::Lowering {
  std::string lower(asp::Call&, std::string_view dsir) override {
    return asp::psir::print(asp::stencil::lower(read_dsir(dsir), last_level_cache()));
  }
};

std::vector<asp::ComponentSpec> components() {
  std::vector<asp::ComponentSpec> out{asp::frontend<StencilFrontend>("stencil", "stencil")};
  for (const Pass& pass : dsir_passes) out.push_back(asp::optimizer<DsirOptimizer>(pass.name, "stencil", "dsir.stencil", pass.run));
  out.push_back(asp::lowering<StencilLowering>("stencil", "stencil", "dsir.stencil"));
  return out;
}

}  // namespace

ASP_PLUGIN_COMPONENTS("stencil", ASP_CORE_VERSION,
                      "stencil kernels (StencilKernel): Python frontend, DSIR optimizers, lowering to PSIR", components)
