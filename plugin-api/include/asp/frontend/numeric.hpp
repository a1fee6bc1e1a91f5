// asp/frontend/numeric.hpp — the numeric types a Python kernel computes in and
// how an arithmetic operation promotes them: Python's own numbers and NumPy's
// scalars and arrays under NumPy 2's rules (NEP 50).
//
// NEP 50 in short: a Python int, float or bool operand is "weak": it takes the
// type of a NumPy operand (np.float32(1) + 1.5 is a float32, np.int32(1) + 2
// an int32), except that a Python float with a NumPy integer or bool gives
// float64 and a Python int with a NumPy bool gives int64 (NumPy 2's default
// integer on every platform). NumPy types are "strong": two of them promote by
// NumPy's table (np.result_type), whatever the values.
//
// A domain has its own type enumeration; it maps it onto Scalar with a
// TypeMap and asks the map to promote, so every frontend promotes alike.
#pragma once

#include <dlpack/dlpack.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace asp::frontend_kit {

enum class Scalar : std::uint8_t {
  // Python's numbers: weak.
  py_bool, py_int, py_float,
  // NumPy's: strong.
  bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64,
};

constexpr bool is_weak(Scalar s) { return s == Scalar::py_bool || s == Scalar::py_int || s == Scalar::py_float; }
constexpr bool is_bool(Scalar s) { return s == Scalar::py_bool || s == Scalar::bool_; }
constexpr bool is_floating(Scalar s) { return s == Scalar::py_float || s == Scalar::float32 || s == Scalar::float64; }
constexpr bool is_integral(Scalar s) { return !is_bool(s) && !is_floating(s); }  // Python's int included
constexpr bool is_unsigned(Scalar s) {
  return s == Scalar::uint8 || s == Scalar::uint16 || s == Scalar::uint32 || s == Scalar::uint64;
}

// The bits of a NumPy type (bool: 8, as NumPy stores it); 0 for Python's numbers.
constexpr unsigned bits(Scalar s) {
  switch (s) {
    case Scalar::bool_:
    case Scalar::int8:
    case Scalar::uint8: return 8;
    case Scalar::int16:
    case Scalar::uint16: return 16;
    case Scalar::int32:
    case Scalar::uint32:
    case Scalar::float32: return 32;
    case Scalar::int64:
    case Scalar::uint64:
    case Scalar::float64: return 64;
    case Scalar::py_bool:
    case Scalar::py_int:
    case Scalar::py_float: return 0;
  }
  return 0;
}

// As Python names it: "int", "float", "bool" for Python's numbers, the NumPy dtype name otherwise.
constexpr std::string_view name(Scalar s) {
  switch (s) {
    case Scalar::py_bool: return "bool";
    case Scalar::py_int: return "int";
    case Scalar::py_float: return "float";
    case Scalar::bool_: return "numpy.bool";
    case Scalar::int8: return "int8";
    case Scalar::int16: return "int16";
    case Scalar::int32: return "int32";
    case Scalar::int64: return "int64";
    case Scalar::uint8: return "uint8";
    case Scalar::uint16: return "uint16";
    case Scalar::uint32: return "uint32";
    case Scalar::uint64: return "uint64";
    case Scalar::float32: return "float32";
    case Scalar::float64: return "float64";
  }
  return "?";
}

// A NumPy dtype by its name (numpy.dtype(...).name: "float64", "int32", "bool"), or nothing.
inline std::optional<Scalar> numpy_dtype(std::string_view dtype) {
  static constexpr std::pair<std::string_view, Scalar> names[] = {
      {"bool", Scalar::bool_},     {"int8", Scalar::int8},       {"int16", Scalar::int16},
      {"int32", Scalar::int32},    {"int64", Scalar::int64},     {"uint8", Scalar::uint8},
      {"uint16", Scalar::uint16},  {"uint32", Scalar::uint32},   {"uint64", Scalar::uint64},
      {"float32", Scalar::float32}, {"float64", Scalar::float64}};
  for (const auto& [n, s] : names) {
    if (n == dtype) return s;
  }
  return std::nullopt;
}

// DLPack's type code for booleans, kDLBool, which DLPack 0.8 added: spelled
// out, so the kit reads NumPy's bool arrays with an older dlpack.h too.
inline constexpr std::uint8_t dlpack_bool = 6;

