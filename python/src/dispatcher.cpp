// The dispatcher of one kernel instance (DESIGN.md §12). A domain module
// (asp.stencil) creates one per kernel object and declares what a call's
// signature is made of: the arrays its arguments carry, named attributes of
// each argument (a grid's ghost depth and neighbour sets), named dicts of the
// kernel object whose numbers count (self.constants), and the numbers among
// the function's free names. The dispatcher owns the rest:
//
// - the dispatch cache: a signature key -> the Specialized (or the domain's
//   reason to run Python), built once per signature;
// - a fast path that recognises a signature seen before without building its
//   key: each cached signature keeps the values it was built from, and a call
//   compares its own values with them (numbers and strings by value, lists,
//   tuples and dicts element by element, arrays by dtype, shape and strides),
//   checks that no two arrays overlap, and calls the native code. No Python
//   code runs on that path, and nothing is allocated but what nanobind
//   allocates for the call itself;
// - what the last call ran.
//
// Anything else (a first call, wrong arguments, pure_python, ASP_DISABLE,
// overlapping arrays, a signature the fast path cannot compare) goes to the
// domain's Python callbacks: prepare (checks, and runs Python itself when it
// must), specialize (builds a Specialized or a reason), fall_back (runs
// Python with the reason).
//
// Threads: every member is read and written with the GIL held, and the
// comparison of a call with the cache runs no Python code (so no other thread
// can change the cache in between); the GIL is released only inside the
// native call, which holds its own references.
#include "dispatcher.hpp"

#include "specialized.hpp"

#include "asp/core/config.hpp"
#include "asp/core/runtime.hpp"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdlib>
#include <cstring>
#include <optional>

namespace asp::python {

namespace {

constexpr std::size_t max_arguments = 16;  // more take the Python path on every call
constexpr std::size_t max_properties = 8;
constexpr std::size_t max_owner_values = 8;
constexpr std::size_t max_free_names = 48;
constexpr std::size_t fast_signatures = 8;  // signatures the fast path recognises, most recent first

// How a watched value counts in the signature.
enum class Mode : std::uint8_t {
  value,    // all of it: numbers, strings, None, and lists, tuples and dicts of them
  number,   // only when it is a number (a free name of the function)
  numbers,  // the numbers among the values of a dict (self.constants)
};

bool is_numpy_scalar_object(PyObject* o) {
  const char* name = Py_TYPE(o)->tp_name;
  return std::strncmp(name, "numpy.", 6) == 0 && std::strcmp(name, "numpy.ndarray") != 0;
}

// Numbers compared without running Python code: int, bool, float (with its
// subclasses, NumPy's float64 among them: compared by their bits) and NumPy's scalars.
bool is_plain_number(PyObject* o) {
  return PyLong_CheckExact(o) || PyBool_Check(o) || PyFloat_Check(o) || is_numpy_scalar_object(o);
}

// A value as the call that built a signature saw it.
struct Frozen {
  enum class Kind : std::uint8_t {
    ignored,   // not a number, where only numbers count
    number,    // `value`, compared by type and value
    string,    // `value`
    none,
    sequence,  // `items`
    mapping,   // `items`: key, value, key, value, ...
    opaque,    // `value`: part of the key, never recognised by the fast path
  };
  Kind kind = Kind::ignored;
  nb::object value;  // a sequence: the tuple itself when nothing in it can change (compared by identity first)
  std::vector<Frozen> items;
};

// Whether nothing reachable from `f` can change in place.
bool immutable(const Frozen& f) {
  switch (f.kind) {
    case Frozen::Kind::number:
    case Frozen::Kind::string:
    case Frozen::Kind::none:
      return true;
    case Frozen::Kind::sequence:
      return f.value.is_valid();
    default:
      return false;
  }
}

// Freezes `o` (null: absent). Sets `*fast` to false when the fast path could not compare it.
Frozen freeze(PyObject* o, Mode mode, bool* fast) {
  Frozen f;
  if (o && is_plain_number(o)) {
    f.kind = Frozen::Kind::number;
    f.value = nb::borrow(o);
    return f;
  }
  if (o && PyLong_Check(o)) {  // an int subclass (an IntEnum): counts as a number, compared in Python
    f.kind = Frozen::Kind::opaque;
    f.value = nb::borrow(o);
    *fast = false;
    return f;
  }
  if (mode == Mode::number) return f;  // ignored
  if (mode == Mode::numbers) {
    if (!o || !PyDict_CheckExact(o)) {
      f.kind = Frozen::Kind::opaque;
      f.value = o ? nb::borrow(o) : nb::none();
      *fast = false;
      return f;
    }
    f.kind = Frozen::Kind::mapping;
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(o, &position, &key, &value)) {
      Frozen item = freeze(value, Mode::number, fast);
      if (item.kind == Frozen::Kind::ignored) continue;
      f.items.push_back(freeze(key, Mode::value, fast));
      f.items.push_back(std::move(item));
    }
    return f;
  }
  if (!o) {
    f.kind = Frozen::Kind::opaque;
    f.value = nb::none();
    *fast = false;
  } else if (o == Py_None) {
    f.kind = Frozen::Kind::none;
  } else if (PyUnicode_CheckExact(o)) {
    f.kind = Frozen::Kind::string;
    f.value = nb::borrow(o);
  } else if (PyList_CheckExact(o) || PyTuple_CheckExact(o)) {
    f.kind = Frozen::Kind::sequence;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
    PyObject** items = PySequence_Fast_ITEMS(o);
    bool constant = PyTuple_CheckExact(o);
    for (Py_ssize_t i = 0; i < n; ++i) {
      f.items.push_back(freeze(items[i], Mode::value, fast));
      constant = constant && immutable(f.items.back());
    }
    if (constant) f.value = nb::borrow(o);
  } else if (PyDict_CheckExact(o)) {
    f.kind = Frozen::Kind::mapping;
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(o, &position, &key, &value)) {
      f.items.push_back(freeze(key, Mode::value, fast));
      f.items.push_back(freeze(value, Mode::value, fast));
    }
  } else {
    f.kind = Frozen::Kind::opaque;
    f.value = nb::borrow(o);
    *fast = false;
  }
  return f;
}

