#include "stencil/optimizers.hpp"

#include "stencil/dsir_verify.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace asp::stencil {

namespace {

using Literal = std::variant<std::int64_t, double, bool>;

std::int64_t as_int(const ExprPtr& e) { return std::get<std::int64_t>(e->value); }
double as_float(const ExprPtr& e) { return std::get<double>(e->value); }

ExprPtr literal_of(Type t, Literal v) {
  Expr e{Expr::Kind::literal, t};
  e.value = v;
  return make(std::move(e));
}

// An integer result of type t, or nothing when it does not fit (the generated
// code's C arithmetic would overflow, Python's would not).
std::optional<Literal> fits(Type t, __int128 v) {
  const __int128 lo = t == Type::i32 ? std::numeric_limits<std::int32_t>::min() : std::numeric_limits<std::int64_t>::min();
  const __int128 hi = t == Type::i32 ? std::numeric_limits<std::int32_t>::max() : std::numeric_limits<std::int64_t>::max();
  if (v < lo || v > hi) return std::nullopt;
  return Literal(static_cast<std::int64_t>(v));
}

// Python's float modulo and floor division (Objects/floatobject.c), which
// NumPy's float scalars share and the generated code's helpers implement.
template <class T>
T python_mod(T a, T b) {
  T m = std::fmod(a, b);
  if (m != 0) {
    if ((b < 0) != (m < 0)) m += b;
  } else {
    m = std::copysign(T(0), b);
  }
  return m;
}

template <class T>
T python_floordiv(T a, T b) {
  const T m = std::fmod(a, b);
  T d = (a - m) / b;
  if (m != 0 && (b < 0) != (m < 0)) d -= 1;
  if (d == 0) return std::copysign(T(0), a / b);
  T q = std::floor(d);
  if (d - q > T(0.5)) q += 1;
  return q;
}

template <class T>
std::optional<Literal> float_arith(BinaryOp op, T a, T b) {
  if (op == BinaryOp::add) return Literal(static_cast<double>(static_cast<T>(a + b)));
  if (op == BinaryOp::sub) return Literal(static_cast<double>(static_cast<T>(a - b)));
  if (op == BinaryOp::mul) return Literal(static_cast<double>(static_cast<T>(a * b)));
  if (b == 0) return std::nullopt;  // raises in Python, inf or nan in NumPy: left to run time
  if (op == BinaryOp::div) return Literal(static_cast<double>(static_cast<T>(a / b)));
  if (op == BinaryOp::floordiv) return Literal(static_cast<double>(python_floordiv(a, b)));
  if (op == BinaryOp::mod) return Literal(static_cast<double>(python_mod(a, b)));
  return std::nullopt;  // ** calls libm's pow at run time
}

std::optional<Literal> int_arith(BinaryOp op, Type t, std::int64_t a, std::int64_t b) {
  const __int128 x = a, y = b;
  if (op == BinaryOp::add) return fits(t, x + y);
  if (op == BinaryOp::sub) return fits(t, x - y);
  if (op == BinaryOp::mul) return fits(t, x * y);
  if (op == BinaryOp::pow) {
    __int128 r = 1;
    for (std::int64_t k = 0; k < b; ++k) {
      r *= x;
      if (!fits(t, r)) return std::nullopt;
    }
    return fits(t, r);
  }
  if (b == 0) return std::nullopt;
  // Python floors; C truncates: adjust when the signs differ and the division is inexact.
  __int128 q = x / y, r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) {
    q -= 1;
    r += y;
  }
  if (op == BinaryOp::floordiv) return fits(t, q);
  if (op == BinaryOp::mod) return fits(t, r);
  return std::nullopt;
}

template <class T>
std::optional<Literal> compare(BinaryOp op, T a, T b) {
  if (op == BinaryOp::eq) return Literal(a == b);
  if (op == BinaryOp::ne) return Literal(a != b);
  if (op == BinaryOp::lt) return Literal(a < b);
  if (op == BinaryOp::le) return Literal(a <= b);
  if (op == BinaryOp::gt) return Literal(a > b);
  if (op == BinaryOp::ge) return Literal(a >= b);
  return std::nullopt;
}

