// The text form of the stencil DSIR: print() and parse() round-trip exactly.
//
//   asp-ir 1 dsir.stencil
//   kernel kernel
//   grid in_grid: f64[8, 8] ghost 1
//   grid out_grid: f64[8, 8] ghost 1
//   @3:8 for x in interior(out_grid) {
//     @4:12 store out_grid[x] = (f64(neg(4:int)) * in_grid[x])
//     @5:12 for y in neighbors(in_grid, x, 1) [(1, 0), (-1, 0), (0, 1), (0, -1)] {
//       @6:16 store out_grid[x] = (out_grid[x] + in_grid[y])
//     }
//   }
//
// A statement may start with its place in the user's file, @line:column
// (Python's ast numbering). A point is a loop variable with an optional
// displacement, x(-1, 0). Literals carry their type (4:int, 0.5:float,
// 2:f32); binary operators are always parenthesized; unary ones are neg(e)
// and not(e); a cast is the target type applied like a function, f64(e);
// lookup(grid, i, j) is a data-dependent read, coord(p, k) a point's
// coordinate along axis k, distance(p, q) the Euclidean distance.
#pragma once

#include "stencil/dsir.hpp"

#include <string>
#include <string_view>

namespace asp::stencil {

std::string print(const Kernel& kernel);
std::string print(const Block& block);
std::string print(const ExprPtr& e);
std::string print(const Point& p);

// Parses DSIR text with its "asp-ir 1 dsir.stencil" header. Throws asp::Error
// (ASP_ERR_VERSION for another dialect or version, ASP_ERR_INVALID_ARGUMENT
// for malformed text, with the line and column in the message).
Kernel parse(std::string_view text);

}  // namespace asp::stencil
