// Host-side evaluation of PSIR expressions: a variant's run check ("only when
// the inner extent is divisible by 4") for the arguments of one call before
// any native code runs, a launch grid's extents, and the scalar arithmetic of
// a program's host schedule.
#include "asp/core/kernel.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace asp::core {

namespace {

using psir::Expr;
using psir::Type;
using Num = psir::Value;
using psir::BinaryOp;
using psir::Intrinsic;
using psir::UnaryOp;

template <class T>
T read(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

double as_double(const Num& n) {
  return std::visit([](auto v) { return static_cast<double>(v); }, n);
}

std::int64_t as_signed(const Num& n) {
  if (const auto* d = std::get_if<double>(&n)) {
    if (!(std::fabs(*d) < 9.2e18)) throw std::runtime_error("a float does not fit the integer it is converted to");
    return static_cast<std::int64_t>(*d);
  }
  return std::visit([](auto v) { return static_cast<std::int64_t>(v); }, n);
}

// A value in the representation of type `t`: wrapped to its width, a float rounded to f32.
Num as_type(Type t, const Num& n) {
  switch (t) {
    case Type::f32: return static_cast<double>(static_cast<float>(as_double(n)));
    case Type::f64: return as_double(n);
    case Type::boolean: return as_double(n) != 0;
    case Type::i8: return std::int64_t{static_cast<std::int8_t>(as_signed(n))};
    case Type::i16: return std::int64_t{static_cast<std::int16_t>(as_signed(n))};
    case Type::i32: return std::int64_t{static_cast<std::int32_t>(as_signed(n))};
    case Type::i64: return as_signed(n);
    case Type::u8: return std::uint64_t{static_cast<std::uint8_t>(as_signed(n))};
    case Type::u16: return std::uint64_t{static_cast<std::uint16_t>(as_signed(n))};
    case Type::u32: return std::uint64_t{static_cast<std::uint32_t>(as_signed(n))};
    case Type::u64:
      if (const auto* u = std::get_if<std::uint64_t>(&n)) return *u;
      return static_cast<std::uint64_t>(as_signed(n));
  }
  throw std::logic_error("unknown PSIR type");
}

[[noreturn]] void zero_division() { throw std::runtime_error("integer division by zero on the host"); }

template <class T>
Num arithmetic(BinaryOp op, T a, T b) {
  using O = BinaryOp;
  if (op == O::eq) return a == b;
  if (op == O::ne) return a != b;
  if (op == O::lt) return a < b;
  if (op == O::le) return a <= b;
  if (op == O::gt) return a > b;
  if (op == O::ge) return a >= b;
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;  // + - * wrap, as in the generated C for the narrow types
    if (op == O::add) return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    if (op == O::sub) return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
    if (op == O::mul) return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
    if (op == O::div || op == O::rem) {
      if (b == 0) zero_division();
      if constexpr (std::is_signed_v<T>) {
        if (a == std::numeric_limits<T>::min() && b == -1) return op == O::div ? a : T{0};
      }
      return op == O::div ? static_cast<T>(a / b) : static_cast<T>(a % b);
    }
    if (op == O::bit_and) return static_cast<T>(a & b);
    if (op == O::bit_or) return static_cast<T>(a | b);
    if (op == O::bit_xor) return static_cast<T>(a ^ b);
    if (op == O::shl || op == O::shr) {
      if (b < 0 || b >= 64) throw std::runtime_error("shift by " + std::to_string(b) + " on the host");
      return op == O::shl ? static_cast<T>(static_cast<U>(a) << b) : static_cast<T>(a >> b);
    }
  } else {
    if (op == O::add) return a + b;
    if (op == O::sub) return a - b;
    if (op == O::mul) return a * b;
    if (op == O::div) return a / b;
  }
  throw std::runtime_error("operator " + std::string(psir::spelling(op)) + " is not evaluated on the host");
}

// Python's flooring division and modulo (the PSIR intrinsics floordiv and mod).
template <class T>
Num floor_div_mod(bool div, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) zero_division();
    if constexpr (std::is_signed_v<T>) {
      if (a == std::numeric_limits<T>::min() && b == -1) return div ? a : T{0};
      T q = a / b, r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) {
        q -= 1;
        r += b;
      }
      return div ? q : r;
    } else {
      return div ? static_cast<T>(a / b) : static_cast<T>(a % b);
    }
  } else {
    const T q = std::floor(a / b);
    return div ? q : a - q * b;
  }
}