ExprPtr fold_binary(const ExprPtr& e) {
  const ExprPtr &a = e->args[0], &b = e->args[1];
  const BinaryOp op = e->binary_op;
  // Short circuits decided by the left operand; the right one is then not evaluated, as in Python.
  if (is_logical(op) && is_literal(a)) {
    const bool left = std::get<bool>(a->value);
    return (op == BinaryOp::and_) == left ? b : a;
  }
  // `e and true` and `e or false` are e; the other cases must still evaluate e.
  if (is_logical(op) && is_literal(b) && std::get<bool>(b->value) == (op == BinaryOp::and_)) return a;
  if (!is_literal(a) || !is_literal(b)) return e;
  const Type t = a->type;
  std::optional<Literal> v;
  if (is_comparison(op)) {
    if (is_floating(t)) {
      v = t == Type::f32 ? compare<float>(op, static_cast<float>(as_float(a)), static_cast<float>(as_float(b)))
                         : compare<double>(op, as_float(a), as_float(b));
    } else if (is_integral(t)) {
      v = compare(op, as_int(a), as_int(b));
    } else {
      v = compare(op, std::get<bool>(a->value), std::get<bool>(b->value));
    }
  } else if (t == Type::f32) {
    v = float_arith<float>(op, static_cast<float>(as_float(a)), static_cast<float>(as_float(b)));
  } else if (is_floating(t)) {
    v = float_arith<double>(op, as_float(a), as_float(b));
  } else if (is_integral(t)) {
    v = int_arith(op, t, as_int(a), as_int(b));
  }
  return v ? literal_of(e->type, *v) : e;
}

ExprPtr fold_cast(const ExprPtr& e) {
  const ExprPtr& a = e->args[0];
  if (!is_literal(a)) return e;
  const Type to = e->type;
  if (a->type == to) return a;
  if (const auto* b = std::get_if<bool>(&a->value)) {
    return is_floating(to) ? literal_of(to, Literal(*b ? 1.0 : 0.0)) : literal_of(to, Literal(std::int64_t{*b}));
  }
  if (const auto* i = std::get_if<std::int64_t>(&a->value)) {
    if (to == Type::f32) return literal_of(to, Literal(static_cast<double>(static_cast<float>(*i))));
    if (is_floating(to)) return literal_of(to, Literal(static_cast<double>(*i)));
    if (to == Type::i32) return literal_of(to, Literal(std::int64_t{static_cast<std::int32_t>(*i)}));  // wraps, as C does
    return literal_of(to, Literal(*i));
  }
  const double d = as_float(a);
  if (to == Type::f32) return literal_of(to, Literal(static_cast<double>(static_cast<float>(d))));
  if (is_floating(to)) return literal_of(to, Literal(d));
  // Truncation toward zero; out of range (or nan) the C conversion is undefined: left to run time.
  const double t = std::trunc(d);
  const double limit = to == Type::i32 ? 2147483648.0 : 9223372036854775808.0;
  if (!(t >= -limit && t < limit)) return e;
  return literal_of(to, Literal(static_cast<std::int64_t>(t)));
}

ExprPtr fold_call(const ExprPtr& e) {
  for (const ExprPtr& a : e->args) {
    if (!is_literal(a)) return e;
  }
  const Function f = e->function;
  const Type t = e->type;
  if (f == Function::min || f == Function::max) {
    // Python: min(a, b) is b only when b < a (max: b > a); nan and -0.0 follow from that.
    const ExprPtr &a = e->args[0], &b = e->args[1];
    bool take_b;
    if (is_integral(t)) {
      take_b = f == Function::min ? as_int(b) < as_int(a) : as_int(b) > as_int(a);
    } else if (t == Type::f32) {
      const float x = static_cast<float>(as_float(a)), y = static_cast<float>(as_float(b));
      take_b = f == Function::min ? y < x : y > x;
    } else {
      take_b = f == Function::min ? as_float(b) < as_float(a) : as_float(b) > as_float(a);
    }
    return take_b ? b : a;
  }
  const ExprPtr& a = e->args[0];
  if (is_integral(t)) {
    if (f != Function::abs) return e;
    // abs of the most negative value overflows in C (not in Python): left to run time.
    const auto v = fits(t, as_int(a) < 0 ? -static_cast<__int128>(as_int(a)) : as_int(a));
    return v ? literal_of(t, *v) : e;
  }
  const double x = as_float(a);
  const bool single = t == Type::f32;
  double r;
  if (f == Function::abs) {
    r = std::fabs(x);
  } else if (f == Function::sqrt && x < 0) {
    return e;  // Python raises: left to run time, which reports it
  } else if (f == Function::sqrt) {
    // IEEE square root is correctly rounded: the same bits as libm's at run time.
    r = single ? std::sqrt(static_cast<float>(x)) : std::sqrt(x);
  } else if (f == Function::floor) {
    r = std::floor(x);
  } else if (f == Function::ceil) {
    r = std::ceil(x);
  } else {
    return e;  // exp, log, sin, cos, tan: libm's at run time
  }
  return literal_of(t, Literal(r));
}

}  // namespace