bool same_number(PyObject* o, PyObject* frozen) {
  if (o == frozen) return true;
  if (Py_TYPE(o) != Py_TYPE(frozen)) return false;
  if (PyFloat_Check(o)) {  // by its bits: -0.0 is not 0.0, and a NaN is itself
    const double a = PyFloat_AS_DOUBLE(o), b = PyFloat_AS_DOUBLE(frozen);
    return std::memcmp(&a, &b, sizeof a) == 0;
  }
  const int equal = PyObject_RichCompareBool(o, frozen, Py_EQ);
  if (equal < 0) PyErr_Clear();
  return equal == 1;
}

// Whether `o` (null: absent) is what `f` froze. Runs no Python code.
bool matches(PyObject* o, const Frozen& f, Mode mode) {
  switch (f.kind) {
    case Frozen::Kind::ignored:
      return !o || !(is_plain_number(o) || PyLong_Check(o));
    case Frozen::Kind::number:  // same_number() checks the type, so `o` is a plain number too
      return o && same_number(o, f.value.ptr());
    case Frozen::Kind::string:
      return o && PyUnicode_CheckExact(o) && (o == f.value.ptr() || PyUnicode_Compare(o, f.value.ptr()) == 0);
    case Frozen::Kind::none:
      return o == Py_None;
    case Frozen::Kind::sequence: {
      if (o && o == f.value.ptr()) return true;  // the same tuple, which cannot have changed
      if (!o || !(PyList_CheckExact(o) || PyTuple_CheckExact(o))) return false;
      const Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
      if (static_cast<std::size_t>(n) != f.items.size()) return false;
      PyObject** items = PySequence_Fast_ITEMS(o);
      for (Py_ssize_t i = 0; i < n; ++i) {
        if (!matches(items[i], f.items[static_cast<std::size_t>(i)], Mode::value)) return false;
      }
      return true;
    }
    case Frozen::Kind::mapping: {
      if (!o || !PyDict_CheckExact(o)) return false;
      if (mode == Mode::value && static_cast<std::size_t>(PyDict_GET_SIZE(o)) * 2 != f.items.size()) return false;
      Py_ssize_t position = 0;
      PyObject *key, *value;
      std::size_t next = 0;
      while (PyDict_Next(o, &position, &key, &value)) {
        if (mode == Mode::numbers && !(is_plain_number(value) || PyLong_Check(value))) continue;
        if (next + 2 > f.items.size()) return false;
        if (!matches(key, f.items[next], Mode::value) || !matches(value, f.items[next + 1], Mode::value)) return false;
        next += 2;
      }
      return next == f.items.size();
    }
    case Frozen::Kind::opaque:
      return false;
  }
  return false;
}