double float_intrinsic(Intrinsic name, double a, double b, bool single) {
  auto f = [single](double v) { return single ? static_cast<double>(static_cast<float>(v)) : v; };
  switch (name) {
    case Intrinsic::sqrt: return f(single ? std::sqrt(static_cast<float>(a)) : std::sqrt(a));
    case Intrinsic::exp: return f(single ? std::exp(static_cast<float>(a)) : std::exp(a));
    case Intrinsic::log: return f(single ? std::log(static_cast<float>(a)) : std::log(a));
    case Intrinsic::sin: return f(single ? std::sin(static_cast<float>(a)) : std::sin(a));
    case Intrinsic::cos: return f(single ? std::cos(static_cast<float>(a)) : std::cos(a));
    case Intrinsic::tan: return f(single ? std::tan(static_cast<float>(a)) : std::tan(a));
    case Intrinsic::floor: return std::floor(a);
    case Intrinsic::ceil: return std::ceil(a);
    case Intrinsic::pow: return f(single ? std::pow(static_cast<float>(a), static_cast<float>(b)) : std::pow(a, b));
    case Intrinsic::fmod: return f(single ? std::fmod(static_cast<float>(a), static_cast<float>(b)) : std::fmod(a, b));
    default: break;
  }
  throw std::runtime_error("intrinsic " + std::string(psir::spelling(name)) + " is not evaluated on the host");
}

class Evaluator : public asp::ir::Exhaustive {
 public:
  explicit Evaluator(const ValueScope& scope) : scope_(scope) {}

  Num eval(const Expr& e) const { return dispatch(*this, e); }

  // Every kind of expression (exhaustive, see <asp/ir_visit.hpp>).
  Num on_constant(const Expr& e) const { return e.value; }
  Num on_var(const Expr& e) const { return scope_.variable(e.name); }
  Num on_load(const Expr& e) const {
    std::vector<std::int64_t> indices;
    for (const psir::ExprPtr& i : e.args) indices.push_back(as_signed(eval(*i)));
    return scope_.element(e.name, indices);
  }
  Num on_unary(const Expr& e) const {
    const Num a = eval(*e.args[0]);
    if (e.unary_op == UnaryOp::not_) return !std::get<bool>(a);
    if (e.unary_op == UnaryOp::bitnot) {
      return as_type(e.type, std::visit([](auto v) { return Num{static_cast<std::uint64_t>(~static_cast<std::uint64_t>(v))}; }, a));
    }
    if (const auto* d = std::get_if<double>(&a)) return -*d;
    return as_type(e.type, Num{std::uint64_t{0} - static_cast<std::uint64_t>(as_signed(a))});
  }
  Num on_binary(const Expr& e) const {
    if (e.binary_op == BinaryOp::and_) return std::get<bool>(eval(*e.args[0])) && std::get<bool>(eval(*e.args[1]));
    if (e.binary_op == BinaryOp::or_) return std::get<bool>(eval(*e.args[0])) || std::get<bool>(eval(*e.args[1]));
    const Type t = e.args[0]->type;
    return typed(t, e.type, eval(*e.args[0]), eval(*e.args[1]), [&](auto a, auto b) { return arithmetic(e.binary_op, a, b); });
  }
  Num on_select(const Expr& e) const { return std::get<bool>(eval(*e.args[0])) ? eval(*e.args[1]) : eval(*e.args[2]); }
  Num on_cast(const Expr& e) const { return as_type(e.type, eval(*e.args[0])); }
  Num on_call(const Expr& e) const { return call(e); }

 private:
  // Applies `op` to two operands of PSIR type `t` in its C type, and gives the result the type `result`.
  template <class Op>
  static Num typed(Type t, Type result, const Num& a, const Num& b, Op op) {
    Num r;
    if (t == Type::f32) {
      r = std::visit([](auto v) { return Num{v}; },
                     op(static_cast<float>(as_double(a)), static_cast<float>(as_double(b))));
    } else if (psir::is_float(t)) {
      r = op(as_double(a), as_double(b));
    } else if (psir::is_unsigned(t)) {
      r = op(std::get<std::uint64_t>(as_type(Type::u64, a)), std::get<std::uint64_t>(as_type(Type::u64, b)));
    } else if (t == Type::boolean) {
      r = op(static_cast<std::int64_t>(std::get<bool>(a)), static_cast<std::int64_t>(std::get<bool>(b)));
    } else {
      r = op(as_signed(a), as_signed(b));
    }
    return as_type(result, r);
  }

