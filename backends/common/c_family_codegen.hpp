// The one emitter of PSIR statements and expressions behind both code
// generators: generate_c (c_codegen.hpp: C for a host compiler) and
// generate_device (device_codegen.hpp: OpenCL C, CUDA C++). Sharing it keeps
// Python's semantics (no contraction, wrapping narrow integers, guarded
// data-dependent indices, division by zero reported) identical in every
// language; the dialects differ only in declarations, builtin names, and how
// parallel and GPU loops run.
//
// Internal to the backends: each generator writes its own prelude, which must
// declare the asp_* element types (c_type) and status helpers (status_helpers).
#pragma once

#include <asp/psir.hpp>

#include <string>

namespace asp::backends {

enum class Dialect {
  c_openmp,    // C11; the outermost parallel loop becomes `#pragma omp parallel for`
  c_pthreads,  // C11; the outermost parallel loop becomes a chunk function run by the pthread pool
  opencl,      // OpenCL C 1.2 with cl_khr_fp64
  cuda         // CUDA C++ as NVRTC compiles it
};

inline bool is_device(Dialect d) { return d == Dialect::opencl || d == Dialect::cuda; }

// The name generated code uses for a PSIR element type (asp_i64, double, ...).
const char* c_type(psir::Type t);

// asp_fail, asp_check and asp_check_ok: how generated code reports a failure
// through the status word and checks a data-dependent index.
std::string status_helpers(Dialect dialect);

struct EmittedModule {
  std::string helpers;    // the per-type helper functions the code uses, to follow the prelude
  std::string functions;  // every function with its entry point (C) or kernel (device)
};

// Emits every function of `module`, which must verify. Throws asp::Error
// (ASP_ERR_UNSUPPORTED) for what a dialect cannot express.
EmittedModule emit_module(const psir::Module& module, Dialect dialect);

}  // namespace asp::backends