// The part of the dispatch cache's key that `f` stands for.
nb::object key_of(const Frozen& f) {
  switch (f.kind) {
    case Frozen::Kind::ignored:
    case Frozen::Kind::none:
      return nb::none();
    case Frozen::Kind::number: {
      PyObject* o = f.value.ptr();
      nb::object type = nb::borrow(reinterpret_cast<PyObject*>(Py_TYPE(o)));
      if (PyFloat_Check(o)) {
        const double d = PyFloat_AS_DOUBLE(o);
        unsigned long long bits;
        std::memcpy(&bits, &d, sizeof bits);
        return nb::make_tuple(type, nb::steal(PyLong_FromUnsignedLongLong(bits)));
      }
      return nb::make_tuple(type, f.value);
    }
    case Frozen::Kind::string:
    case Frozen::Kind::opaque:
      return f.value;
    case Frozen::Kind::sequence:
    case Frozen::Kind::mapping: {
      nb::list items;
      for (const Frozen& item : f.items) items.append(key_of(item));
      return nb::tuple(items);
    }
  }
  return nb::none();
}

// What the signature takes from an array: dtype, shape and strides; and its
// memory, to tell overlapping arrays apart (not part of the signature).
struct ArrayMeta {
  bool known = false;  // false: not an array nanobind takes, the fast path does not compare it
  DLDataType dtype{};
  int ndim = 0;
  std::array<std::int64_t, Binding::max_rank> shape, strides;  // the first ndim hold values
  std::uintptr_t begin = 0, end = 0;  // the bytes its elements span

  template <class Array>
  void read(const Array& a) {
    known = a.ndim() <= static_cast<std::size_t>(Binding::max_rank);
    if (!known) return;
    const nb::dlpack::dtype t = a.dtype();
    dtype = {t.code, t.bits, t.lanes};
    ndim = static_cast<int>(a.ndim());
    const auto data = reinterpret_cast<std::uintptr_t>(a.data());
    const std::int64_t item = (t.bits * t.lanes + 7) / 8;
    std::int64_t low = 0, high = item;
    bool empty = false;
    for (int d = 0; d < ndim; ++d) {
      shape[d] = a.shape(static_cast<std::size_t>(d));
      strides[d] = a.stride(static_cast<std::size_t>(d));
      empty = empty || shape[d] == 0;
      const std::int64_t span = (shape[d] - 1) * strides[d] * item;
      (span < 0 ? low : high) += span;
    }
    begin = empty ? 0 : data + low;
    end = empty ? 0 : data + high;
  }

  bool same_signature(const ArrayMeta& o) const {
    if (!known || !o.known || ndim != o.ndim || dtype.code != o.dtype.code || dtype.bits != o.dtype.bits ||
        dtype.lanes != o.dtype.lanes) {
      return false;
    }
    for (int d = 0; d < ndim; ++d) {
      if (shape[d] != o.shape[d] || strides[d] != o.strides[d]) return false;
    }
    return true;
  }

  bool overlaps(const ArrayMeta& o) const { return begin < o.end && o.begin < end; }

