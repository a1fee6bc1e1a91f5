// Evaluation of a variant's run check ("only when the inner extent is
// divisible by 4") for the arguments of one call, before any native code runs.
#include "asp/core/kernel.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace asp::core {

namespace {

using psir::Expr;
using psir::Type;

// A scalar of the run check's language: integers of either signedness, floats or bool.
using Num = psir::Value;

template <class T>
T read(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

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
    case Type::boolean: return read<bool>(p);
  }
  throw std::logic_error("run check: unknown type");
}

double as_double(const Num& n) {
  return std::visit([](auto v) { return static_cast<double>(v); }, n);
}

template <class T>
Num arithmetic(const std::string& op, T a, T b) {
  if (op == "+") return static_cast<T>(a + b);
  if (op == "-") return static_cast<T>(a - b);
  if (op == "*") return static_cast<T>(a * b);
  if (op == "/") {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) throw std::runtime_error("run check divides by zero");
    }
    return static_cast<T>(a / b);
  }
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  if (op == ">=") return a >= b;
  if constexpr (std::is_integral_v<T>) {
    if (op == "%") {
      if (b == 0) throw std::runtime_error("run check divides by zero");
      return static_cast<T>(a % b);
    }
    if (op == "&") return static_cast<T>(a & b);
    if (op == "|") return static_cast<T>(a | b);
    if (op == "^") return static_cast<T>(a ^ b);
  }
  throw std::runtime_error("run check: operator " + op + " is not supported here");
}

class Evaluator {
 public:
  Evaluator(const psir::Function& f, void* const* args) : f_(f), args_(args) {}

  Num eval(const Expr& e) const {
    switch (e.kind) {
      case Expr::Kind::constant: return e.value;
      case Expr::Kind::var:
        for (std::size_t i = 0; i < f_.params.size(); ++i) {
          if (f_.params[i].name == e.name) return read_scalar(f_.params[i].type, args_[i]);
        }
        throw std::runtime_error("run check names '" + e.name + "', which is not a scalar parameter");
      case Expr::Kind::unary: {
        const Num a = eval(*e.args[0]);
        if (e.op == "!") return !std::get<bool>(a);
        if (auto* d = std::get_if<double>(&a)) return -*d;
        if (auto* i = std::get_if<std::int64_t>(&a)) return -*i;
        throw std::runtime_error("run check: unary " + e.op + " is not supported here");
      }
      case Expr::Kind::binary: {
        if (e.op == "&&") return std::get<bool>(eval(*e.args[0])) && std::get<bool>(eval(*e.args[1]));
        if (e.op == "||") return std::get<bool>(eval(*e.args[0])) || std::get<bool>(eval(*e.args[1]));
        const Num a = eval(*e.args[0]), b = eval(*e.args[1]);
        if (a.index() != b.index()) throw std::runtime_error("run check: operands of different kinds");
        if (auto* x = std::get_if<std::int64_t>(&a)) return arithmetic(e.op, *x, std::get<std::int64_t>(b));
        if (auto* x = std::get_if<std::uint64_t>(&a)) return arithmetic(e.op, *x, std::get<std::uint64_t>(b));
        if (auto* x = std::get_if<double>(&a)) return arithmetic(e.op, *x, std::get<double>(b));
        return arithmetic(e.op, static_cast<int>(std::get<bool>(a)), static_cast<int>(std::get<bool>(b)));
      }
      case Expr::Kind::select: return std::get<bool>(eval(*e.args[0])) ? eval(*e.args[1]) : eval(*e.args[2]);
      case Expr::Kind::cast: {
        const Num a = eval(*e.args[0]);
        if (psir::is_float(e.type)) return as_double(a);
        if (e.type == Type::boolean) return as_double(a) != 0;
        if (psir::is_unsigned(e.type)) return static_cast<std::uint64_t>(as_double(a));
        return static_cast<std::int64_t>(as_double(a));
      }
      case Expr::Kind::call: {
        const Num a = eval(*e.args[0]);
        if (e.name == "min" || e.name == "max") {
          const Num b = eval(*e.args[1]);
          const bool b_smaller = std::get<bool>(arithmetic("<", as_double(b), as_double(a)));
          return (e.name == "min") == b_smaller ? b : a;
        }
        if (e.name == "abs") {
          if (auto* i = std::get_if<std::int64_t>(&a)) return *i < 0 ? -*i : *i;
          if (auto* d = std::get_if<double>(&a)) return std::fabs(*d);
          return a;  // unsigned
        }
        throw std::runtime_error("run check: intrinsic " + e.name + " is not supported here");
      }
      case Expr::Kind::load: throw std::runtime_error("run check reads a buffer");
    }
    throw std::logic_error("run check: unknown expression");
  }

 private:
  const psir::Function& f_;
  void* const* args_;
};

}  // namespace

bool evaluate_run_check(const psir::Function& function, void* const* args) {
  if (!function.requires_) return true;
  return std::get<bool>(Evaluator(function, args).eval(*function.requires_));
}

std::int64_t evaluate_integer(const psir::Function& function, const psir::Expr& expr, void* const* args) {
  const Num n = Evaluator(function, args).eval(expr);
  if (auto* i = std::get_if<std::int64_t>(&n)) return *i;
  if (auto* u = std::get_if<std::uint64_t>(&n)) return static_cast<std::int64_t>(*u);
  throw std::runtime_error("expected an integer expression");
}

}  // namespace asp::core
