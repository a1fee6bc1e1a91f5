// The invariants of well-formed stencil DSIR, checked on every DSIR text a
// component reads and after every pass that writes one:
//
//  - grids have a dtype f64, f32, i64 or i32, one to four axes and a ghost depth >= 0;
//  - the kernel level holds `let`s and point loops; a point loop holds
//    locals, assignments, stores, `if`s and neighbour loops;
//  - every operator has operands of one type, as the frontend's promotion
//    made them; conditions are bool; `/` divides floating-point values only;
//    `**` of integers has a literal exponent >= 0; data-dependent indices are int;
//  - locals are declared once (the frontend gives each typed value of a
//    Python variable its own name), never in a neighbour loop's body (its
//    iterations are copies), and used in scope, with their type;
//  - points name a point or neighbour loop variable in scope, with one
//    displacement per axis; a store writes the point of its loop, undisplaced.
#pragma once

#include "stencil/dsir.hpp"

namespace asp::stencil {

// Throws asp::Error(ASP_ERR_INVALID_ARGUMENT) naming the first broken invariant.
void verify(const Kernel& kernel);

}  // namespace asp::stencil
