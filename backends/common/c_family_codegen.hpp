// The one emitter of PSIR statements and expressions behind both code
// generators: generate_c (c_codegen.hpp: C for a host compiler) and
// generate_device (device_codegen.hpp: OpenCL C, CUDA C++). Sharing it keeps
// Python's semantics (no contraction, wrapping narrow integers, guarded
// data-dependent indices, division by zero reported) identical in every
// language; the dialects differ only in declarations, builtin names, and how
// parallel and GPU loops run.
//
// A generator puts a translation unit together as the dialect's prelude
// (which declares the asp_* element types, c_type), the status helpers
// (status_helpers), the dialect's runtime declarations, then what
// emit_module returns.
#pragma once

#include <asp/psir.hpp>

#include <string>

namespace asp::backends {

// What one C-family language says its own way, asked by the emitter, which
// never asks which language it is. One object per language, each in its own
// file (dialects/: C with OpenMP, C with the pthread pool, OpenCL C, CUDA C);
// a backend out of this tree adds a language by deriving its own.
class Dialect {
 public:
  virtual ~Dialect() = default;

  // ---- the translation unit ----
  // Everything before the status helpers: a comment naming the backend and
  // the asp_* element types (c_type).
  virtual std::string prelude() const = 0;
  // What follows the status helpers: the declarations the dialect's loops use.
  // `functions` is the emitted code, for declarations only some modules need.
  virtual std::string runtime(const std::string& /*functions*/) const { return ""; }

  // ---- functions and the status word ----
  // Kernels of the device entry convention with GPU loops from the grid
  // index (true), or C entry points (false).
  virtual bool device() const = 0;
  // How file-local helper functions are declared.
  virtual const char* local_function() const = 0;
  // The type of a pointer to the status word.
  virtual const char* status_type() const = 0;
  // What generated code passes to a helper that may fail.
  virtual const char* status_pointer() const = 0;
  // asp_fail's store of `code` through `status`.
  virtual const char* status_store() const = 0;
  // Device: what precedes a kernel's name ("__kernel void ").
  virtual const char* kernel_head() const { return ""; }
  // Device: what precedes a buffer parameter's element type (an address space).
  virtual const char* buffer_space() const { return ""; }

  // ---- values ----
  // A float-only math function (sqrt, fmod, copysign, ...) applied to operands of type `t`.
  virtual std::string math(const std::string& name, psir::Type t) const = 0;
  // A NaN (nan) or infinity of type `t`.
  virtual std::string special_float(bool nan, psir::Type t) const = 0;
  // The bits of the double `value`, as an asp_u64.
  virtual std::string double_bits(const std::string& value) const = 0;
  // A zero of the C type `type` that copysign takes without ambiguity.
  virtual std::string copysign_zero(const std::string& type) const = 0;
  // Device: the index of a GPU loop of kind gpu_block or gpu_thread in dimension `dim`.
  virtual std::string gpu_index(psir::LoopKind /*kind*/, int /*dim*/) const { return ""; }

  // ---- loops ----
  // How the outermost parallel loop shares out its iterations: it runs on
  // one thread (device code: GPU loops are what runs in parallel there),
  // as an OpenMP parallel region, or as chunk functions run by the pthread pool.
  enum class Sharing { none, openmp, pool };
  virtual Sharing sharing() const = 0;
  // The pragma before a vectorized loop, to which the emitter adds reduction clauses; "" for none.
  virtual const char* simd_pragma() const { return ""; }
  // The pragma before an unrolled loop.
  virtual const char* unroll_pragma() const = 0;
  // Whether streaming loops store past the caches (and fence those stores).
  virtual bool streaming_stores() const = 0;
};

// The dialects of this tree (dialects/*.cpp).
const Dialect& c_openmp_dialect();    // C11; the outermost parallel loop becomes an OpenMP parallel region
const Dialect& c_pthreads_dialect();  // C11; the outermost parallel loop becomes chunks run by the pthread pool
const Dialect& opencl_c_dialect();    // OpenCL C 1.2 with cl_khr_fp64
const Dialect& cuda_c_dialect();      // CUDA C++ as NVRTC compiles it (extern "C" __global__ kernels, no headers)

// The name generated code uses for a PSIR element type (asp_i64, double, ...).
const char* c_type(psir::Type t);

// asp_fail, asp_check and asp_check_ok: how generated code reports a failure
// through the status word and checks a data-dependent index.
std::string status_helpers(const Dialect& dialect);

struct EmittedModule {
  std::string helpers;    // the per-type helper functions the code uses, to follow the prelude
  std::string functions;  // every function with its entry point (C) or kernel (device)
};

// Emits every function of `module`, which must verify. Throws asp::Error
// (ASP_ERR_UNSUPPORTED) for what a dialect cannot express.
EmittedModule emit_module(const psir::Module& module, const Dialect& dialect);

}  // namespace asp::backends
