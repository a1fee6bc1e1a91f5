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

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <string>
#include <vector>

namespace asp::core {

// A kernel's code on a device backend: the loaded module, and for each
// variant its launches (psir::device_launches: one, or one per top-level gpu
// nest and per run of statements between them), each with the gpu loops
// whose trip counts give its launch grid.
class DeviceCode {
 public:
  // Throws std::runtime_error when a gpu loop's bounds use anything but scalar parameters and constants.
  DeviceCode(std::shared_ptr<const DeviceRuntime> device, asp_device_module* module, std::vector<psir::Function> functions);
  ~DeviceCode();
  DeviceCode(const DeviceCode&) = delete;
  DeviceCode& operator=(const DeviceCode&) = delete;

  const std::shared_ptr<const DeviceRuntime>& device() const { return device_; }
  const std::vector<psir::Function>& functions() const { return functions_; }
  // How many launches variant i runs, in order.
  std::size_t launch_count(std::size_t variant) const;
  // The grid of launch k of variant i for these arguments: per dimension, the
  // largest trip count of its gpu_block loops (blocks) and gpu_thread loops
  // (threads); 1 where there is none.
  asp_launch_config launch_config(std::size_t variant, void* const* args, std::size_t launch = 0) const;
  // Runs the launches of variant i in order, up to the first that reports an
  // error; args as in the C entry convention with device buffer handles for buffers.
  int launch(std::size_t variant, void* const* args) const;

 private:
  void unload_on_failure() noexcept;
  struct GpuLoop {
    bool block;
    int dim;
    psir::ExprPtr lower, upper;
    std::int64_t step;
  };
  struct Launch {
    std::string name;  // the kernel is asp_entry_<name>
    std::vector<GpuLoop> loops;
  };
  std::shared_ptr<const DeviceRuntime> device_;
  asp_device_module* module_;
  std::vector<psir::Function> functions_;
  std::vector<std::vector<Launch>> launches_;  // per function
};

// A compiled kernel: its variants, each an entry point of a binary on the
// host or a kernel of a module on a device (all of one backend). Generated
// variants share one binary; each hand-written instantiation has its own.
class Kernel : public std::enable_shared_from_this<Kernel> {
 public:
  using Entry = int (*)(void* const* args);
  struct Variant {
    psir::Function function;  // its parameters and run check (a hand-written variant's body only sizes its grid)
    Entry entry = nullptr;    // on the host
    const DeviceCode* device = nullptr;  // on a device: the code that holds it,
    std::size_t device_index = 0;        // as its function number device_index
  };
  // What the variants run from, kept loaded as long as the kernel lives.
  struct Code {
    std::vector<std::shared_ptr<LoadedCode>> host;
    std::vector<std::unique_ptr<DeviceCode>> device;
  };
  struct Run {
    std::size_t variant;
    int status;      // ASP_C_OK, or what describe_status() explains
    double seconds;  // wall time of the native call
  };

  // What building one variant on demand gave: its host code (kept loaded by
  // the kernel), its entry point, and where the binary came from.
  struct Built {
    std::shared_ptr<LoadedCode> code;
    Entry entry = nullptr;
    bool cache_hit = false;
    double compile_seconds = 0, load_seconds = 0;
  };
  // Builds variant i of a kernel whose variants are built on demand. Throws CompileError.
  using Builder = std::function<Built(std::size_t variant)>;

  // `written[i]`: whether a variant may store into parameter i (all variants write the same buffers).
  // With `build`, variants without an entry point are built when they are first chosen.
  Kernel(std::string key, std::string backend, std::vector<Variant> variants, Code code, std::vector<bool> written,
         TuningDatabase* tuning, Builder build = nullptr);
  // A host kernel whose variants are all generated: what they write is read from their stores.
  Kernel(std::string key, std::string backend, std::vector<Variant> variants, std::shared_ptr<LoadedCode> code,
         TuningDatabase* tuning);
  // A device kernel whose variants are `code`'s generated functions.
  Kernel(std::string key, std::string backend, std::unique_ptr<DeviceCode> code, TuningDatabase* tuning);
  ~Kernel();

