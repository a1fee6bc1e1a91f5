// PSIR -> device source for the device backends (opencl, cuda), following the
// device entry convention of <asp/plugin.h>: each PSIR function f becomes a
// kernel asp_entry_f taking f's parameters in order (buffers as pointers to
// device memory, scalars by value, bool as an unsigned 8-bit integer) and then
// `int* asp_status`, the status word (ASP_C_* codes, as in generated C).
// A function of several launches (psir::device_launches: top-level gpu nests
// with other statements between them) becomes one kernel per launch,
// asp_entry_f_launch0, asp_entry_f_launch1, ..., which the core runs in order.
//
// Statements and expressions are emitted by the same code as generated C
// (c_family_codegen.hpp), with the same Python semantics: no contraction of a*b+c
// into an fma, no fast-math, guarded data-dependent indices, division by zero
// reported through the status word. Loops of kind gpu_block / gpu_thread in
// dimension d become the block / thread index of that dimension
// (get_group_id / get_local_id in OpenCL, blockIdx / threadIdx in CUDA): the
// loop variable is lower + index * step, and the body runs when it is below
// the upper bound. Every other loop runs sequentially in its thread, and a
// reduction into a variable declared outside a GPU loop is refused
// (ASP_ERR_UNSUPPORTED): nothing would combine the threads' partial results.
#pragma once

#include "c_family_codegen.hpp"

#include <asp/psir.hpp>

#include <string>

namespace asp::backends {

// Generates device source in `dialect` (a device one: opencl_c_dialect,
// cuda_c_dialect, or a backend's own) for every function of the module. The module must verify.
std::string generate_device(const psir::Module& module, const Dialect& dialect);

}  // namespace asp::backends
