// asp/frontend_kit.hpp — what a domain's Python frontend builds on (DESIGN.md
// §5): reading the Tree with located errors (asp/frontend/tree_access.hpp),
// dispatch on node kinds whose default is a located Unsupported error
// (asp/frontend/visitor.hpp), Python's and NumPy 2's numeric promotion
// (asp/frontend/numeric.hpp) and Python's operators (asp/frontend/operators.hpp).
// Header-only, in namespace asp::frontend_kit, installed with the plugin API.
#pragma once

#include <asp/frontend/numeric.hpp>
#include <asp/frontend/operators.hpp>
#include <asp/frontend/tree_access.hpp>
#include <asp/frontend/visitor.hpp>