  Num call(const Expr& e) const {
    const Num a = eval(*e.args[0]);
    const Type t = e.type;
    const Intrinsic f = e.intrinsic;
    if (f == Intrinsic::abs) {
      if (psir::is_float(t)) return std::fabs(as_double(a));
      if (psir::is_unsigned(t)) return a;
      return as_type(t, Num{as_signed(a) < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(as_signed(a))
                                              : static_cast<std::uint64_t>(as_signed(a))});
    }
    const Num b = e.args.size() > 1 ? eval(*e.args[1]) : Num{};
    if (f == Intrinsic::min || f == Intrinsic::max) {
      const bool b_first =
          std::get<bool>(typed(t, Type::boolean, b, a, [&](auto x, auto y) { return arithmetic(BinaryOp::lt, x, y); }));
      return (f == Intrinsic::min) == b_first ? b : a;
    }
    if (f == Intrinsic::floordiv || f == Intrinsic::mod) {
      const bool div = f == Intrinsic::floordiv;
      return typed(t, t, a, b, [&](auto x, auto y) { return floor_div_mod(div, x, y); });
    }
    return float_intrinsic(f, as_double(a), e.args.size() > 1 ? as_double(b) : 0, t == Type::f32);
  }

  const ValueScope& scope_;
};

// The scalar parameters of a function, for its run check and launch grid.
class ParamScope : public ValueScope {
 public:
  ParamScope(const psir::Function& f, void* const* args) : f_(f), args_(args) {}
  Num variable(const std::string& name) const override {
    for (std::size_t i = 0; i < f_.params.size(); ++i) {
      if (f_.params[i].name == name && f_.params[i].kind == psir::Param::Kind::scalar) {
        return read_scalar(f_.params[i].type, args_[i]);
      }
    }
    throw std::runtime_error("'" + name + "' is not a scalar parameter of " + f_.name);
  }
  Num element(const std::string& buffer, const std::vector<std::int64_t>&) const override {
    throw std::runtime_error("a run check or launch grid of " + f_.name + " reads buffer '" + buffer + "'");
  }

 private:
  const psir::Function& f_;
  void* const* args_;
};

}  // namespace

Num read_scalar(Type t, const void* p) {
  switch (t) {
    case Type::f32: return static_cast<double>(read<float>(p));
    case Type::f64: return read<double>(p);
    case Type::i8: return std::int64_t{read<std::int8_t>(p)};
    case Type::i16: return std::int64_t{read<std::int16_t>(p)};
    case Type::i32: return std::int64_t{read<std::int32_t>(p)};
    case Type::i64: return read<std::int64_t>(p);
    case Type::u8: return std::uint64_t{read<std::uint8_t>(p)};
    case Type::u16: return std::uint64_t{read<std::uint16_t>(p)};
    case Type::u32: return std::uint64_t{read<std::uint32_t>(p)};
    case Type::u64: return read<std::uint64_t>(p);
    case Type::boolean: return read<std::uint8_t>(p) != 0;
  }
  throw std::logic_error("unknown PSIR type");
}

std::uint64_t scalar_bits(Type t, const Num& value) {
  const Num v = as_type(t, value);
  std::uint64_t bits = 0;
  auto put = [&bits](auto x) { std::memcpy(&bits, &x, sizeof x); };
  switch (t) {
    case Type::f32: put(static_cast<float>(std::get<double>(v))); break;
    case Type::f64: put(std::get<double>(v)); break;
    case Type::boolean: put(static_cast<std::uint8_t>(std::get<bool>(v))); break;
    case Type::i8: put(static_cast<std::int8_t>(std::get<std::int64_t>(v))); break;
    case Type::i16: put(static_cast<std::int16_t>(std::get<std::int64_t>(v))); break;
    case Type::i32: put(static_cast<std::int32_t>(std::get<std::int64_t>(v))); break;
    case Type::i64: put(std::get<std::int64_t>(v)); break;
    case Type::u8: put(static_cast<std::uint8_t>(std::get<std::uint64_t>(v))); break;
    case Type::u16: put(static_cast<std::uint16_t>(std::get<std::uint64_t>(v))); break;
    case Type::u32: put(static_cast<std::uint32_t>(std::get<std::uint64_t>(v))); break;
    case Type::u64: put(std::get<std::uint64_t>(v)); break;
  }
  return bits;
}

Num evaluate(const Expr& expr, const ValueScope& scope) { return Evaluator(scope).eval(expr); }

bool evaluate_run_check(const psir::Function& function, void* const* args) {
  if (!function.requires_) return true;
  return std::get<bool>(evaluate(*function.requires_, ParamScope(function, args)));
}

std::int64_t evaluate_integer(const psir::Function& function, const psir::Expr& expr, void* const* args) {
  const Num n = evaluate(expr, ParamScope(function, args));
  if (std::holds_alternative<double>(n) || std::holds_alternative<bool>(n)) {
    throw std::runtime_error("expected an integer expression");
  }
  return as_signed(n);
}

}  // namespace asp::core