ExprPtr fold(const ExprPtr& root) {
  // Bottom up: each node folds once its operands have.
  struct Fold : ExprMutator<Fold> {
    ExprPtr on_unary(const ExprPtr& original) {
      const ExprPtr e = rebuild(original);
      const ExprPtr& a = e->args[0];
      if (!is_literal(a)) return e;
      if (e->unary_op == UnaryOp::not_) return bool_literal(!std::get<bool>(a->value));
      if (is_floating(a->type)) return literal_of(a->type, Literal(-as_float(a)));
      if (auto v = fits(a->type, -static_cast<__int128>(as_int(a)))) return literal_of(a->type, *v);
      return e;
    }
    ExprPtr on_binary(const ExprPtr& e) { return fold_binary(rebuild(e)); }
    ExprPtr on_select(const ExprPtr& original) {
      const ExprPtr e = rebuild(original);
      if (is_literal(e->args[0])) return std::get<bool>(e->args[0]->value) ? e->args[1] : e->args[2];
      return e;
    }
    ExprPtr on_cast(const ExprPtr& e) { return fold_cast(rebuild(e)); }
    ExprPtr on_call(const ExprPtr& e) { return fold_call(rebuild(e)); }
    ExprPtr on_distance(const ExprPtr& e) {
      const Point &p = e->points[0], &q = e->points[1];
      if (p.base != q.base) return e;
      // Python: math.sqrt(sum of the integer squares), the sum exact and converted to float once.
      __int128 sum = 0;
      for (std::size_t k = 0; k < std::max(p.offset.size(), q.offset.size()); ++k) {
        const __int128 d = (k < p.offset.size() ? p.offset[k] : 0) - (k < q.offset.size() ? q.offset[k] : 0);
        sum += d * d;
      }
      return float_literal(std::sqrt(static_cast<double>(sum)));
    }
  };
  return Fold().mutate(root);
}

namespace {

// Folds every expression, substitutes the locals bound to a literal (and
// never assigned), and keeps only the taken branch of an if decided now.
class ConstantFolder : public StmtMutator<ConstantFolder> {
 public:
  explicit ConstantFolder(const Kernel& k) {
    for_each_stmt(k.body, [&](const Stmt& s) {
      if (s.kind == Stmt::Kind::assign) assigned_.insert(s.name);
    });
  }

  ExprPtr expr(const ExprPtr& e) { return fold(propagate(e)); }

  void on_let(const Stmt& s, Block& out) {
    Stmt c = rebuild(s);
    if (is_literal(c.value) && !assigned_.count(c.name)) {
      known_[c.name] = c.value;
      return;
    }
    out.push_back(std::move(c));
  }
  void on_var(const Stmt& s, Block& out) { on_let(s, out); }
  void on_if(const Stmt& s, Block& out) {
    const ExprPtr cond = expr(s.value);
    if (is_literal(cond)) {
      // The branch taken joins this block: its locals' names are unique, so none clashes.
      for (Stmt& t : block(std::get<bool>(cond->value) ? s.body : s.orelse)) out.push_back(std::move(t));
      return;
    }
    Stmt c = s;
    c.value = cond;
    c.body = block(s.body);
    c.orelse = block(s.orelse);
    out.push_back(std::move(c));
  }

 private:
  ExprPtr propagate(const ExprPtr& e) const {
    return rewrite_expr(e, [&](ExprPtr x) {
      if (x->kind != Expr::Kind::local) return x;
      auto it = known_.find(x->name);
      return it == known_.end() ? x : it->second;
    });
  }

  std::set<std::string> assigned_;
  std::map<std::string, ExprPtr> known_;
};

}  // namespace

Kernel fold_constants(const Kernel& kernel) {
  Kernel out = kernel;
  out.body = ConstantFolder(kernel).block(kernel.body);
  verify(out);
  return out;
}

}  // namespace asp::stencil
