#include "asp/core/binding.hpp"
#include "asp/core/program.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

namespace asp::core {

namespace {

using psir::Type;

constexpr std::size_t none = static_cast<std::size_t>(-1);

std::optional<Type> psir_type(DLDataType t) {
  if (t.lanes != 1) return std::nullopt;
  const auto by_bits = [&](Type b8, Type b16, Type b32, Type b64) -> std::optional<Type> {
    switch (t.bits) {
      case 8: return b8;
      case 16: return b16;
      case 32: return b32;
      case 64: return b64;
    }
    return std::nullopt;
  };
  switch (t.code) {
    case kDLInt: return by_bits(Type::i8, Type::i16, Type::i32, Type::i64);
    case kDLUInt: return by_bits(Type::u8, Type::u16, Type::u32, Type::u64);
    case kDLFloat:
      if (t.bits == 32) return Type::f32;
      if (t.bits == 64) return Type::f64;
      return std::nullopt;
    case dl_bool: return t.bits == 8 ? std::optional<Type>(Type::boolean) : std::nullopt;
  }
  return std::nullopt;
}

// What a Python user calls the kind of a scalar argument.
const char* scalar_kind(DLDataType t) {
  if (t.code == kDLFloat) return "a float";
  if (t.code == dl_bool) return "a bool";
  return "an int";
}

bool same_type(DLDataType a, DLDataType b) { return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes; }

// Whether a scalar argument of kind `from` may feed a parameter of type `to`:
// exactly what Python would do with the value (a float never becomes an integer).
bool convertible(DLDataType from, Type to) {
  if (from.code == kDLFloat) return psir::is_float(to);
  if (to == Type::boolean) return from.code == dl_bool;
  return true;
}

template <class T>
void put(std::uint64_t& slot, T value) {
  static_assert(sizeof(T) <= sizeof(slot));
  std::memcpy(&slot, &value, sizeof value);
}

template <class T>
bool fits(std::int64_t v) {
  if constexpr (std::is_signed_v<T>) {
    return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
  } else {
    return v >= 0 && static_cast<std::uint64_t>(v) <= std::numeric_limits<T>::max();
  }
}

// Stores an integer value as a parameter of type `to`; false when it does not fit.
bool put_integer(std::uint64_t& slot, std::int64_t v, Type to) {
  switch (to) {
    case Type::i8: return fits<std::int8_t>(v) && (put(slot, static_cast<std::int8_t>(v)), true);
    case Type::i16: return fits<std::int16_t>(v) && (put(slot, static_cast<std::int16_t>(v)), true);
    case Type::i32: return fits<std::int32_t>(v) && (put(slot, static_cast<std::int32_t>(v)), true);
    case Type::i64: return put(slot, v), true;
    case Type::u8: return fits<std::uint8_t>(v) && (put(slot, static_cast<std::uint8_t>(v)), true);
    case Type::u16: return fits<std::uint16_t>(v) && (put(slot, static_cast<std::uint16_t>(v)), true);
    case Type::u32: return fits<std::uint32_t>(v) && (put(slot, static_cast<std::uint32_t>(v)), true);
    case Type::u64: return v >= 0 && (put(slot, static_cast<std::uint64_t>(v)), true);
    case Type::f32: return put(slot, static_cast<float>(v)), true;
    case Type::f64: return put(slot, static_cast<double>(v)), true;
    case Type::boolean: return put(slot, v != 0), true;
  }
  return false;
}

// The stride of `axis` of a compact row-major tensor, in elements.
std::int64_t compact_stride(const DLTensor& t, int axis) {
  std::int64_t stride = 1;
  for (int d = t.ndim - 1; d > axis; --d) stride *= t.shape[d];
  return stride;
}

std::int64_t stride_of(const DLTensor& t, int axis) { return t.strides ? t.strides[axis] : compact_stride(t, axis); }

bool is_compact(const DLTensor& t) {
  if (!t.strides) return true;
  // Empty: no element is addressed, whatever the strides (NumPy calls any empty array contiguous).
  for (int d = 0; d < t.ndim; ++d) {
    if (t.shape[d] == 0) return true;
  }
  std::int64_t expected = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    // NumPy's own rule: the stride of an axis of length 1 never matters.
    if (t.shape[d] != 1 && t.strides[d] != expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

}  // namespace

std::string dtype_name(DLDataType t) {
  std::string name;
  switch (t.code) {
    case kDLInt: name = "int" + std::to_string(t.bits); break;
    case kDLUInt: name = "uint" + std::to_string(t.bits); break;
    case kDLFloat: name = "float" + std::to_string(t.bits); break;
    case kDLBfloat: name = "bfloat" + std::to_string(t.bits); break;
    case kDLComplex: name = "complex" + std::to_string(t.bits); break;
    case dl_bool: name = "bool"; break;
    default: name = "type code " + std::to_string(t.code) + " of " + std::to_string(t.bits) + " bits";
  }
  if (t.lanes != 1) name += "x" + std::to_string(t.lanes);
  return name;
}

Binding::Binding(const psir::Function& function, const std::vector<asp_arg>& args) : function_(function) {
  const auto& params = function_.params;
  if (args.size() > max_args) {
    throw InvalidArgument("a kernel takes at most " + std::to_string(max_args) + " arguments, not " +
                          std::to_string(args.size()));
  }
  if (params.size() > max_params) {
    throw std::runtime_error("kernel " + function_.name + " has " + std::to_string(params.size()) +
                             " parameters; at most " + std::to_string(max_params) + " can be bound");
  }
  for (const asp_arg& a : args) {
    const std::string name = a.name ? a.name : "";
    if (std::any_of(args_.begin(), args_.end(), [&](const Arg& other) { return other.name == name; })) {
      throw InvalidArgument("two arguments are named '" + name + "'");
    }
    Arg arg{name, a.kind, a.kind == ASP_ARG_TENSOR ? a.tensor.dtype : a.scalar_type};
    if (a.kind == ASP_ARG_TENSOR) {
      if (a.tensor.ndim < 0 || a.tensor.ndim > max_rank) {
        throw InvalidArgument("argument '" + name + "' has " + std::to_string(a.tensor.ndim) + " dimensions; at most " +
                              std::to_string(max_rank) + " are supported");
      }
      arg.ndim = a.tensor.ndim;
    }
    args_.push_back(std::move(arg));
  }
  auto find = [&](const std::string& name) {
    for (std::size_t i = 0; i < args_.size(); ++i) {
      if (args_[i].name == name) return i;
    }
    return none;
  };
  auto extent_at = [&](std::size_t arg, int axis, bool stride) {
    const DLTensor& t = args[arg].tensor;
    return stride ? stride_of(t, axis) : t.shape[axis];
  };
  auto where = [&](std::size_t arg, int axis, bool stride) {
    return "argument '" + args_[arg].name + "' has " + std::to_string(extent_at(arg, axis, stride)) +
           (stride ? " as the stride of axis " : " along axis ") + std::to_string(axis);
  };

  // Every axis that names an extent, by the extent's name, in order of appearance.
  struct Use {
    std::size_t arg;
    int axis;
    bool stride;
  };
  std::map<std::string, std::vector<Use>> uses;
  sources_.resize(params.size());
  for (std::size_t p = 0; p < params.size(); ++p) {
    const psir::Param& param = params[p];
    if (param.kind != psir::Param::Kind::buffer) continue;
    const std::size_t a = find(param.name);
    if (a == none || args_[a].kind != ASP_ARG_TENSOR) {
      throw std::runtime_error("kernel " + function_.name + ": buffer parameter '" + param.name +
                               "' is not the name of an array argument");
    }
    if (psir_type(args_[a].dtype) != param.type) {
      throw std::runtime_error("kernel " + function_.name + ": buffer parameter '" + param.name + "' has type " +
                               psir::type_name(param.type) + ", but the argument has dtype " +
                               dtype_name(args_[a].dtype));
    }
    if (static_cast<int>(param.shape.size()) != args_[a].ndim) {
      throw InvalidArgument("argument '" + param.name + "' has " + std::to_string(args_[a].ndim) +
                            " dimensions; the kernel takes " + std::to_string(param.shape.size()));
    }
    sources_[p] = {Source::Kind::buffer, a, 0, param.type};
    args_[a].contiguous = param.strides.empty();
    for (bool stride : {false, true}) {
      const auto& extents = stride ? param.strides : param.shape;
      for (int d = 0; d < static_cast<int>(extents.size()); ++d) {
        if (const auto* c = std::get_if<std::int64_t>(&extents[static_cast<std::size_t>(d)])) {
          if (extent_at(a, d, stride) != *c) {
            throw InvalidArgument(where(a, d, stride) + "; the kernel takes " + std::to_string(*c));
          }
          checks_.push_back({a, d, stride, true, *c});
        } else {
          uses[std::get<std::string>(extents[static_cast<std::size_t>(d)])].push_back({a, d, stride});
        }
      }
    }
  }
  for (std::size_t p = 0; p < params.size(); ++p) {
    const psir::Param& param = params[p];
    if (param.kind != psir::Param::Kind::scalar) continue;
    const auto used = uses.find(param.name);
    const std::size_t a = find(param.name);
    if (a != none) {
      if (args_[a].kind != ASP_ARG_SCALAR || !convertible(args_[a].dtype, param.type)) {
        throw std::runtime_error("kernel " + function_.name + ": scalar parameter '" + param.name + "' of type " +
                                 psir::type_name(param.type) + " cannot take argument '" + param.name + "'");
      }
      sources_[p] = {Source::Kind::scalar, a, 0, param.type};
      if (used == uses.end()) continue;
      for (const Use& u : used->second) {
        if (args[a].scalar.i != extent_at(u.arg, u.axis, u.stride)) {
          throw InvalidArgument(where(u.arg, u.axis, u.stride) + " but argument '" + param.name + "' is " +
                                std::to_string(args[a].scalar.i) + "; the kernel needs them equal");
        }
        checks_.push_back({u.arg, u.axis, u.stride, false, static_cast<std::int64_t>(p)});
      }
    } else if (used != uses.end()) {
      if (!psir::is_integer(param.type)) {
        throw std::runtime_error("kernel " + function_.name + ": extent '" + param.name + "' is not an integer");
      }
      const Use& first = used->second.front();
      sources_[p] = {first.stride ? Source::Kind::stride : Source::Kind::shape, first.arg, first.axis, param.type};
      extent_params_.push_back(p);
      for (const Use& u : used->second) {
        if (&u == &first) continue;
        if (extent_at(u.arg, u.axis, u.stride) != extent_at(first.arg, first.axis, first.stride)) {
          throw InvalidArgument(where(u.arg, u.axis, u.stride) + " but " + where(first.arg, first.axis, first.stride) +
                                "; the kernel needs them equal (extent " + param.name + ")");
        }
        checks_.push_back({u.arg, u.axis, u.stride, false, static_cast<std::int64_t>(p)});
      }
    } else {
      throw std::runtime_error("kernel " + function_.name + ": scalar parameter '" + param.name +
                               "' is neither an argument nor an extent of one");
    }
    uses.erase(param.name);
  }
  if (!uses.empty()) {
    throw std::runtime_error("kernel " + function_.name + ": extent '" + uses.begin()->first +
                             "' is not a scalar parameter");
  }
}

void Binding::bind(const asp_arg* values, std::size_t count, Frame& frame) const {
  if (count != args_.size()) {
    std::vector<std::string> names;
    for (const Arg& a : args_) names.push_back(a.name);
    throw ArgumentTypeError("the kernel takes " + std::to_string(args_.size()) + " argument" +
                            (args_.size() == 1 ? "" : "s") + " (" + join_names(names) + "), got " +
                            std::to_string(count));
  }
  for (std::size_t i = 0; i < count; ++i) {
    const asp_arg& v = values[i];
    const Arg& a = args_[i];
    if (a.kind == ASP_ARG_TENSOR) {
      if (v.kind != ASP_ARG_TENSOR) {
        throw ArgumentTypeError("argument '" + a.name + "' must be an array of " + dtype_name(a.dtype) +
                                ", got a scalar");
      }
      if (!same_type(v.tensor.dtype, a.dtype)) {
        throw ArgumentTypeError("argument '" + a.name + "' has dtype " + dtype_name(v.tensor.dtype) +
                                "; the kernel was specialized for " + dtype_name(a.dtype));
      }
      if (v.tensor.ndim != a.ndim) {
        throw InvalidArgument("argument '" + a.name + "' has " + std::to_string(v.tensor.ndim) +
                              " dimensions; the kernel was specialized for " + std::to_string(a.ndim));
      }
      if (v.tensor.device.device_type != kDLCPU && v.tensor.device.device_type != device_type_) {
        throw InvalidArgument("argument '" + a.name + "' is in the memory of DLPack device type " +
                              std::to_string(v.tensor.device.device_type) + ", which this kernel's backend cannot use; " +
                              "pass a host array");
      }
      if (a.contiguous && !is_compact(v.tensor)) {
        throw InvalidArgument("argument '" + a.name + "' is not C-contiguous; the kernel needs a compact row-major " +
                              "array (numpy.ascontiguousarray makes one)");
      }
    } else if (v.kind != ASP_ARG_SCALAR || v.scalar_type.code != a.dtype.code) {
      throw ArgumentTypeError("argument '" + a.name + "' must be " + scalar_kind(a.dtype) + ", got " +
                              (v.kind == ASP_ARG_SCALAR ? scalar_kind(v.scalar_type) : "an array"));
    }
  }

  // The integer value of each parameter bound so far, for the extent checks.
  std::array<std::int64_t, max_params> ints;
  for (std::size_t p = 0; p < sources_.size(); ++p) {
    const Source& s = sources_[p];
    const asp_arg& v = values[s.arg];
    if (s.kind == Source::Kind::buffer) {
      frame.entry[p] = static_cast<char*>(v.tensor.data) + v.tensor.byte_offset;
      continue;
    }
    std::uint64_t& slot = frame.scalars[p];
    bool ok = true;
    std::int64_t value = 0;
    if (s.kind == Source::Kind::scalar) {
      if (v.scalar_type.code == kDLFloat) {
        if (s.type == Type::f32) {
          put(slot, static_cast<float>(v.scalar.f));
        } else {
          put(slot, v.scalar.f);
        }
      } else {
        value = v.scalar.i;
        ok = put_integer(slot, value, s.type);
      }
    } else {
      value = s.kind == Source::Kind::shape ? v.tensor.shape[s.axis] : stride_of(v.tensor, s.axis);
      ok = put_integer(slot, value, s.type);
    }
    if (!ok) {
      throw InvalidArgument("argument '" + args_[s.arg].name + "': " + std::to_string(value) +
                            (s.kind == Source::Kind::scalar ? "" : " (its extent)") + " does not fit in " +
                            psir::type_name(s.type));
    }
    ints[p] = value;
    frame.entry[p] = &slot;
  }
  for (const AxisCheck& c : checks_) {
    const DLTensor& t = values[c.arg].tensor;
    const std::int64_t actual = c.stride ? stride_of(t, c.axis) : t.shape[c.axis];
    const std::int64_t expected = c.constant ? c.value : ints[static_cast<std::size_t>(c.value)];
    if (actual != expected) throw InvalidArgument(describe_axis(c) + ", not " + std::to_string(actual));
  }
  frame.extent_count = extent_params_.size();
  for (std::size_t k = 0; k < extent_params_.size(); ++k) frame.extents[k] = ints[extent_params_[k]];
}

std::string Binding::describe_axis(const AxisCheck& c) const {
  const std::string what = c.stride ? "the stride of axis " : "the extent of axis ";
  std::string text = "argument '" + args_[c.arg].name + "' must have " + what + std::to_string(c.axis);
  if (c.constant) return text + " equal to " + std::to_string(c.value) + " as at specialization";
  const std::size_t p = static_cast<std::size_t>(c.value);
  const Source& s = sources_[p];
  const std::string& name = function_.params[p].name;
  if (s.kind == Source::Kind::scalar) return text + " equal to argument '" + name + "'";
  return text + " equal to " + (s.kind == Source::Kind::stride ? "the stride of axis " : "the extent of axis ") +
         std::to_string(s.axis) + " of argument '" + args_[s.arg].name + "' (both are " + name + ")";
}

std::string Binding::signature(const asp_arg* values) const {
  std::string text;
  for (std::size_t i = 0; i < args_.size(); ++i) {
    const asp_arg& v = values[i];
    if (!text.empty()) text += ' ';
    text += args_[i].name + ":";
    if (v.kind != ASP_ARG_TENSOR) {
      text += dtype_name(v.scalar_type);
      continue;
    }
    text += dtype_name(v.tensor.dtype) + "[";
    for (int d = 0; d < v.tensor.ndim; ++d) text += (d ? "," : "") + std::to_string(v.tensor.shape[d]);
    if (!args_[i].contiguous) {
      text += ";";
      for (int d = 0; d < v.tensor.ndim; ++d) text += (d ? "," : "") + std::to_string(stride_of(v.tensor, d));
    }
    text += "]";
  }
  return text;
}

namespace {

// Python's exception for an ASP_C_PYTHON_ERROR status, with the kernel's line.
KernelFault python_fault(int status) {
  const char* what = "";
  KernelFault::Kind kind = KernelFault::Kind::value_error;
  switch (ASP_C_PYTHON_ERROR_OF(status)) {
    case ASP_C_MATH_DOMAIN: what = "math domain error"; break;
    case ASP_C_MATH_RANGE: what = "math range error", kind = KernelFault::Kind::overflow_error; break;
    case ASP_C_INT_OF_NAN: what = "cannot convert float NaN to integer"; break;
    case ASP_C_INT_OF_INF: what = "cannot convert float infinity to integer", kind = KernelFault::Kind::overflow_error; break;
    default: return {KernelFault::Kind::other, status, "the kernel failed with status " + std::to_string(status)};
  }
  static const char* const operations[] = {"?",        "math.sqrt",  "math.exp",   "math.log", "math.sin",
                                           "math.cos", "math.tan",   "int",        "math.floor", "math.ceil"};
  const unsigned op = ASP_C_PYTHON_OPERATION_OF(status);
  const std::string call = op < std::size(operations) ? std::string(operations[op]) + "(...)" : "an operation";
  const unsigned line = ASP_C_PYTHON_LINE_OF(status);
  return {kind, status, std::string(what) + " (kernel " + (line ? "line " + std::to_string(line) : "") + (line ? ": " : "") + call + ")"};
}

}  // namespace

KernelFault Binding::fault_of(const psir::Function& function, int status) {
  if (status == ASP_C_ZERO_DIVISION) return {KernelFault::Kind::zero_division, status, "division by zero"};
  if (ASP_C_IS_PYTHON_ERROR(status)) return python_fault(status);
  const int k = status - ASP_C_OUT_OF_BOUNDS;
  if (k >= 0 && static_cast<std::size_t>(k) < function.params.size()) {
    return {KernelFault::Kind::out_of_bounds, status,
            "index out of bounds reading '" + function.params[static_cast<std::size_t>(k)].name + "'"};
  }
  return {KernelFault::Kind::other, status, "kernel " + function.name + " failed with status " + std::to_string(status)};
}

namespace {

std::vector<bool> written_by(const Kernel& kernel, std::size_t params) {
  std::vector<bool> written(params);
  for (std::size_t p = 0; p < params; ++p) written[p] = kernel.writes(p);
  return written;
}

}  // namespace

Callable::Callable(std::shared_ptr<Kernel> kernel, Binding binding)
    : kernels_{std::move(kernel)},
      binding_(std::move(binding)),
      written_(written_by(*kernels_.front(), binding_.function().params.size())) {
  if (const auto& device = kernels_.front()->device()) binding_.accept_device(device->device_type());
}

namespace {

std::vector<std::string> kernel_names(const psir::Module& m) {
  std::vector<std::string> names;
  for (const psir::KernelDecl& k : m.kernels) names.push_back(k.name);
  return names;
}

}  // namespace

Callable::Callable(std::vector<std::shared_ptr<Kernel>> kernels, const psir::Module& program, Binding binding)
    : kernels_(std::move(kernels)),
      binding_(std::move(binding)),
      program_(std::make_unique<ProgramRunner>(program.program.value(), kernels_, kernel_names(program))),
      written_(program_->written()) {
  if (kernels_.empty() || kernels_.size() > max_kernels) {
    throw std::runtime_error("a program has 1 to " + std::to_string(max_kernels) + " kernels, this one " +
                             std::to_string(kernels_.size()));
  }
  if (const auto& device = kernels_.front()->device()) binding_.accept_device(device->device_type());
}

Callable::~Callable() = default;

Callable::Slots Callable::slots_for(const Binding::Frame& frame, const asp_arg* values) {
  if (program_ && program_->has_tuning_key()) {
    // The key may read scalars, which the cache below (by extents) does not see.
    Slots slots{};
    const std::string signature = program_->tuning_signature(frame);
    for (std::size_t k = 0; k < kernels_.size(); ++k) slots[k] = &kernels_[k]->slot(signature);
    return slots;
  }
  const auto key_begin = frame.extents.begin();
  const auto key_end = key_begin + static_cast<std::ptrdiff_t>(frame.extent_count);
  const std::size_t used = cache_used_.load(std::memory_order_acquire);
  for (std::size_t k = 0; k < used; ++k) {
    if (std::equal(key_begin, key_end, cache_[k].extents.begin())) return cache_[k].slots;
  }
  Slots slots{};
  const std::string signature = binding_.signature(values);
  for (std::size_t k = 0; k < kernels_.size(); ++k) slots[k] = &kernels_[k]->slot(signature);
  std::lock_guard lock(mutex_);
  const std::size_t now = cache_used_.load(std::memory_order_relaxed);
  for (std::size_t k = 0; k < now; ++k) {
    if (std::equal(key_begin, key_end, cache_[k].extents.begin())) return slots;  // another thread cached it
  }
  if (now < cached_slots) {
    CachedSlot& entry = cache_[now];
    std::copy(key_begin, key_end, entry.extents.begin());
    entry.slots = slots;
    cache_used_.store(now + 1, std::memory_order_release);
  }
  return slots;
}

std::size_t Callable::operator()(const asp_arg* values, std::size_t count, Mirror* const* mirrors) {
  Binding::Frame frame;
  binding_.bind(values, count, frame);
  const Slots slots = slots_for(frame, values);
  const std::shared_ptr<const DeviceRuntime>& device = kernels_.front()->device();
  std::optional<DeviceFrame> on_device;
  if (device) {
    on_device.emplace(device, binding_, frame, values, mirrors, written_);
  } else {
    // A host kernel reads and writes the host copies: bring them up to date, and
    // let the device copies of what it may write go stale.
    for (std::size_t i = 0; mirrors && i < count; ++i) {
      if (mirrors[i]) mirrors[i]->release_to_host();
    }
  }
  if (program_) {
    std::size_t variant = 0;
    try {
      variant = program_->run(binding_, frame, values, slots.data(), on_device ? &*on_device : nullptr);
    } catch (...) {
      if (on_device) on_device->finish();
      throw;
    }
    if (on_device) on_device->finish();
    return variant;
  }
  std::array<void*, Binding::max_params> entry = frame.entry;
  const std::size_t params = binding_.function().params.size();
  for (std::size_t p = 0; on_device && p < params; ++p) {
    if (asp_device_buffer* b = on_device->buffer(p)) entry[p] = b;
  }
  const Kernel::Run run = kernels_.front()->run(*slots[0], entry.data());
  if (on_device) on_device->finish();
  if (run.status != ASP_C_OK) throw binding_.fault(run.status);
  return run.variant;
}

namespace {

// The bytes a tensor's elements span from its data pointer (a device copy holds exactly these).
std::size_t span_bytes(const DLTensor& t, const std::string& name) {
  std::size_t elements = 1;
  for (int d = 0; d < t.ndim; ++d) {
    if (t.shape[d] == 0) return 0;
    const std::int64_t stride = stride_of(t, d);
    if (stride < 0) {
      throw InvalidArgument("argument '" + name + "' has a negative stride; a device kernel needs it in increasing order " +
                            "in memory (numpy.ascontiguousarray makes a copy that is)");
    }
    elements += static_cast<std::size_t>((t.shape[d] - 1) * stride);
  }
  return elements * ((t.dtype.bits * t.dtype.lanes + 7) / 8);
}

}  // namespace

DeviceFrame::DeviceFrame(std::shared_ptr<const DeviceRuntime> device, const Binding& binding,
                         const Binding::Frame& frame, const asp_arg* values, Mirror* const* mirrors,
                         const std::vector<bool>& written)
    : device_(std::move(device)) {
  const std::size_t params = binding.function().params.size();
  handles_.assign(params, nullptr);
  for (std::size_t p = 0; p < params; ++p) {
    const std::size_t i = binding.buffer_arg(p);
    if (i == Binding::npos) continue;
    const DLTensor& tensor = values[i].tensor;
    void* host = frame.entry[p];
    const std::size_t bytes = span_bytes(tensor, binding.arg_name(i));
    const bool writes = p < written.size() && written[p];
    if (tensor.device.device_type == device_->device_type()) {
      copies_.push_back({std::make_unique<DeviceBuffer>(device_, device_->wrap(host, bytes), bytes), host, false});
      handles_[p] = copies_.back().buffer->handle();
    } else if (mirrors && mirrors[i]) {
      handles_[p] = mirrors[i]->on_device(device_, host, bytes);
      if (writes) written_mirrors_.push_back(mirrors[i]);
    } else {
      // One copy per host array, so that arguments sharing memory share it on the device too.
      auto same = std::find_if(copies_.begin(), copies_.end(), [&](const Copy& c) {
        return c.host == host && c.buffer->bytes() == bytes;
      });
      if (same == copies_.end()) {
        auto buffer = std::make_unique<DeviceBuffer>(device_, device_->allocate(bytes), bytes);
        device_->copy_in(buffer->handle(), host, bytes);
        copies_.push_back({std::move(buffer), host, false});
        same = copies_.end() - 1;
      }
      same->copy_out = same->copy_out || writes;
      handles_[p] = same->buffer->handle();
    }
  }
}

void DeviceFrame::finish() {
  for (const Copy& c : copies_) {
    if (c.copy_out) device_->copy_out(c.host, c.buffer->handle(), c.buffer->bytes());
  }
  for (Mirror* m : written_mirrors_) m->device_wrote();
  copies_.clear();
  written_mirrors_.clear();
}

}  // namespace asp::core
