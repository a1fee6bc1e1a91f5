// PSIR -> C, shared by the backends whose code a host C compiler builds
// (openmp, pthreads). They differ only in how a parallel loop runs: their
// dialects (c_openmp_dialect, c_pthreads_dialect of c_family_codegen.hpp).
// Statements and expressions come from the emitter the device code generator
// shares (c_family_codegen.hpp); this file adds C's prelude and entry points.
//
// The generated translation unit is freestanding (no #include): nothing to
// parse but the kernel, so in-process compilation stays fast, and the same
// text compiles with gcc and clang. Each PSIR function f becomes
//
//   int asp_entry_f(void* const* args)
//
// where args[i] is, for buffer parameter i, its data pointer and, for scalar
// parameter i, a pointer to its value (the ASP_C_ENTRY convention of
// <asp/plugin.h>). The result is 0, or ASP_C_ZERO_DIVISION, or
// ASP_C_OUT_OF_BOUNDS + k when a data-dependent index fell outside buffer
// parameter k; such an access reads 0 or stores nothing instead of touching
// memory, so a bad index is an error report, never a crash.
#pragma once

#include "c_family_codegen.hpp"

#include <asp/psir.hpp>

#include <string>

namespace asp::backends {

// Generates C in a host dialect for every function of the module. The module must verify.
std::string generate_c(const psir::Module& module, const Dialect& dialect);

// The symbol of a function's entry point.
std::string c_entry_symbol(const std::string& function);

}  // namespace asp::backends
