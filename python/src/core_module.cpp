// asp._core: the one generic binding between Python and the Asp core. It
// knows no domain: it hands a domain's name, the Tree of a function and the
// descriptions of its arguments to the core's specializer, and calls the
// kernel that comes back with arrays (any DLPack or buffer-protocol producer,
// never copied) and Python scalars, the GIL released while native code runs.
#include "dispatcher.hpp"
#include "specialized.hpp"

#include "asp/core/binding.hpp"
#include "asp/core/config.hpp"
#include "asp/core/device.hpp"
#include "asp/core/errors.hpp"
#include "asp/core/jit.hpp"
#include "asp/core/mpi.hpp"
#include "asp/core/platform.hpp"
#include "asp/core/runtime.hpp"
#include "asp/core/specializer.hpp"
#include "asp/core/tuning.hpp"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

namespace nb = nanobind;
using namespace asp::core;
using namespace asp::python;

namespace {

// The exception classes live in asp/_errors.py, so that Python code can raise,
// catch and subclass them like any other; the module looks them up once.
struct ErrorTypes {
  PyObject* unsupported = nullptr;
  PyObject* compile = nullptr;
  PyObject* config = nullptr;
};
ErrorTypes error_types;

void raise_with(PyObject* type, nb::object instance) { PyErr_SetObject(type, instance.ptr()); }

void translate(const std::exception_ptr& exception, void*) {
  try {
    std::rethrow_exception(exception);
  } catch (const Unsupported& e) {
    raise_with(error_types.unsupported,
               nb::borrow(error_types.unsupported)(e.what(), e.where().line, e.where().column));
  } catch (const CompileError& e) {
    raise_with(error_types.compile,
               nb::borrow(error_types.compile)(e.what(), e.log(), e.source_path().string()));
  } catch (const InvalidArgument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const ArgumentTypeError& e) {
    PyErr_SetString(PyExc_TypeError, e.what());
  } catch (const KernelFault& e) {
    PyObject* type = e.kind() == KernelFault::Kind::out_of_bounds    ? PyExc_IndexError
                     : e.kind() == KernelFault::Kind::zero_division   ? PyExc_ZeroDivisionError
                     : e.kind() == KernelFault::Kind::value_error     ? PyExc_ValueError
                     : e.kind() == KernelFault::Kind::overflow_error  ? PyExc_OverflowError
                                                                      : PyExc_RuntimeError;
    PyErr_SetString(type, e.what());
  }
}

// What specialize() keeps alive while the core reads the argument descriptions.
struct Descriptions {
  std::vector<std::string> names;
  std::vector<nb::ndarray<nb::ro>> arrays;
  std::vector<asp_arg> args;
};

Descriptions describe(const std::vector<std::pair<std::string, nb::object>>& args) {
  Descriptions d;
  d.names.reserve(args.size());
  d.arrays.reserve(args.size());
  for (const auto& [name, value] : args) {
    d.names.push_back(name);
    std::optional<asp_arg> a = scalar_of(value.ptr(), name);
    if (!a) {
      nb::ndarray<nb::ro> array;
      if (!nb::try_cast(value, array, false)) {
        throw nb::type_error(("argument '" + name + "' is neither an array nor an int, float or bool: " +
                              python_type_name(value)).c_str());
      }
      d.arrays.push_back(array);
      a = tensor_of(d.arrays.back());
      // Compact row-major arrays are described without strides, as the ABI's canonical form.
      std::int64_t expected = 1;
      bool compact = true;
      for (int k = a->tensor.ndim - 1; k >= 0; --k) {
        if (a->tensor.shape[k] != 1 && a->tensor.strides[k] != expected) compact = false;
        expected *= a->tensor.shape[k];
      }
      if (compact || expected == 0) a->tensor.strides = nullptr;
    }
    d.args.push_back(*a);
  }
  for (std::size_t i = 0; i < d.args.size(); ++i) d.args[i].name = d.names[i].c_str();
  return d;
}

Specialized* specialize(const std::string& domain, const std::string& tree,
                        const std::vector<std::pair<std::string, nb::object>>& args) {
  const Descriptions d = describe(args);
  std::optional<Specializer::Result> result;
  {
    nb::gil_scoped_release release;
    result.emplace(Runtime::global().specializer().specialize(domain, tree, d.args));
  }
  return new Specialized(std::move(*result));
}

// Whether `key` is a setting of the schema ("backends.openmp.priority" matches "backends.*.priority").
bool known_setting(const std::string& key) {
  auto split = [](const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
    return parts;
  };
  const auto parts = split(key);
  for (const SchemaEntry& entry : config_schema()) {
    const auto pattern = split(entry.key);
    if (pattern.size() != parts.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < parts.size(); ++i) match = match && (pattern[i] == "*" || pattern[i] == parts[i]);
    if (match) return true;
  }
  return false;
}

nb::object setting(const std::string& key, bool environment) {
  const Runtime& runtime = Runtime::global();
  const Config& config = environment ? runtime.config() : runtime.file_config();
  const Setting* s = config.find(key);
  if (!s && !known_setting(key)) {
    PyErr_SetObject(error_types.config, nb::str(("no setting named '" + key + "'; `asp config` lists them").c_str()).ptr());
    throw nb::python_error();
  }
  if (!s) return nb::none();
  return std::visit([](const auto& v) -> nb::object { return nb::cast(v); }, s->value);
}

// A boolean setting with its environment variable read now, so that a running
// program can switch it (ASP_DISABLE in a debugger session); without the
// variable, the configuration files decide.
bool flag(const std::string& key) {
  const SchemaEntry* entry = nullptr;
  for (const SchemaEntry& e : config_schema()) {
    if (e.key == key && e.type == SchemaEntry::Type::boolean) entry = &e;
  }
  if (!entry) {
    PyErr_SetObject(error_types.config, nb::str(("no boolean setting named '" + key + "'").c_str()).ptr());
    throw nb::python_error();
  }
  if (!entry->env.empty()) {
    const char* text = std::getenv(entry->env.c_str());
    if (text && *text) {
      if (const std::optional<bool> value = parse_boolean(text)) return *value;
      const std::string message = entry->env + "='" + text + "' is not a boolean (true/false, yes/no, on/off, 1/0); it is ignored";
      if (PyErr_WarnEx(PyExc_RuntimeWarning, message.c_str(), 2) != 0) throw nb::python_error();
    }
  }
  return Runtime::global().file_config().get_bool(key, false);
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "The generic binding between Python and the Asp core (no domain knowledge).";
  nb::module_ errors = nb::module_::import_("asp._errors");
  // Held for the life of the process, like the module itself.
  error_types.unsupported = errors.attr("UnsupportedError").inc_ref().ptr();
  error_types.compile = errors.attr("CompileError").inc_ref().ptr();
  error_types.config = errors.attr("ConfigError").inc_ref().ptr();
  m.attr("UnsupportedError") = errors.attr("UnsupportedError");
  m.attr("CompileError") = errors.attr("CompileError");
  m.attr("ConfigError") = errors.attr("ConfigError");
  m.attr("version") = ASP_CORE_VERSION;
  // How many calls a new kernel spends trying each variant before it settles (benchmarks warm up that long).
  m.attr("tuner_runs_per_variant") = Tuner::runs_to_settle;
  nb::register_exception_translator(&translate);

  nb::class_<Specialized>(m, "Specialized",
                          "A kernel compiled for one argument signature. Call it with the values of its arguments, in "
                          "the order given to specialize(); it returns the index of the variant that ran.")
      .def("__call__", nb::overload_cast<nb::args>(&Specialized::call), "Runs the kernel (the GIL is released while it runs).")
      .def_prop_ro("backend", &Specialized::backend, "The backend that compiled the kernel.")
      .def_prop_ro("key", &Specialized::key, "The kernel's code-cache key.")
      .def_prop_ro("dsir", &Specialized::dsir, "The domain IR the lowering read.")
      .def_prop_ro("psir", &Specialized::psir, "The Kernel IR the backend compiled.")
      .def_prop_ro("variants", &Specialized::variants, "The names of the kernel's variants, by index.")
      .def_prop_ro("arguments", &Specialized::arguments, "The names of the arguments, in call order.")
      .def_prop_ro("cache_hit", &Specialized::cache_hit,
                   "Whether the binary came from the on-disk code cache rather than the compiler.")
      .def("__repr__", [](const Specialized& s) {
        return "<asp._core.Specialized with " + std::to_string(s.variants().size()) +
               " variant(s) on " + s.backend() + ">";
      });

  nb::class_<Resident>(m, "Resident",
                       "A writable array and its copy in a device backend's memory. Pass it to a Specialized in place "
                       "of the array: device kernels then keep the array on the device between calls. Call host() "
                       "before reading or writing the array in Python.")
      .def(nb::init<nb::ndarray<>>(), nb::arg("array"))
      .def_prop_ro("array", [](Resident& r) { return r.array; }, nb::rv_policy::reference_internal,
                   "The host array as it is (it may be older than the device copy: see host()).")
      .def(
          "host",
          [](Resident& r) {
            {
              nb::gil_scoped_release release;
              r.mirror.release_to_host();
            }
            return r.array;
          },
          nb::rv_policy::reference_internal,
          "Copies the device's results into the host array when they are newer, and returns the array; the next "
          "device kernel copies it in again, as Python may change it.")
      .def("sync", [](Resident& r) { r.mirror.sync(); }, nb::call_guard<nb::gil_scoped_release>(),
           "Copies the device's results into the host array when they are newer.")
      .def_prop_ro("device_newer", [](const Resident& r) { return r.mirror.device_newer(); },
                   "Whether the device copy holds results the host array does not have yet.");
  resident_type = reinterpret_cast<PyTypeObject*>(m.attr("Resident").ptr());

  m.def("specialize", &specialize, nb::arg("domain"), nb::arg("tree"), nb::arg("args"),
        "Specializes a Tree (asp-ir tree text) for the named arguments: arrays (described by dtype, shape and "
        "strides; their data is not read) and int, float or bool scalars. Raises UnsupportedError, CompileError, "
        "ValueError for arguments a component rejects, RuntimeError otherwise.");
  m.def("setting", &setting, nb::arg("name"), nb::arg("environment") = true,
        "The value of a configuration setting the core runs with (environment variables as they were when it "
        "started), or only the configuration files' value with environment=False; None when unset. Raises "
        "ConfigError for a name that is no setting.");
  m.def("flag", &flag, nb::arg("name"),
        "A boolean setting (disable, strict) with its environment variable read at this call, so a running "
        "program can switch it; without the variable, the configuration files' value.");
  m.def(
      "platform",
      [] {
        const asp::core::Platform& p = asp::core::platform();
        nb::list caches;
        for (const asp::core::CacheLevel& c : p.caches) {
          nb::dict level;
          level["name"] = c.name();
          level["depth"] = c.depth;
          level["kind"] = c.kind;
          level["size"] = c.size;
          level["line_size"] = c.line_size;
          level["instances"] = c.instances;
          caches.append(level);
        }
        nb::dict d;
        d["cpu_model"] = p.cpu_model;
        d["packages"] = p.packages;
        d["cores"] = p.cores;
        d["pus"] = p.pus;
        d["numa_nodes"] = p.numa_nodes;
        d["memory"] = p.memory;
        d["caches"] = caches;
        d["error"] = p.error;
        return d;
      },
      "The CPU topology as hwloc sees it (what `asp info` shows): cpu_model, packages, cores, pus (hardware "
      "threads), numa_nodes, memory (bytes), caches (name, depth, kind, size and line_size in bytes, instances), "
      "error (why hwloc failed, else empty). Domain modules size their blocks by it.");
  m.def(
      "mpi_info",
      [] {
        const asp::core::MpiInfo i = asp::core::mpi_info();
        nb::dict d;
        d["built"] = i.built;
        d["library"] = i.library;
        d["standard"] = nb::make_tuple(i.standard_major, i.standard_minor);
        d["initialized"] = i.initialized;
        d["rank"] = i.rank;
        d["ranks"] = i.ranks;
        d["reason"] = i.reason;
        return d;
      },
      "The MPI layer (what `asp info` shows under MPI): built (the core has an MPI library), library (its "
      "version line), standard ((major, minor)), initialized (MPI_Init has run), rank and ranks (of "
      "MPI_COMM_WORLD, or from the launcher's environment before MPI_Init; -1 and 0 when unknown), reason (why a "
      "communicating call cannot run now; empty when it can).");
  m.def(
      "halo_exchange",
      [](std::int64_t comm, nb::ndarray<nb::c_contig, nb::device::cpu> block, std::int64_t ghost) {
        const nb::dlpack::dtype t = block.dtype();
        std::optional<asp::psir::Type> type;
        if (t == nb::dtype<double>()) type = asp::psir::Type::f64;
        else if (t == nb::dtype<float>()) type = asp::psir::Type::f32;
        else if (t == nb::dtype<std::int64_t>()) type = asp::psir::Type::i64;
        else if (t == nb::dtype<std::int32_t>()) type = asp::psir::Type::i32;
        else if (t == nb::dtype<std::uint64_t>()) type = asp::psir::Type::u64;
        else if (t == nb::dtype<std::uint32_t>()) type = asp::psir::Type::u32;
        else if (t == nb::dtype<std::int16_t>()) type = asp::psir::Type::i16;
        else if (t == nb::dtype<std::uint16_t>()) type = asp::psir::Type::u16;
        else if (t == nb::dtype<std::int8_t>()) type = asp::psir::Type::i8;
        else if (t == nb::dtype<std::uint8_t>()) type = asp::psir::Type::u8;
        else if (t == nb::dtype<bool>()) type = asp::psir::Type::boolean;
        if (!type) throw nb::type_error("halo_exchange: the block's dtype has no MPI datatype here");
        std::vector<std::int64_t> shape;
        for (std::size_t k = 0; k < block.ndim(); ++k) shape.push_back(static_cast<std::int64_t>(block.shape(k)));
        void* data = block.data();
        nb::gil_scoped_release released;  // other Python threads run while this rank waits for its neighbours
        asp::core::halo_exchange(comm, data, *type, shape, ghost);
      },
      nb::arg("comm"), nb::arg("block"), nb::arg("ghost"),
      "Fills the halo of this rank's block of a distributed grid from its neighbours (the core's "
      "asp::core::halo_exchange, also the comm operation halo_exchange): comm is the Fortran handle of a "
      "non-periodic Cartesian communicator with one dimension per axis of block (a C-contiguous array: the "
      "owned points plus ghost layers of halo on each side that has a neighbour). Every rank of comm calls it. "
      "Raises RuntimeError when MPI cannot run or the block is too small for the ghost depth.");
  define_dispatcher(m);
  m.def("_nop", [](nb::args) {}, "Does nothing: the cost of a call into this module, for bench/dispatch_bench.py.");
}
