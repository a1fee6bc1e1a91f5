// The stencil frontend: the Tree of a StencilKernel's `kernel` method and the
// descriptions of its grid arguments -> DSIR.
//
// It accepts the Python subset described in the README ("The stencil
// specializer"). Anything else fails with ASP_ERR_UNSUPPORTED, the message
// naming the construct and its line and the location pointing at it, so the
// caller runs the method as Python. A kernel that would read a grid outside
// its arrays (an offset beyond the ghost depth, a grid of another shape read at
// the loop's points) fails with ASP_ERR_INVALID_ARGUMENT before anything runs.
//
// Reading the Tree, the located errors, the refusal of statements it has no
// rule for, Python's operators and NumPy 2's promotion come from the plugin
// API's frontend kit (asp/frontend_kit.hpp); frontend.cpp is the translator.
#pragma once

#include "stencil/dsir.hpp"

#include <asp/plugin.h>

#include <span>
#include <string_view>

namespace asp::stencil {

// Throws asp::Error as described above.
Kernel translate(std::string_view tree_text, std::span<const asp_arg> args);

}  // namespace asp::stencil