  nb::object key() const {
    nb::list s, t;
    for (int d = 0; d < ndim; ++d) {
      s.append(shape[d]);
      t.append(strides[d]);
    }
    return nb::make_tuple(dtype.code, dtype.bits, dtype.lanes, nb::tuple(s), nb::tuple(t));
  }
};

// ASP_DISABLE as asp.disabled() reads it: the variable at each call, else the configuration files.
// nullopt when the variable holds something that is not a boolean (Python warns about it).
std::optional<bool> disabled() {
  static const SchemaEntry* entry = [] {
    for (const SchemaEntry& e : config_schema()) {
      if (e.key == "disable") return &e;
    }
    return static_cast<const SchemaEntry*>(nullptr);
  }();
  if (entry && !entry->env.empty()) {
    if (const char* text = std::getenv(entry->env.c_str()); text && *text) return parse_boolean(text);
  }
  static const bool from_files = Runtime::global().file_config().get_bool("disable", false);
  return from_files;
}

class Dispatcher {
 public:
  Dispatcher(nb::object owner, std::size_t parameters, nb::handle argument_type, nb::str resident, nb::str native,
             std::vector<nb::str> properties, nb::str python_flag, std::vector<nb::str> owner_numbers,
             nb::object function, nb::object prepare, nb::object specialize, nb::object fall_back)
      : owner_(std::move(owner)),
        parameters_(parameters),
        argument_type_(nb::borrow(argument_type)),
        resident_(std::move(resident)),
        native_(std::move(native)),
        properties_(std::move(properties)),
        python_flag_(std::move(python_flag)),
        owner_numbers_(std::move(owner_numbers)),
        prepare_(std::move(prepare)),
        specialize_(std::move(specialize)),
        fall_back_(std::move(fall_back)) {
    if (!PyType_Check(argument_type.ptr())) throw nb::type_error("argument_type must be a class");
    if (properties_.size() > max_properties || owner_numbers_.size() > max_owner_values) {
      throw nb::value_error("too many signature properties");
    }
    // The numbers among the function's globals and closure are part of the signature.
    nb::object f = nb::getattr(function, "__func__", function);
    nb::object code = f.attr("__code__");
    globals_ = f.attr("__globals__");
    for (nb::handle name : nb::tuple(code.attr("co_names"))) global_names_.push_back(nb::borrow(name));
    nb::object closure = f.attr("__closure__");
    if (!closure.is_none()) {
      for (nb::handle cell : nb::tuple(closure)) cells_.push_back(nb::borrow(cell));
    }
    if (!PyDict_Check(globals_.ptr())) throw nb::type_error("the function's __globals__ is not a dict");
  }

  nb::object call(nb::args args) {
    const std::size_t count = args.size();
    PyObject* const* items = reinterpret_cast<PyTupleObject*>(args.ptr())->ob_item;
    if (count == parameters_ && count <= max_arguments) {
      const std::optional<bool> off = disabled();
      if (off && !*off && !flag_set()) {
        Call c;
        if (gather(items, count, c) && c.fast && !overlap(c)) {
          for (std::size_t k = 0; k < fast_.size(); ++k) {
            if (!matches_call(fast_[k].frozen, c)) continue;
            if (k != 0) std::swap(fast_[0], fast_[k]);  // most recent first
            nb::object value = fast_[0].value;
            return run(value, args, c);
          }
        }
      }
    }
    return slow(args);
  }

  void ran_python(nb::object reason) {
    last_ = nb::none();
    last_reason_ = std::move(reason);
  }

  // (backend, variant, reason) of the last call, or None before the first.
  nb::object last() const {
    if (last_.is_valid() && !last_.is_none()) {
      const Specialized& s = nb::cast<const Specialized&>(last_);
      return nb::make_tuple(s.backend(), s.variants().at(last_variant_), nb::none());
    }
    if (last_reason_.is_valid()) return nb::make_tuple(nb::none(), nb::none(), last_reason_);
    return nb::none();
  }

  nb::dict specializations() const { return specializations_; }

