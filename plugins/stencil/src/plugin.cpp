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

#include <cstdint>
#include <vector>

namespace {

using namespace asp::stencil;

// The bytes of the machine's last-level cache, all its instances together:
// what a sweep's output must exceed for the streaming variant. From the
// host's platform facts (ABI 1.5), which come from the core's probe, made
// once per process; 0 (no streaming variant) when the host does not offer
// them or cannot tell.
std::uint64_t last_level_cache(const asp::Call& call) {
  const std::optional<asp_platform_info> info = call.platform();
  return info && ASP_HAS_FIELD(&*info, asp_platform_info, llc_total) ? info->llc_total : 0;
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
  std::string lower(asp::Call& call, std::string_view dsir) override {
    return asp::psir::print(asp::stencil::lower(read_dsir(dsir), last_level_cache(call)));
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
