// The stencil domain's pipeline, declared once: the DSIR optimizers in the
// order they run between the frontend and the lowering. plugin.cpp registers
// them with the core in this order (the core runs a domain's optimizers in
// the order its plugin lists them); code that holds a Kernel (tests, tools)
// runs the same list through optimize(). No pass runs another: the lowering
// reads what the last of them wrote (stencil/lowering.hpp says what it needs).
#pragma once

#include "stencil/optimizers.hpp"

#include <array>

namespace asp::stencil {

struct Pass {
  const char* name;  // the optimizer component's name
  Kernel (*run)(const Kernel&);
};

inline constexpr std::array<Pass, 3> dsir_passes = {{
    {"stencil-unroll-neighbors", &unroll_neighbors},
    {"stencil-fold-constants", &fold_constants},
    {"stencil-hoist-invariants", &hoist_invariants},
}};

// Every pass of dsir_passes in order, as the core runs them.
inline Kernel optimize(Kernel kernel) {
  for (const Pass& p : dsir_passes) kernel = p.run(kernel);
  return kernel;
}

}  // namespace asp::stencil