  // The garbage collector's view: the owner holds its dispatcher, which holds the owner.
  static int traverse(PyObject* self, visitproc visit, void* arg) {
    Py_VISIT(Py_TYPE(self));
    if (!nb::inst_ready(self)) return 0;  // the constructor has not finished
    const Dispatcher* d = nb::inst_ptr<Dispatcher>(self);
    for (const nb::object* o : {&d->owner_, &d->prepare_, &d->specialize_, &d->fall_back_, &d->globals_, &d->last_,
                                &d->last_reason_}) {
      Py_VISIT(o->ptr());
    }
    Py_VISIT(d->specializations_.ptr());
    for (const Fast& f : d->fast_) Py_VISIT(f.value.ptr());
    return 0;
  }

  static int clear(PyObject* self) {
    Dispatcher* d = nb::inst_ptr<Dispatcher>(self);
    d->owner_ = nb::object();
    d->prepare_ = d->specialize_ = d->fall_back_ = nb::object();
    d->specializations_.clear();
    d->fast_.clear();
    d->last_ = nb::object();
    return 0;
  }

 private:
  // References held for one call; only the first `used` are set.
  template <std::size_t N>
  class Refs {
   public:
    Refs() = default;
    Refs(const Refs&) = delete;
    Refs& operator=(const Refs&) = delete;
    ~Refs() {
      for (std::size_t k = 0; k < used; ++k) Py_XDECREF(items[k]);
    }
    void add(PyObject* owned) { items[used++] = owned; }
    PyObject* items[N];
    std::size_t used = 0;
  };

  // One call's values, as the signature reads them (the free names are read where they are compared).
  struct Call {
    bool fast = true;  // every value is one the fast path compares
    Refs<max_arguments> natives;  // what the Specialized takes for each argument
    std::array<ArrayMeta, max_arguments> arrays;
    Refs<max_arguments * max_properties> properties;  // argument-major
    Refs<max_owner_values> owner;
  };

  // A signature the fast path recognises, with the values it was built from.
  struct FastEntry {
    std::vector<ArrayMeta> arrays;
    std::vector<Frozen> properties;  // argument-major
    std::vector<Frozen> owner;
    std::vector<Frozen> free;
  };
  struct Fast {
    FastEntry frozen;
    nb::object value;
  };

  bool flag_set() const {
    PyObject* flag = PyObject_GetAttr(owner_.ptr(), python_flag_.ptr());
    if (!flag) {
      PyErr_Clear();
      return true;  // let Python report it
    }
    const int on = PyObject_IsTrue(flag);
    Py_DECREF(flag);
    if (on < 0) PyErr_Clear();
    return on != 0;
  }

  static PyObject* attribute(PyObject* o, PyObject* name) {
    PyObject* value = PyObject_GetAttr(o, name);
    if (!value) throw nb::python_error();
    return value;
  }

  // Reads what the signature is made of. Returns false when the arguments are
  // not what the domain declared (Python then reports it); raises what an attribute raises.
  bool gather(PyObject* const* items, std::size_t count, Call& c) {
    if (count > max_arguments || global_names_.size() + cells_.size() > max_free_names) return false;
    for (std::size_t i = 0; i < count; ++i) {
      PyObject* arg = items[i];
      if (!PyObject_TypeCheck(arg, reinterpret_cast<PyTypeObject*>(argument_type_.ptr()))) return false;
      PyObject* native = attribute(arg, resident_.ptr());
      if (native == Py_None) {
        Py_DECREF(native);
        native = PyObject_CallMethodNoArgs(arg, native_.ptr());
        if (!native) throw nb::python_error();
      }
      c.natives.add(native);
      if (Py_TYPE(native) == resident_type) {
        c.arrays[i].read(nb::inst_ptr<Resident>(native)->array);
      } else {
        nb::ndarray<nb::ro> array;
        if (nb::try_cast(nb::handle(native), array, false)) c.arrays[i].read(array);
        else c.arrays[i].known = false;
      }
      c.fast = c.fast && c.arrays[i].known;
      for (std::size_t p = 0; p < properties_.size(); ++p) c.properties.add(attribute(arg, properties_[p].ptr()));
    }
    for (std::size_t p = 0; p < owner_numbers_.size(); ++p) c.owner.add(attribute(owner_.ptr(), owner_numbers_[p].ptr()));
    return true;
  }

