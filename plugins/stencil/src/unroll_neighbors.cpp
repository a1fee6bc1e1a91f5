#include "stencil/dsir_verify.hpp"
#include "stencil/optimizers.hpp"

namespace asp::stencil {

namespace {

Block unroll(const Block& in) {
  Block out;
  for (const Stmt& s : in) {
    if (s.kind != Stmt::Kind::neighbors) {
      Stmt c = s;
      c.body = unroll(s.body);
      c.orelse = unroll(s.orelse);
      out.push_back(std::move(c));
      continue;
    }
    // Python visits the offsets in definition order; so do the copies.
    for (const auto& offset : s.offsets) {
      for (Stmt& c : unroll(substitute_point(s.body, s.name, displaced(s.point, offset)))) out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace

Kernel unroll_neighbors(const Kernel& kernel) {
  Kernel out = kernel;
  out.body = unroll(kernel.body);
  verify(out);
  return out;
}

}  // namespace asp::stencil
