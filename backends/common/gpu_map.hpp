// The device backends' platform-specific PSIR optimizer: maps a kernel's
// parallel loops onto the GPU grid and offers block shapes as tunable variants.
//
// For each function of the module it takes the outermost perfect nest of up
// to three independent loops (kind parallel or vectorized, bounds built from
// scalar parameters and constants only: no outer loop variable) and rewrites
//
//     for v0 in L0..U0 step s0 parallel { for v1 ... { for v2 ... { body } } }
//
// into gpu_block loops (one per mapped loop, outermost first, counting
// ceil(trip / block) blocks) around gpu_thread loops (counting the block's
// extent) around `if (v0 < U0 && ...) { body }`, where each mapped loop
// variable v stands for L + (block * extent + thread) * s. The expression is
// substituted rather than bound by a let: PSIR counts a let-bound index as
// data-dependent, and code generators would then guard every access with it.
// The innermost mapped loop gets dimension 0 (x: consecutive threads touch
// consecutive elements), the next 1, then 2.
// Each function yields one variant per block shape (named
// <function>_b<x>x<y>x<z>), keeping its run check.
//
// A function whose body is not one such nest (optionally after lets), for
// example two loop nests in sequence, is kept as it is and runs as a single
// device thread: correct, slow, and logged. A function whose mapped nest is
// shallower than the deepest among the module's functions is dropped when
// another function maps deeper (a tiled CPU variant, say) and one of the
// deepest has no run check, so that every call still finds a variant to run.
#pragma once

#include <asp/plugin.hpp>
#include <asp/psir.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace asp::backends {

struct GpuMapOptions {
  // Block shapes (x, y, z) offered per depth of the mapped nest (1, 2, 3):
  // each a tunable variant. Threads per block must not exceed the device's
  // limit (256 is safe everywhere).
  std::vector<std::array<std::int64_t, 3>> shapes_1d{{{64, 1, 1}}, {{256, 1, 1}}};
  std::vector<std::array<std::int64_t, 3>> shapes_2d{{{32, 8, 1}}, {{128, 2, 1}}};
  std::vector<std::array<std::int64_t, 3>> shapes_3d{{{32, 4, 2}}, {{64, 4, 1}}, {{256, 1, 1}}};
};

// Maps every function of `module` (see above). The result verifies.
psir::Module map_to_gpu(const psir::Module& module, const GpuMapOptions& options = {});

// Why map_to_gpu left a function unmapped (empty when it maps), for the log.
std::string gpu_map_problem(const psir::Function& function);

// map_to_gpu as the component a device backend registers:
//   asp::backend_optimizer<asp::backends::GpuMapOptimizer>("opencl.gpu_map", "opencl")
class GpuMapOptimizer : public asp::Optimizer {
 public:
  explicit GpuMapOptimizer(GpuMapOptions options = {}) : options_(std::move(options)) {}
  std::string run(asp::Call& call, std::string_view psir) override;

 private:
  GpuMapOptions options_;
};

}  // namespace asp::backends
