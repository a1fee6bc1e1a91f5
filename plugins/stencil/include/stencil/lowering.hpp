// DSIR -> PSIR: a stencil kernel as a module of variant functions that take
// the same parameters: one buffer per grid, named as the grid, then the
// grids' extents as i64 scalars (<grid>_n<axis>; grids of one shape share
// them), which the binding fills from the arrays' shapes.
//
// Interior loops become a nest whose outermost loop is parallel and innermost
// vectorized, unless the loop reads a grid it writes anywhere but at its own
// point (Python's order is then observable): then every loop stays serial.
// Border loops visit the points within the ghost depth of an edge in
// row-major order. Reads that can leave the grid (border neighbours,
// data-dependent indices) wrap negative indices as NumPy does and are checked:
// out of range, the kernel returns ASP_C_OUT_OF_BOUNDS.
//
// Variants: plain; the innermost interior loops unrolled by 2 and by 4 with a
// run check that their trip count is a multiple, and by 4 with a remainder
// loop; and, where loops are independent, a cache-blocked version tiling the
// two outer axes of 2-D and 3-D interior loops; and, where an independent
// interior loop writes one grid larger than the last-level cache
// (`last_level_cache` bytes, 0 when unknown: no such variant), a streaming one
// whose innermost loop writes that grid with non-temporal stores (PSIR's
// streaming loop kind), so that a sweep pays no write-allocate read of every
// output line. A kernel whose points cost far more than their loops (hundreds
// of neighbours) has the plain one only.
#pragma once

#include "stencil/dsir.hpp"

#include <asp/psir.hpp>

#include <cstdint>

namespace asp::stencil {

// Lowers DSIR that went through the pipeline of stencil/passes.hpp, as the
// core runs it: neighbour loops must have been unrolled (a kernel that still
// has one is refused with std::logic_error, a pipeline that is not the
// declared one being a bug). Folding and hoisting make the code faster but
// the lowering does not rely on them. Every function of the result passes
// psir::verify. Throws asp::Error: ASP_ERR_INVALID_ARGUMENT for a constant
// index outside its grid, ASP_ERR_UNSUPPORTED for a grid whose name PSIR reserves.
psir::Module lower(const Kernel& kernel, std::uint64_t last_level_cache = 0);

}  // namespace asp::stencil
