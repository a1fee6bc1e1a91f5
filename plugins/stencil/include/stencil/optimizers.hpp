// The stencil domain's platform-independent optimizers (DSIR -> DSIR). Each
// keeps the kernel's result bitwise what Python computes.
#pragma once

#include "stencil/dsir.hpp"

namespace asp::stencil {

// Replaces every neighbour loop by one copy of its body per offset, in
// definition order, the loop variable displaced from the loop's centre.
Kernel unroll_neighbors(const Kernel& kernel);

// Evaluates what is known before the kernel runs, exactly as the generated
// code would: integer arithmetic that does not overflow, float arithmetic in
// the operands' own precision, conversions, comparisons, Python's floor
// division and modulo, abs, min, max, sqrt, floor and ceil of literals, the
// distance between two points of one loop, conditions decided by a literal,
// and kernel-level lets and never-assigned locals whose value is a literal.
// Divisions by zero, overflows and exp, log, sin, cos, tan and ** of floats are
// left to run time.
Kernel fold_constants(const Kernel& kernel);

// Folds one expression (no lets are known): the literal it is, or a simpler expression.
ExprPtr fold(const ExprPtr& e);

// Moves the coefficients a point loop computes from constants alone (those
// folding cannot evaluate exactly, such as exp(-0.5)) to kernel-level lets
// before the loop, so they are computed once per call instead of once per
// point. An expression that can raise (a Python division by something other
// than a non-zero literal) stays where it is, so it raises only where Python would.
Kernel hoist_invariants(const Kernel& kernel);

}  // namespace asp::stencil