// The NumPy type of an array's elements as DLPack describes them, or nothing
// (vectors of lanes, float16, complex and the like).
constexpr std::optional<Scalar> numpy_dtype(DLDataType t) {
  if (t.lanes != 1) return std::nullopt;
  if (t.code == dlpack_bool && t.bits == 8) return Scalar::bool_;
  if (t.code == kDLFloat && t.bits == 32) return Scalar::float32;
  if (t.code == kDLFloat && t.bits == 64) return Scalar::float64;
  if (t.code == kDLInt || t.code == kDLUInt) {
    const bool u = t.code == kDLUInt;
    switch (t.bits) {
      case 8: return u ? Scalar::uint8 : Scalar::int8;
      case 16: return u ? Scalar::uint16 : Scalar::int16;
      case 32: return u ? Scalar::uint32 : Scalar::int32;
      case 64: return u ? Scalar::uint64 : Scalar::int64;
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

namespace numeric_detail {

constexpr Scalar signed_of_bits(unsigned b) {
  return b <= 8 ? Scalar::int8 : b <= 16 ? Scalar::int16 : b <= 32 ? Scalar::int32 : Scalar::int64;
}

// NumPy's table for two strong types (np.result_type).
constexpr Scalar promote_strong(Scalar a, Scalar b) {
  if (a == b) return a;
  if (a == Scalar::bool_) return b;
  if (b == Scalar::bool_) return a;
  if (is_floating(a) || is_floating(b)) {
    if (is_floating(a) && is_floating(b)) return Scalar::float64;
    const Scalar i = is_floating(a) ? b : a, f = is_floating(a) ? a : b;
    // float32 holds every 8- and 16-bit integer exactly; wider ones need float64.
    return f == Scalar::float32 && bits(i) <= 16 ? Scalar::float32 : Scalar::float64;
  }
  if (is_unsigned(a) == is_unsigned(b)) return bits(a) >= bits(b) ? a : b;
  const Scalar s = is_unsigned(a) ? b : a, u = is_unsigned(a) ? a : b;
  if (bits(s) > bits(u)) return s;
  // A signed type that holds both, if there is one: uint64 with any signed type gives float64.
  return bits(u) < 64 ? signed_of_bits(2 * bits(u)) : Scalar::float64;
}

}  // namespace numeric_detail

// The type of `a op b` for an arithmetic operator (+ - * // % **, and the
// operands of a comparison), by Python's rules for two Python numbers and by
// NEP 50 otherwise. True division has its own result: true_divide().
constexpr Scalar promote(Scalar a, Scalar b) {
  if (is_weak(a) && is_weak(b)) {
    // Python: bool is an int; an int with a float is a float.
    if (a == Scalar::py_float || b == Scalar::py_float) return Scalar::py_float;
    return Scalar::py_int;
  }
  if (!is_weak(a) && !is_weak(b)) return numeric_detail::promote_strong(a, b);
  const Scalar weak = is_weak(a) ? a : b, strong = is_weak(a) ? b : a;
  switch (weak) {
    case Scalar::py_bool: return strong;  // below every NumPy type
    case Scalar::py_int: return strong == Scalar::bool_ ? Scalar::int64 : strong;
    default: return is_floating(strong) ? strong : Scalar::float64;  // py_float
  }
}

// The type of `a / b` once the operands are promoted to `t`: integers divide
// into a float (Python's for Python numbers, float64 for NumPy's), floats
// keep their type.
constexpr Scalar true_divide(Scalar t) {
  if (is_floating(t)) return t;
  return is_weak(t) ? Scalar::py_float : Scalar::float64;
}

// The one type in which values of types a and b compute alike from here on,
// when one variable may hold either (after the branches of an `if`): the type
// itself, or float64 for a Python float and a NumPy float64 (the same IEEE
// double; they differ only in how a division by zero fails). Any other pair
// computes differently later.
constexpr std::optional<Scalar> computes_alike(Scalar a, Scalar b) {
  if (a == b) return a;
  if ((a == Scalar::py_float && b == Scalar::float64) || (a == Scalar::float64 && b == Scalar::py_float)) {
    return Scalar::float64;
  }
  return std::nullopt;
}

// A domain's own numeric types onto Scalar, one row per type, so that the
// domain promotes by the rules above: `promote` fails (std::logic_error) only
// when the domain's types are not closed under promotion, which is a bug of
// the domain's table, not of the user's kernel.
template <class T, std::size_t N>
class TypeMap {
 public:
  constexpr explicit TypeMap(std::array<std::pair<T, Scalar>, N> rows) : rows_(rows) {}

  constexpr Scalar scalar(T t) const {
    for (const auto& [d, s] : rows_) {
      if (d == t) return s;
    }
    throw std::logic_error("a domain type is missing from its TypeMap");
  }
  constexpr std::optional<T> type(Scalar s) const {
    for (const auto& [d, k] : rows_) {
      if (k == s) return d;
    }
    return std::nullopt;
  }
  T promote(T a, T b) const { return domain(frontend_kit::promote(scalar(a), scalar(b))); }
  T true_divide(T t) const { return domain(frontend_kit::true_divide(scalar(t))); }
  std::optional<T> computes_alike(T a, T b) const {
    const std::optional<Scalar> s = frontend_kit::computes_alike(scalar(a), scalar(b));
    if (!s) return std::nullopt;
    return domain(*s);
  }

 private:
  T domain(Scalar s) const {
    if (const std::optional<T> t = type(s)) return *t;
    throw std::logic_error("the domain has no type for the promoted type " + std::string(name(s)));
  }
  std::array<std::pair<T, Scalar>, N> rows_;
};

}  // namespace asp::frontend_kit