  // The value of free name k (globals, then closure cells), borrowed; null where unbound.
  PyObject* free_value(std::size_t k) const {
    if (k < global_names_.size()) {
      PyObject* value = PyDict_GetItemWithError(globals_.ptr(), global_names_[k].ptr());
      if (!value) PyErr_Clear();  // str keys: a lookup cannot fail
      return value;
    }
    return PyCell_GET(cells_[k - global_names_.size()].ptr());
  }

  bool overlap(const Call& c) const {
    for (std::size_t i = 0; i < parameters_; ++i) {
      for (std::size_t j = i + 1; j < parameters_; ++j) {
        if (c.arrays[i].overlaps(c.arrays[j])) return true;
      }
    }
    return false;
  }

  bool matches_call(const FastEntry& e, const Call& c) const {
    for (std::size_t i = 0; i < parameters_; ++i) {
      if (!c.arrays[i].same_signature(e.arrays[i])) return false;
    }
    for (std::size_t p = 0; p < c.properties.used; ++p) {
      if (!matches(c.properties.items[p], e.properties[p], Mode::value)) return false;
    }
    for (std::size_t p = 0; p < c.owner.used; ++p) {
      if (!matches(c.owner.items[p], e.owner[p], Mode::numbers)) return false;
    }
    for (std::size_t k = 0; k < e.free.size(); ++k) {
      if (!matches(free_value(k), e.free[k], Mode::number)) return false;
    }
    return true;
  }

  FastEntry freeze_call(const Call& c, bool* fast) const {
    FastEntry e;
    for (std::size_t i = 0; i < parameters_; ++i) e.arrays.push_back(c.arrays[i]);
    for (std::size_t p = 0; p < c.properties.used; ++p) e.properties.push_back(freeze(c.properties.items[p], Mode::value, fast));
    for (std::size_t p = 0; p < c.owner.used; ++p) e.owner.push_back(freeze(c.owner.items[p], Mode::numbers, fast));
    for (std::size_t k = 0; k < global_names_.size() + cells_.size(); ++k) e.free.push_back(freeze(free_value(k), Mode::number, fast));
    return e;
  }

  nb::object key_of_call(const FastEntry& e, const Call& c) const {
    nb::list key;
    const std::size_t props = properties_.size();
    for (std::size_t i = 0; i < parameters_; ++i) {
      if (e.arrays[i].known) {
        key.append(e.arrays[i].key());
      } else {
        // Not an array nanobind takes: its own description, for the domain to turn down.
        nb::handle native = c.natives.items[i];
        key.append(nb::make_tuple(nb::borrow(reinterpret_cast<PyObject*>(Py_TYPE(native.ptr()))),
                                  nb::getattr(native, "dtype", nb::none()), nb::getattr(native, "shape", nb::none()),
                                  nb::getattr(native, "strides", nb::none())));
      }
      for (std::size_t p = 0; p < props; ++p) key.append(key_of(e.properties[i * props + p]));
    }
    for (const Frozen& f : e.owner) key.append(key_of(f));
    for (const Frozen& f : e.free) key.append(key_of(f));
    return nb::tuple(key);
  }

  nb::object slow(nb::args args) {
    if (!owner_.is_valid()) throw nb::type_error("the kernel of this dispatcher is gone");
    if (nb::cast<bool>(prepare_(owner_, args))) return nb::none();  // Python ran, or raised
    const std::size_t count = args.size();
    Call c;
    if (count != parameters_ || !gather(reinterpret_cast<PyTupleObject*>(args.ptr())->ob_item, count, c)) {
      throw nb::type_error("the arguments are not those the kernel's dispatcher was declared with");
    }
    bool fast = c.fast;
    FastEntry frozen = freeze_call(c, &fast);
    nb::object key = key_of_call(frozen, c);
    PyObject* found = PyDict_GetItemWithError(specializations_.ptr(), key.ptr());
    if (!found && PyErr_Occurred()) throw nb::python_error();
    nb::object value = found ? nb::borrow(found) : nb::object();
    if (!value.is_valid()) {
      value = specialize_(owner_, args);  // may release the GIL: another thread may have built it meanwhile
      found = PyDict_GetItemWithError(specializations_.ptr(), key.ptr());
      if (!found && PyErr_Occurred()) throw nb::python_error();
      if (found) value = nb::borrow(found);
      else specializations_[key] = value;
    }
    if (fast && !overlap(c)) {
      if (fast_.size() == fast_signatures) fast_.pop_back();
      fast_.insert(fast_.begin(), Fast{std::move(frozen), value});
    }
    return run(value, args, c);
  }