  const std::string& key() const { return key_; }
  const std::string& backend() const { return backend_; }
  const std::vector<Variant>& variants() const { return variants_; }
  // The device the kernel runs on, or null for a host kernel.
  const std::shared_ptr<const DeviceRuntime>& device() const { return device_; }
  // Whether some variant stores into parameter i.
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
  // tuning-database write per call). A variant built on demand is built when
  // first chosen; one that fails to build is never chosen again. Throws
  // std::runtime_error when no variant's run check holds.
  Run run(Slot& slot, void* const* args);
  Run run(const std::string& signature, void* const* args) { return run(slot(signature), args); }

  // A message for a non-zero status of a run of variant i.
  std::string describe_status(std::size_t variant, int status) const;

  // Builds the variant the tuner would run first for this signature and these
  // arguments (variant 0 without arguments): the only one built before a call
  // needs it. Returns how it was built (cache_hit true and no times when it
  // had its code already). Throws CompileError.
  Built build_first(const std::string& signature, void* const* args);
  // Whether variant i has its code (always, unless the kernel builds on demand).
  bool built(std::size_t i) const { return built_[i].load(std::memory_order_acquire); }
  // Whether the tuner has measured every variant that may run with these arguments.
  bool settled(const std::string& signature, void* const* args);
  // After the next run returns, builds the variants without code on a
  // background thread, in order, so that the tuner finds them built (or half
  // built) when it first chooses them; the run itself does not share the
  // machine with a compiler. The thread holds the kernel (made by
  // make_shared) only while it builds; it stops, after the build in
  // progress, when the process exits.
  void build_rest_in_background() { background_.store(true, std::memory_order_relaxed); }

  // The most scalar parameters the run checks may read for a settled choice to skip them.
  static constexpr std::size_t max_check_inputs = 16;

 private:
  // The scalar parameters the variants' run checks read (their values decide which variants may run).
  struct CheckInput {
    std::size_t param;
    std::size_t bytes;
  };
  void find_check_inputs();
  bool same_check_inputs(const Slot& slot, void* const* args) const;
  // Builds variant i unless it has its code (then returns a Built with cache_hit and no code).
  Built ensure_built(std::size_t i);
  // Builds every variant without code, in order, until `stop`; a failure is left for run() to meet.
  void build_all(const std::atomic<bool>& stop);
  class BackgroundBuilds;
  // The variant to run for these arguments (under mutex_); nullopt when none may run.
  std::optional<std::size_t> choose_locked(Slot& slot, void* const* args);

  std::string key_;
  std::string backend_;
  std::vector<Variant> variants_;
  Code code_;
  std::shared_ptr<const DeviceRuntime> device_;
  std::vector<bool> written_;
  TuningDatabase* tuning_;
  std::vector<CheckInput> check_inputs_;
  bool check_inputs_known_ = false;  // false: a run check reads memory, so none is ever skipped
  Builder build_;
  std::atomic<bool> background_{false};  // build_rest_in_background() was asked for
  std::unique_ptr<std::atomic<bool>[]> built_;  // per variant: entry (or device) is set
  std::vector<bool> failed_;                    // per variant: its build failed (under mutex_)
  std::mutex build_mutex_;                      // held while a variant is built
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

// Compiles PSIR for a configured backend, through the code cache.
class KernelCompiler {
 public:
  struct Stats {
    bool cache_hit = false;  // every binary came from the code cache
    double generate_seconds = 0, compile_seconds = 0, load_seconds = 0;
  };

  // `cache` and `tuning` may be null (no disk cache; tuning only within the process).
  KernelCompiler(Registry& registry, const CodeCache* cache, TuningDatabase* tuning);

  // Whether the core can build what this backend emits: C through a JIT
  // driver (language "c" or "c+openmp"), or anything a device backend
  // compiles, loads and launches itself (its vtable provides them). The
  // reason when it cannot.
  static std::optional<std::string> cannot_build(const asp_backend* vtable);

