// Argument binding (DESIGN.md §2 step 8), the per-call fast path between a
// caller and a compiled kernel.
//
// When a kernel is specialized, Binding works out once where each PSIR
// parameter comes from among the kernel's named arguments: a buffer from the
// argument of its name, a scalar from the scalar argument of its name or
// from the shape (or stride) of a buffer that names it as an extent. A call
// then only checks what can differ from the specialization (dtype, rank,
// shapes, strides, device) and copies pointers and values into storage of a
// fixed size on the caller's stack: no allocation, no search, no hashing.
#pragma once

#include "asp/core/errors.hpp"
#include "asp/core/device.hpp"
#include "asp/core/kernel.hpp"

#include <asp/plugin.h>
#include <asp/psir.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace asp::core {

// DLPack's type code for booleans, kDLBool, added in DLPack 0.8 (Debian's header is 0.6).
inline constexpr std::uint8_t dl_bool = 6;

// The NumPy-style name of a DLPack type ("float64", "int32", "bool").
std::string dtype_name(DLDataType type);

class Binding {
 public:
  // Bounds that let a call keep everything on the stack.
  static constexpr std::size_t max_params = 64;
  static constexpr std::size_t max_args = 64;
  static constexpr int max_rank = 16;

  // What one call writes: the C entry convention's argument array, the
  // scalar values it points to, and the extents read from shapes and strides
  // (which, with the dtypes and ranks fixed at specialization, identify the
  // tuning signature).
  struct Frame {
    std::array<void*, max_params> entry;
    std::array<std::uint64_t, max_params> scalars;  // 8 bytes hold any PSIR scalar type
    std::array<std::int64_t, max_params> extents;
    std::size_t extent_count = 0;
  };

  // Plans the calls of `function` with the named arguments `args` as they were
  // described at specialization (their data is not read). Throws
  // InvalidArgument when the arguments contradict the kernel or each other
  // (a rank it does not take, two sizes for one extent), std::runtime_error
  // when the kernel's parameters cannot be fed from them (a buffer no argument
  // names: a bug in the plugin that produced the PSIR).
  Binding(const psir::Function& function, const std::vector<asp_arg>& args);

  std::size_t arg_count() const { return args_.size(); }
  const std::string& arg_name(std::size_t i) const { return args_.at(i).name; }
  // Whether argument i is an array or a scalar, and its dtype (for a scalar: int, float or bool).
  asp_arg_kind arg_kind(std::size_t i) const { return args_.at(i).kind; }
  DLDataType arg_type(std::size_t i) const { return args_.at(i).dtype; }
  const psir::Function& function() const { return function_; }
  // The argument that PSIR buffer parameter `param` is, or npos for a scalar parameter.
  std::size_t buffer_arg(std::size_t param) const {
    const Source& s = sources_.at(param);
    return s.kind == Source::Kind::buffer ? s.arg : npos;
  }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  // Also accept arrays in the memory of this DLPack device type (a device backend's own).
  void accept_device(std::int32_t device_type) { device_type_ = device_type; }

  // Checks one call's arguments, given in the order of `args` at
  // construction, and fills `frame`. Throws ArgumentTypeError (count, kind or
  // dtype) or InvalidArgument (rank, shape, strides, device, a value out of
  // range), each naming the argument.
  void bind(const asp_arg* values, std::size_t count, Frame& frame) const;

  // The tuning signature of a call: each argument's dtype and shape (and
  // strides where the kernel takes them). Built once per shape, not per call.
  std::string signature(const asp_arg* values) const;

  // The message for a non-zero status of the C entry convention.
  KernelFault fault(int status) const { return fault_of(function_, status); }
  // The same for a status of `function`, whose parameters the status names.
  static KernelFault fault_of(const psir::Function& function, int status);

 private:
  // Where a parameter's value comes from.
  struct Source {
    enum class Kind { buffer, scalar, shape, stride } kind;
    std::size_t arg;   // index into args_
    int axis = 0;      // shape, stride
    psir::Type type;   // the parameter's type
  };
  // What an argument of one call must match.
  struct Arg {
    std::string name;
    asp_arg_kind kind;
    DLDataType dtype;              // tensor: its dtype; scalar: the kind of value (int, float, bool)
    int ndim = 0;
    bool contiguous = false;       // tensor: the kernel indexes it as compact row-major
  };
  // One axis of one argument that must equal a constant or a parameter's value.
  struct AxisCheck {
    std::size_t arg;
    int axis;
    bool stride;
    bool constant;
    std::int64_t value;  // the constant, or the index of the parameter that holds the extent
  };

