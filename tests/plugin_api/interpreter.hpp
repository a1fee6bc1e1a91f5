// A reference interpreter for PSIR, for tests only: runs a Function serially on
// buffers held as doubles (exact for the integers tests use), rounding f32
// results to float. Passes are checked by running a function before and after.
#pragma once

#include <asp/psir.hpp>

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace asp::test {

using Buffers = std::map<std::string, std::vector<double>>;
using Scalars = std::map<std::string, double>;

class Interpreter {
 public:
  Interpreter(const psir::Function& f, Buffers& buffers, const Scalars& scalars) : f_(f), buffers_(buffers) {
    for (const auto& [name, value] : scalars) env_[name] = value;
  }

  void run() { block(f_.body); }

 private:
  static double round_to(psir::Type t, double v) {
    if (t == psir::Type::f32) return static_cast<float>(v);
    if (psir::is_integer(t)) return std::trunc(v);
    return v;
  }

  std::int64_t extent(const psir::Extent& x) {
    if (auto* n = std::get_if<std::int64_t>(&x)) return *n;
    return static_cast<std::int64_t>(env_.at(std::get<std::string>(x)));
  }

  std::size_t offset(const std::string& buffer, const std::vector<psir::ExprPtr>& indices) {
    const psir::Param& p = *f_.param(buffer);
    std::size_t flat = 0;
    std::int64_t stride = 1;
    for (std::size_t d = p.shape.size(); d-- > 0;) {
      const auto i = static_cast<std::int64_t>(eval(indices[d]));
      if (i < 0 || i >= extent(p.shape[d])) throw std::out_of_range("index out of bounds in " + buffer);
      const std::int64_t s = p.strides.empty() ? stride : extent(p.strides[d]);
      flat += static_cast<std::size_t>(i * s);
      stride *= extent(p.shape[d]);
    }
    return flat;
  }

  double eval(const psir::ExprPtr& e) {
    using K = psir::Expr::Kind;
    const auto arg = [&](int i) { return eval(e->args[static_cast<std::size_t>(i)]); };
    switch (e->kind) {
      case K::constant:
        if (auto* d = std::get_if<double>(&e->value)) return *d;
        if (auto* i = std::get_if<std::int64_t>(&e->value)) return static_cast<double>(*i);
        if (auto* u = std::get_if<std::uint64_t>(&e->value)) return static_cast<double>(*u);
        return std::get<bool>(e->value);
      case K::var: return env_.at(e->name);
      case K::load: return buffers_.at(e->name).at(offset(e->name, e->args));
      case K::unary:
        return e->unary_op == psir::UnaryOp::neg    ? -arg(0)
               : e->unary_op == psir::UnaryOp::not_ ? !arg(0)
                                                    : ~static_cast<std::int64_t>(arg(0));
      case K::select: return arg(0) ? arg(1) : arg(2);
      case K::cast: return round_to(e->type, arg(0));
      case K::call: {
        const std::string name(psir::spelling(e->intrinsic));
        if (name == "sqrt") return round_to(e->type, std::sqrt(arg(0)));
        if (name == "min") return std::min(arg(0), arg(1));
        if (name == "max") return std::max(arg(0), arg(1));
        if (name == "pow") return round_to(e->type, std::pow(arg(0), arg(1)));
        if (name == "abs") return std::fabs(arg(0));
        if (name == "floordiv") return std::floor(arg(0) / arg(1));
        throw std::logic_error("interpreter: intrinsic " + name);
      }
      case K::binary: {
        const double a = arg(0), b = arg(1);
        const std::string op(psir::spelling(e->binary_op));
        const psir::Type t = e->args[0]->type;
        if (op == "+") return round_to(t, a + b);
        if (op == "-") return round_to(t, a - b);
        if (op == "*") return round_to(t, a * b);
        if (op == "/") return round_to(t, a / b);
        if (op == "%") return static_cast<double>(static_cast<std::int64_t>(a) % static_cast<std::int64_t>(b));
        if (op == "==") return a == b;
        if (op == "!=") return a != b;
        if (op == "<") return a < b;
        if (op == "<=") return a <= b;
        if (op == ">") return a > b;
        if (op == ">=") return a >= b;
        if (op == "&&") return a && b;
        if (op == "||") return a || b;
        const auto ia = static_cast<std::int64_t>(a), ib = static_cast<std::int64_t>(b);
        if (op == "^") return round_to(t, static_cast<double>(ia ^ ib));
        if (op == "&") return round_to(t, static_cast<double>(ia & ib));
        if (op == "|") return round_to(t, static_cast<double>(ia | ib));
        if (op == "<<") return round_to(t, static_cast<double>(ia << ib));
        throw std::logic_error("interpreter: operator " + op);
      }
    }
    throw std::logic_error("interpreter: expression");
  }

  void block(const psir::Block& b) {
    for (const psir::Stmt& s : b) stmt(s);
  }

  void stmt(const psir::Stmt& s) {
    using K = psir::Stmt::Kind;
    switch (s.kind) {
      case K::loop: {
        const psir::Loop& l = *s.loop;
        const auto hi = static_cast<std::int64_t>(eval(l.upper));
        for (auto i = static_cast<std::int64_t>(eval(l.lower)); i < hi; i += l.step) {
          env_[l.var] = static_cast<double>(i);
          block(l.body);
        }
        return;
      }
      case K::let:
      case K::decl:
      case K::assign: env_[s.name] = eval(s.value); return;
      case K::reduce: {
        const double v = eval(s.value), acc = env_.at(s.name);
        using R = psir::ReduceOp;
        env_[s.name] = s.reduce_op == R::add   ? acc + v
                       : s.reduce_op == R::mul ? acc * v
                       : s.reduce_op == R::min ? std::min(acc, v)
                                               : std::max(acc, v);
        return;
      }
      case K::store: {
        const psir::Param& p = *f_.param(s.name);
        buffers_.at(s.name).at(offset(s.name, s.indices)) = round_to(p.type, eval(s.value));
        return;
      }
      case K::if_:
        if (eval(s.value)) {
          block(s.then_block);
        } else {
          block(s.else_block);
        }
        return;
    }
  }

  const psir::Function& f_;
  Buffers& buffers_;
  std::map<std::string, double> env_;
};

inline void interpret(const psir::Function& f, Buffers& buffers, const Scalars& scalars) {
  Interpreter(f, buffers, scalars).run();
}

}  // namespace asp::test
