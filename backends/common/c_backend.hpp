// What the C-emitting backends share beyond code generation.
#pragma once

#include "c_codegen.hpp"

#include <asp/plugin.hpp>

#include <string_view>

namespace asp::backends {

// Parses and verifies a PSIR module, then generates C; IR problems become asp::Error (invalid argument).
std::string generate_checked(std::string_view psir, const Dialect& dialect);

}  // namespace asp::backends