  std::string describe_axis(const AxisCheck& check) const;

  psir::Function function_;
  std::vector<Arg> args_;
  std::vector<Source> sources_;
  std::vector<AxisCheck> checks_;
  std::vector<std::size_t> extent_params_;  // the parameters bound from shapes and strides, in order
  std::int32_t device_type_ = kDLCPU;
};

// The device copies of one call's arrays (residency, device.hpp): device
// arrays used in place, mirrored arrays through their Mirror, and a copy of
// every other host array, shared by arguments that share memory.
class DeviceFrame {
 public:
  // `written[p]`: whether the call may store into buffer parameter p (it is then copied back or marked newer).
  DeviceFrame(std::shared_ptr<const DeviceRuntime> device, const Binding& binding, const Binding::Frame& frame,
              const asp_arg* values, Mirror* const* mirrors, const std::vector<bool>& written);
  DeviceFrame(const DeviceFrame&) = delete;
  DeviceFrame& operator=(const DeviceFrame&) = delete;
  // The device buffer of buffer parameter p (null for a scalar parameter).
  asp_device_buffer* buffer(std::size_t param) const { return handles_.at(param); }
  // Copies what the call wrote back to the host arrays without a mirror, and tells the mirrors what changed.
  // What a kernel wrote before an error it reports is visible too, as on the host.
  void finish();

 private:
  struct Copy {
    std::unique_ptr<DeviceBuffer> buffer;
    void* host;
    bool copy_out;
  };
  std::shared_ptr<const DeviceRuntime> device_;
  std::vector<asp_device_buffer*> handles_;
  std::vector<Copy> copies_;
  std::vector<Mirror*> written_mirrors_;
};

class ProgramRunner;

// A specialization with the plan to call it: what a Python `Specialized`
// wraps. A single kernel, or (DESIGN.md §12) a program whose host schedule
// launches several. Safe to call from several threads at once.
class Callable {
 public:
  static constexpr std::size_t max_kernels = 16;

  Callable(std::shared_ptr<Kernel> kernel, Binding binding);
  // A program (a version-2 module): its kernels in the order of its declarations, and `binding` over its parameters.
  Callable(std::vector<std::shared_ptr<Kernel>> kernels, const psir::Module& program, Binding binding);
  ~Callable();

  // The first kernel (the only one outside a program).
  const Kernel& kernel() const { return *kernels_.front(); }
  const std::vector<std::shared_ptr<Kernel>>& kernels() const { return kernels_; }
  const Binding& binding() const { return binding_; }
  // Whether a call may store into argument `arg` (an array some kernel writes):
  // a read-only array is fine for any other.
  bool writes_arg(std::size_t arg) const {
    for (std::size_t p = 0; p < written_.size(); ++p) {
      if (written_[p] && binding_.buffer_arg(p) == arg) return true;
    }
    return false;
  }

  // Binds the arguments, runs the variant the tuner picks for their shapes (in a
  // program: the schedule, each launch with the variant its kernel's tuner picks)
  // and returns the index of the variant that ran (of the last launch, numbered
  // across the kernels' variants in order). Throws
  // what Binding::bind throws, and KernelFault when a kernel reports an error
  // status. `mirrors`, when given, holds for each argument its Mirror or null
  // (device.hpp: residency); host kernels sync them first, device kernels use
  // and update their device copies. Arrays without a mirror are copied to the
  // device and back on every call.
  std::size_t operator()(const asp_arg* values, std::size_t count, Mirror* const* mirrors = nullptr);

 private:
  using Slots = std::array<Kernel::Slot*, max_kernels>;
  Slots slots_for(const Binding::Frame& frame, const asp_arg* values);

  // The tuning slots of the first shapes seen, so that a call with one of them
  // neither builds a signature string nor searches the kernels' maps, nor
  // takes a lock: an entry is written once, under the mutex, before
  // `cache_used_` publishes it. (A domain that specializes per shape, as the
  // stencil domain does, sees one shape per Callable.)
  struct CachedSlot {
    std::array<std::int64_t, Binding::max_params> extents;
    Slots slots{};
  };
  static constexpr std::size_t cached_slots = 8;

  std::vector<std::shared_ptr<Kernel>> kernels_;
  Binding binding_;
  std::unique_ptr<const ProgramRunner> program_;
  std::vector<bool> written_;  // per parameter: whether a call may store into it
  std::mutex mutex_;
  std::array<CachedSlot, cached_slots> cache_{};
  std::atomic<std::size_t> cache_used_{0};
};

}  // namespace asp::core
