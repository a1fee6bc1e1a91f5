#include "stencil/dsir_verify.hpp"
#include "stencil/optimizers.hpp"

namespace asp::stencil {

namespace {

// Every neighbour loop becomes one copy of its body per offset; the rest is kept (and shared).
struct Unroll : StmtMutator<Unroll> {
  void on_neighbors(const Stmt& s, Block& out) {
    // Python visits the offsets in definition order; so do the copies.
    for (const auto& offset : s.offsets) {
      for (Stmt& c : block(substitute_point(s.body, s.name, displaced(s.point, offset)))) out.push_back(std::move(c));
    }
  }
};

}  // namespace

Kernel unroll_neighbors(const Kernel& kernel) {
  Kernel out = kernel;
  out.body = Unroll().block(kernel.body);
  verify(out);
  return out;
}

}  // namespace asp::stencil
