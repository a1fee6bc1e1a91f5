// What the modules of asp._core share: argument descriptions of Python
// values, residency (Resident) and a specialized kernel (Specialized).
#pragma once

#include "asp/core/binding.hpp"
#include "asp/core/device.hpp"
#include "asp/core/specializer.hpp"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace asp::python {

namespace nb = nanobind;
using namespace asp::core;

constexpr DLDataType int64_type{kDLInt, 64, 1};
constexpr DLDataType float64_type{kDLFloat, 64, 1};
constexpr DLDataType bool_type{dl_bool, 8, 1};

inline bool is_numpy_scalar(PyObject* o, const char* prefix) {
  return std::strncmp(Py_TYPE(o)->tp_name, prefix, std::strlen(prefix)) == 0;
}

// A Python scalar as an argument description, or std::nullopt when `o` is not one.
// NumPy's scalar types count as what they hold (numpy.float32 is a float).
inline std::optional<asp_arg> scalar_of(PyObject* o, const std::string& name) {
  asp_arg a{};
  a.struct_size = sizeof a;
  a.kind = ASP_ARG_SCALAR;
  if (PyBool_Check(o) || is_numpy_scalar(o, "numpy.bool")) {
    a.scalar_type = bool_type;
    a.scalar.i = PyObject_IsTrue(o);
  } else if (PyLong_Check(o) || is_numpy_scalar(o, "numpy.int") || is_numpy_scalar(o, "numpy.uint")) {
    int overflow = 0;
    a.scalar_type = int64_type;
    a.scalar.i = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow) {
      PyErr_SetString(PyExc_OverflowError, ("argument '" + name + "' does not fit in 64 bits").c_str());
      throw nb::python_error();
    }
    if (a.scalar.i == -1 && PyErr_Occurred()) throw nb::python_error();
  } else if (PyFloat_Check(o) || is_numpy_scalar(o, "numpy.float")) {
    a.scalar_type = float64_type;
    a.scalar.f = PyFloat_AsDouble(o);
    if (a.scalar.f == -1.0 && PyErr_Occurred()) throw nb::python_error();
  } else {
    return std::nullopt;
  }
  return a;
}

template <class Array>
asp_arg tensor_of(const Array& array) {
  asp_arg a{};
  a.struct_size = sizeof a;
  a.kind = ASP_ARG_TENSOR;
  a.tensor.data = const_cast<void*>(array.data());
  a.tensor.device = {static_cast<DLDeviceType>(array.device_type()), array.device_id()};
  a.tensor.ndim = static_cast<int>(array.ndim());
  const nb::dlpack::dtype t = array.dtype();
  a.tensor.dtype = {t.code, t.bits, t.lanes};
  a.tensor.shape = const_cast<std::int64_t*>(array.shape_ptr());
  a.tensor.strides = const_cast<std::int64_t*>(array.stride_ptr());
  return a;
}

inline std::string python_type_name(nb::handle o) { return nb::type_name(o.type()).c_str(); }

// A host array with its device copy (asp/core/device.hpp: residency), held
// by an owner such as asp.stencil.StencilGrid that calls host() before Python
// reads the array. Passed to a Specialized in place of the array.
struct Resident {
  explicit Resident(nb::ndarray<> a) : array(std::move(a)) {}
  nb::ndarray<> array;
  Mirror mirror;
};
// asp._core.Resident, set when the module is initialized.
inline PyTypeObject* resident_type = nullptr;

// The arrays one call converted, kept until it returns. Only those it made
// are constructed and destroyed (a call has up to Binding::max_args).
template <typename Array>
class Converted {
 public:
  Converted() = default;
  Converted(const Converted&) = delete;
  Converted& operator=(const Converted&) = delete;
  ~Converted() {
    for (std::size_t k = 0; k < used_; ++k) std::launder(reinterpret_cast<Array*>(slots_[k]))->~Array();
  }
  Array& make() { return *new (slots_[used_++]) Array(); }

 private:
  alignas(Array) unsigned char slots_[Binding::max_args][sizeof(Array)];
  std::size_t used_ = 0;
};