  nb::object run(const nb::object& value, nb::args args, Call& c) {
    if (nb::isinstance<Specialized>(value)) {
      Specialized& s = nb::cast<Specialized&>(value);
      const std::size_t variant = s.call(c.natives.items, parameters_);
      last_ = value;
      last_variant_ = variant;
      return nb::none();
    }
    fall_back_(owner_, args, value);
    return nb::none();
  }

  nb::object owner_;
  std::size_t parameters_;
  nb::object argument_type_;
  nb::str resident_, native_;
  std::vector<nb::str> properties_;
  nb::str python_flag_;
  std::vector<nb::str> owner_numbers_;
  nb::object prepare_, specialize_, fall_back_;
  nb::object globals_;
  std::vector<nb::object> global_names_, cells_;
  nb::dict specializations_;
  std::vector<Fast> fast_;
  nb::object last_;
  std::size_t last_variant_ = 0;
  nb::object last_reason_;
};

PyType_Slot dispatcher_slots[] = {
    {Py_tp_traverse, reinterpret_cast<void*>(&Dispatcher::traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(&Dispatcher::clear)},
    {0, nullptr},
};

}  // namespace

void define_dispatcher(nb::module_& m) {
  nb::class_<Dispatcher>(m, "Dispatcher", nb::type_slots(dispatcher_slots),
                         "The dispatcher of one kernel object: the signature check, the dispatch cache, the variant "
                         "choice and the call (DESIGN.md §12). A domain module declares what a call's signature is "
                         "made of; see python/src/dispatcher.cpp.")
      .def(nb::init<nb::object, std::size_t, nb::handle, nb::str, nb::str, std::vector<nb::str>, nb::str,
                    std::vector<nb::str>, nb::object, nb::object, nb::object, nb::object>(),
           nb::arg("owner"), nb::arg("parameters"), nb::arg("argument_type"), nb::arg("resident"), nb::arg("native"),
           nb::arg("properties"), nb::arg("python_flag"), nb::arg("owner_numbers"), nb::arg("function"),
           nb::arg("prepare"), nb::arg("specialize"), nb::arg("fall_back"),
           "owner: the kernel object; parameters: how many arguments a call takes; argument_type: their class; "
           "resident: the attribute of an argument that holds what native code takes (None until made); native: "
           "the method of an argument that makes it; properties: attributes of each argument that are part of "
           "the signature; python_flag: the attribute of the owner that, true, runs Python; owner_numbers: "
           "attributes of the owner, dicts whose numbers are part of the signature; function: the kernel's "
           "function (the numbers among its free names are part of the signature); prepare(owner, args) -> "
           "bool: checks the arguments and returns True when it ran the call itself; specialize(owner, args): "
           "a Specialized, or anything else to hand to fall_back(owner, args, value), which runs Python.")
      .def("__call__", &Dispatcher::call, "Runs the kernel for these arguments.")
      .def("ran_python", &Dispatcher::ran_python, nb::arg("reason"), "Records that the last call ran Python, and why.")
      .def_prop_ro("last", &Dispatcher::last, "(backend, variant, fallback reason) of the last call, or None.")
      .def_prop_ro("specializations", &Dispatcher::specializations,
                   "The dispatch cache: signature key -> Specialized, or the domain's reason to run Python.");
}

}  // namespace asp::python
