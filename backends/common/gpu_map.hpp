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
// A function whose body holds several top-level statements after its lets
// (two loop nests, the interior then the border loops of a stencil, or a
// store between nests) maps each top-level loop that maps as above on its
// own, and runs as launches in order (psir::device_launches, ABI 1.4): one
// per mapped nest, one single-thread launch per run of other statements. A
// top-level loop that is serial stays as it is, in a single-thread launch of
// its own: an in-place sweep, whose points read what others write (the
// stencil lowering marks it serial), keeps Python's order, correct but on one
// thread. Variant k gives the deepest nests the k-th shape of their depth
// (its name says which) and shallower ones the k-th of theirs, or their last.
// A function whose parts would share a local, whose leading lets read memory
// (each launch evaluates them again), or that has no loop that maps, is kept
// as it is and runs as a single device thread: correct, slow, and logged.
//
// A function whose mapped nest is shallower than the deepest among the
// module's functions is dropped when another function maps deeper (a tiled
// CPU variant, say) and one of the deepest has no run check, so that every
// call still finds a variant to run.
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