// A specialized kernel, called like the Python function it came from.
class Specialized {
 public:
  Specialized(Specializer::Result result)
      : callable_(result.callable()),
        backend_(std::move(result.backend)),
        dsir_(std::move(result.dsir)),
        psir_(std::move(result.psir)),
        cache_hit_(result.stats.cache_hit) {
    for (const auto& kernel : callable_->kernels()) {
      for (const auto& v : kernel->variants()) variants_.push_back(v.function.name);
    }
    const Binding& b = callable_->binding();
    for (std::size_t i = 0; i < b.arg_count(); ++i) names_.push_back(b.arg_name(i));
  }

  // The fast path: no allocation of ours, and no Python object created but the result.
  std::size_t call(nb::args values) {
    return call(reinterpret_cast<PyTupleObject*>(values.ptr())->ob_item, values.size());
  }

  // The same for `count` values, which the caller holds.
  std::size_t call(PyObject* const* items, std::size_t count) {
    const nb::handle* values = reinterpret_cast<const nb::handle*>(items);
    static_assert(sizeof(nb::handle) == sizeof(PyObject*));
    const Binding& binding = callable_->binding();
    if (count != binding.arg_count()) return (*callable_)(nullptr, count);  // the core's message names them all
    std::array<asp_arg, Binding::max_args> args;
    Converted<nb::ndarray<>> arrays;
    Converted<nb::ndarray<nb::ro>> readonly_arrays;  // for arguments no kernel writes
    std::array<Mirror*, Binding::max_args> mirrors;
    bool resident = false;
    for (std::size_t i = 0; i < count; ++i) {
      PyObject* value = values[i].ptr();
      mirrors[i] = nullptr;
      if (Py_TYPE(value) == resident_type) {
        Resident& r = *nb::inst_ptr<Resident>(values[i]);
        args[i] = tensor_of(r.array);
        mirrors[i] = &r.mirror;
        resident = true;
        continue;
      }
      if (binding.arg_kind(i) == ASP_ARG_SCALAR) {
        std::optional<asp_arg> a = scalar_of(value, binding.arg_name(i));
        if (!a) {
          const DLDataType t = binding.arg_type(i);
          const char* kind = t.code == kDLFloat ? "a float" : t.code == dl_bool ? "a bool" : "an int";
          throw nb::type_error(("argument '" + binding.arg_name(i) + "' must be " + kind + ", got " +
                                python_type_name(values[i])).c_str());
        }
        args[i] = *a;
        continue;
      }
      nb::ndarray<>& array = arrays.make();
      if (!nb::try_cast(values[i], array, false)) {
        nb::ndarray<nb::ro>& readonly = readonly_arrays.make();
        if (nb::try_cast(values[i], readonly, false)) {
          if (callable_->writes_arg(i)) {
            throw nb::value_error(("argument '" + binding.arg_name(i) + "' is a read-only array, and the kernel writes it").c_str());
          }
          args[i] = tensor_of(readonly);
          continue;
        }
        if (std::optional<asp_arg> a = scalar_of(value, binding.arg_name(i))) {
          args[i] = *a;  // the core's message says what was expected
          continue;
        }
        throw nb::type_error(("argument '" + binding.arg_name(i) + "' must be an array of " +
                              dtype_name(binding.arg_type(i)) + ", got " + python_type_name(values[i])).c_str());
      }
      args[i] = tensor_of(array);
    }
    nb::gil_scoped_release release;
    return (*callable_)(args.data(), count, resident ? mirrors.data() : nullptr);
  }

  const std::string& backend() const { return backend_; }
  const std::string& key() const { return callable_->kernel().key(); }
  const std::string& dsir() const { return dsir_; }
  const std::string& psir() const { return psir_; }
  const std::vector<std::string>& variants() const { return variants_; }
  const std::vector<std::string>& arguments() const { return names_; }
  bool cache_hit() const { return cache_hit_; }

 private:
  std::unique_ptr<Callable> callable_;
  std::string backend_, dsir_, psir_;
  bool cache_hit_;
  std::vector<std::string> variants_, names_;
};

}  // namespace asp::python