  // Verifies the PSIR module (a kernel and its variants), then generates, compiles (or loads from the cache) and binds it.
  // Throws CompileError when the compiler rejects the generated source, std::runtime_error otherwise.
  // With `on_demand`, a host backend's variants are left to be built one by
  // one, each in its own binary, when the kernel first needs them
  // (Kernel::build_first(), Kernel::run()); the kernel must not outlive the registry and the code cache.
  // `dump`: the directory ASP_DUMP keeps this specialization's PSIR and
  // sources in (the specializer gives one per specialization); null: the
  // `dump` setting's directory itself, when it is set.
  std::shared_ptr<Kernel> compile(std::string_view psir, const std::string& backend, Stats* stats = nullptr,
                                  bool on_demand = false, const std::filesystem::path* dump = nullptr);

  // The kernels of a program (a version-2 module), in the order of its
  // declarations: the generated variants of each, and the instantiations of
  // the hand-written `sources` (kernel source components) for kernels of the
  // program in a language this backend runs. Throws as compile() does, and
  // std::runtime_error when a kernel has no variant for this backend.
  std::vector<std::shared_ptr<Kernel>> compile_program(const psir::Module& program, const std::string& backend,
                                                       const std::string& domain, Stats* stats = nullptr,
                                                       const std::filesystem::path* dump = nullptr);

 private:
  struct Target;
  Target target_for(const std::string& backend, const std::filesystem::path* dump = nullptr);
  // One binary of generated variants (a version-1 module) for the target, with the functions it holds after the backend's optimizers.
  std::pair<Kernel::Code, std::vector<psir::Function>> build_generated(const Target& target, psir::Module module, Stats& stats);
  // The backend's optimizers and code generation for a version-1 module: the module they leave and its source.
  std::pair<psir::Module, std::string> generate(const Target& target, psir::Module module, Stats& stats);
  // One variant (an optimized function) in a binary of its own, for a kernel built on demand.
  static Kernel::Built build_variant(const Target& target, const CodeCache* cache, const psir::Function& function);
  // The host binary or device module of one translation unit, from the code cache or the compiler.
  static std::shared_ptr<LoadedCode> build_host(const Target& target, const CodeCache* cache, const std::string& source,
                                                const std::string& name, Stats& stats);
  asp_device_module* build_device(const Target& target, const std::string& source, const std::string& name, Stats& stats);
  std::shared_ptr<const JitDriver> driver_for(const std::string& backend);
  std::shared_ptr<const DeviceRuntime> device_for(const std::string& backend, const asp_backend* vtable);
  // The backend's own PSIR optimizers (asp_optimizer.backend), in registration order.
  std::string optimize_for(const std::string& backend, std::string psir);

  Registry& registry_;
  const CodeCache* cache_;
  TuningDatabase* tuning_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const JitDriver>> drivers_;  // shared with kernels built on demand
  std::map<std::string, std::shared_ptr<const DeviceRuntime>> devices_;
};

// The machine as the tuning database tells platforms apart: the CPU as LLVM
// names it and machine_identity() (CPUs online and allowed, caches).
std::string tuning_platform();

// Evaluates a run check (a PSIR bool expression over scalar parameters) for these arguments.
bool evaluate_run_check(const psir::Function& function, void* const* args);
// Evaluates an integer PSIR expression over scalar parameters and constants for these arguments.
std::int64_t evaluate_integer(const psir::Function& function, const psir::Expr& expr, void* const* args);

// The names a host-side PSIR expression reads: variables, and single elements of buffers.
class ValueScope {
 public:
  virtual ~ValueScope() = default;
  virtual psir::Value variable(const std::string& name) const = 0;
  virtual psir::Value element(const std::string& buffer, const std::vector<std::int64_t>& indices) const = 0;
};
// Evaluates a PSIR expression on the host with C semantics of its types (f32
// arithmetic rounds to float, integer division by zero is an error).
psir::Value evaluate(const psir::Expr& expr, const ValueScope& scope);
// A value as one of the PSIR type's bytes (8 bytes hold any), for a kernel argument.
std::uint64_t scalar_bits(psir::Type type, const psir::Value& value);
// The value of a scalar of this type stored at `p`.
psir::Value read_scalar(psir::Type type, const void* p);

}  // namespace asp::core
