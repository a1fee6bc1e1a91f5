// From PSIR to a native callable (DESIGN.md §2, steps 4-8): the backend
// generates source, the JIT driver configured for it compiles it once, the
// code cache keeps the binary across processes, and the tuner picks a variant
// of the kernel on every call.
#pragma once

#include "asp/core/code_cache.hpp"
#include "asp/core/device.hpp"
#include "asp/core/jit.hpp"
#include "asp/core/registry.hpp"
#include "asp/core/tuning.hpp"

#include <asp/psir.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace asp::core {

// A kernel's code on a device backend: the loaded module, and for each
// variant the gpu loops whose trip counts give its launch grid.
class DeviceCode {
 public:
  // Throws std::runtime_error when a gpu loop's bounds use anything but scalar parameters and constants.
  DeviceCode(std::shared_ptr<const DeviceRuntime> device, asp_device_module* module, std::vector<psir::Function> functions);
  ~DeviceCode();
  DeviceCode(const DeviceCode&) = delete;
  DeviceCode& operator=(const DeviceCode&) = delete;

  const std::shared_ptr<const DeviceRuntime>& device() const { return device_; }
  const std::vector<psir::Function>& functions() const { return functions_; }
  // The grid of variant i for these arguments: per dimension, the largest trip
  // count of its gpu_block loops (blocks) and gpu_thread loops (threads); 1 where there is none.
  asp_launch_config launch_config(std::size_t variant, void* const* args) const;
  // Launches variant i; args as in the C entry convention with device buffer handles for buffers.
  int launch(std::size_t variant, void* const* args) const;

 private:
  void unload_on_failure() noexcept;
  struct GpuLoop {
    bool block;
    int dim;
    psir::ExprPtr lower, upper;
    std::int64_t step;
  };
  std::shared_ptr<const DeviceRuntime> device_;
  asp_device_module* module_;
  std::vector<psir::Function> functions_;
  std::vector<std::vector<GpuLoop>> loops_;  // per function
};

// A compiled kernel: one binary holding an entry point per PSIR function (its
// variants), on the host or (device_code() non-null) on a device.
class Kernel {
 public:
  using Entry = int (*)(void* const* args);
  struct Variant {
    psir::Function function;
    Entry entry;  // null on a device
  };
  struct Run {
    std::size_t variant;
    int status;      // ASP_C_OK, or what describe_status() explains
    double seconds;  // wall time of the native call
  };

  Kernel(std::string key, std::string backend, std::vector<Variant> variants, std::shared_ptr<LoadedCode> code,
         TuningDatabase* tuning);
  // A device kernel: its variants are `code`'s functions.
  Kernel(std::string key, std::string backend, std::unique_ptr<DeviceCode> code, TuningDatabase* tuning);
  ~Kernel();

  const std::string& key() const { return key_; }
  const std::string& backend() const { return backend_; }
  const std::vector<Variant>& variants() const { return variants_; }
  // The device the kernel runs on, or null for a host kernel.
  const DeviceCode* device_code() const { return device_code_.get(); }
  // Whether some variant stores into parameter i (all variants write the same buffers).
  bool writes(std::size_t param) const { return param < written_.size() && written_[param]; }

  // Whether variant i's run check holds for these arguments (args as in the C entry convention).
  bool runnable(std::size_t i, void* const* args) const;

  // The tuning state of one argument signature. Owned by the kernel and never
  // moved, so a caller that calls often with one signature looks it up once
  // and keeps it: run(Slot&, ...) then neither allocates nor searches.
  class Slot;
  Slot& slot(const std::string& signature);

  // Runs the variant the tuner picks for this argument signature. Until every
  // runnable variant has a measured time, the run is timed and recorded;
  // after that the choice is settled and calls cost no bookkeeping (no
  // tuning-database write per call). Throws std::runtime_error when no
  // variant's run check holds.
  Run run(Slot& slot, void* const* args);
  Run run(const std::string& signature, void* const* args) { return run(slot(signature), args); }

  // A message for a non-zero status of a run of variant i.
  std::string describe_status(std::size_t variant, int status) const;

 private:
  std::string key_;
  std::string backend_;
  std::vector<Variant> variants_;
  std::shared_ptr<LoadedCode> code_;
  std::unique_ptr<DeviceCode> device_code_;
  std::vector<bool> written_;
  TuningDatabase* tuning_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

// Compiles PSIR for a configured backend, through the code cache.
class KernelCompiler {
 public:
  struct Stats {
    bool cache_hit = false;
    double generate_seconds = 0, compile_seconds = 0, load_seconds = 0;
  };

  // `cache` and `tuning` may be null (no disk cache; tuning only within the process).
  KernelCompiler(Registry& registry, const CodeCache* cache, TuningDatabase* tuning);

  // Whether the core can build a backend's `language`: C ("c", "c+openmp")
  // through a JIT driver, or a device language ("opencl-c", "cuda-c") through the backend.
  static bool compiles(std::string_view language);

  // Verifies the PSIR module, then generates, compiles (or loads from the cache) and binds it.
  // Throws CompileError when the compiler rejects the generated source, std::runtime_error otherwise.
  std::shared_ptr<Kernel> compile(std::string_view psir, const std::string& backend, Stats* stats = nullptr);

 private:
  const JitDriver& driver_for(const std::string& backend);
  std::shared_ptr<const DeviceRuntime> device_for(const std::string& backend, const asp_backend* vtable);
  // The backend's own PSIR optimizers (asp_optimizer.backend), in registration order.
  std::string optimize_for(const std::string& backend, std::string psir);

  Registry& registry_;
  const CodeCache* cache_;
  TuningDatabase* tuning_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<JitDriver>> drivers_;
  std::map<std::string, std::shared_ptr<const DeviceRuntime>> devices_;
};

// The machine as the tuning database tells platforms apart (CPU model, cores, threads).
std::string tuning_platform();

// Evaluates a run check (a PSIR bool expression over scalar parameters) for these arguments.
bool evaluate_run_check(const psir::Function& function, void* const* args);
// Evaluates an integer PSIR expression over scalar parameters and constants for these arguments.
std::int64_t evaluate_integer(const psir::Function& function, const psir::Expr& expr, void* const* args);

}  // namespace asp::core
