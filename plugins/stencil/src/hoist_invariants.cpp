#include "stencil/dsir_text.hpp"
#include "stencil/dsir_verify.hpp"
#include "stencil/optimizers.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <set>

namespace asp::stencil {

namespace {

class Hoister {
 public:
  explicit Hoister(const Kernel& k) {
    for_each_stmt(k.body, [&](const Stmt& s) {
      if (s.kind == Stmt::Kind::let || s.kind == Stmt::Kind::var) names_.insert(s.name);
      if (s.kind == Stmt::Kind::let) lets_.insert(s.name);
    });
    for (const Stmt& s : k.body) {
      if (s.kind == Stmt::Kind::let) let_values_[s.name] = s.value;
    }
  }

  Block run(const Block& kernel_level) {
    Block out;
    for (const Stmt& s : kernel_level) {
      if (s.kind != Stmt::Kind::points) {
        out.push_back(s);
        continue;
      }
      // Each point loop's invariants go right before it, after every let they may use.
      hoisted_.clear();
      index_.clear();
      Stmt loop = s;
      loop.body = rewrite(s.body);
      for (Stmt& let : hoisted_) out.push_back(std::move(let));
      out.push_back(std::move(loop));
    }
    return out;
  }

 private:
  // Computed from literals and kernel-level lets alone: the same at every point.
  bool invariant(const ExprPtr& e) const {
    struct Invariant : ExprFunction<Invariant, bool> {
      explicit Invariant(const std::set<std::string>& l) : lets(l) {}
      bool on_literal(const ExprPtr&) { return true; }
      bool on_local(const ExprPtr& x) { return lets.count(x->name) > 0; }
      bool on_read(const ExprPtr&) { return false; }
      bool on_lookup(const ExprPtr&) { return false; }
      bool on_coord(const ExprPtr&) { return false; }
      bool on_distance(const ExprPtr& x) { return x->points[0].base == x->points[1].base; }
      bool otherwise(const ExprPtr& x) {  // an operator: invariant when its operands are
        for (const ExprPtr& a : x->args) {
          if (!visit(a)) return false;
        }
        return true;
      }
      const std::set<std::string>& lets;
    };
    return Invariant(lets_).visit(e);
  }

  // Python's own division raises on a zero divisor: evaluated before the loop
  // it could raise where Python (whose loop might not run) does not.
  // The value of a float expression of literals and kernel-level lets, where that is
  // plain arithmetic (what decides whether a math call raises, as Python computes it).
  std::optional<double> value_of(const ExprPtr& e) const {
    struct Value : ExprFunction<Value, std::optional<double>> {
      explicit Value(const std::map<std::string, ExprPtr>& l) : lets(l) {}
      std::optional<double> operand(const ExprPtr& x) {
        if (depth > 32) return std::nullopt;  // deeper than 32 levels: unknown (bounds the recursion)
        ++depth;
        const std::optional<double> v = visit(x);
        --depth;
        return v;
      }
      std::optional<double> on_literal(const ExprPtr& x) {
        if (const auto* d = std::get_if<double>(&x->value)) return *d;
        if (const auto* i = std::get_if<std::int64_t>(&x->value)) return static_cast<double>(*i);
        return std::nullopt;
      }
      std::optional<double> on_local(const ExprPtr& x) {
        auto it = lets.find(x->name);
        return it == lets.end() ? std::nullopt : operand(it->second);
      }
      std::optional<double> on_unary(const ExprPtr& x) {
        if (x->unary_op != UnaryOp::neg) return std::nullopt;
        const auto a = operand(x->args[0]);
        return a ? std::optional<double>(-*a) : std::nullopt;
      }
      std::optional<double> on_cast(const ExprPtr& x) {
        if (!is_floating(x->type) || x->type == Type::f32) return std::nullopt;
        return operand(x->args[0]);
      }
      std::optional<double> on_binary(const ExprPtr& x) {
        if (!is_floating(x->type) || x->type == Type::f32) return std::nullopt;
        const auto a = operand(x->args[0]), b = operand(x->args[1]);
        if (!a || !b) return std::nullopt;
        if (x->binary_op == BinaryOp::add) return *a + *b;
        if (x->binary_op == BinaryOp::sub) return *a - *b;
        if (x->binary_op == BinaryOp::mul) return *a * *b;
        if (x->binary_op == BinaryOp::div && *b != 0) return *a / *b;
        return std::nullopt;
      }
      std::optional<double> otherwise(const ExprPtr&) { return std::nullopt; }
      const std::map<std::string, ExprPtr>& lets;
      int depth = 0;
    };
    return Value(let_values_).operand(e);
  }

  bool can_raise(const ExprPtr& e) const {
    bool raises = false;
    for_each_expr(e, [&](const Expr& x) {
      if (x.kind != Expr::Kind::binary || !is_weak(x.type) || (x.binary_op != BinaryOp::div && x.binary_op != BinaryOp::floordiv && x.binary_op != BinaryOp::mod)) return;
      const Expr& d = *x.args[1];
      const bool nonzero = d.kind == Expr::Kind::literal &&
                           (is_floating(d.type) ? std::get<double>(d.value) != 0 : std::get<std::int64_t>(d.value) != 0);
      raises |= !nonzero;
    });
    // So do the math functions and int() where Python raises (a domain or
    // range error, nan or inf to int): of a known value, whether it does is known now.
    for_each_expr(e, [&](const Expr& x) {
      const bool math = x.kind == Expr::Kind::call && (x.function == Function::sqrt || x.function == Function::log ||
                                                       x.function == Function::exp || x.function == Function::sin ||
                                                       x.function == Function::cos || x.function == Function::tan);
      const bool to_int = x.kind == Expr::Kind::cast && is_integral(x.type) && is_floating(x.args[0]->type);
      if (!math && !to_int) return;
      const std::optional<double> known = value_of(x.args[0]);
      if (!known) {
        raises = true;
        return;
      }
      const double v = *known;
      if (to_int) raises |= !std::isfinite(v);
      if (x.function == Function::sqrt) raises |= v < 0;
      if (x.function == Function::log) raises |= v <= 0;
      if (x.function == Function::exp) raises |= std::isfinite(v) && std::isinf(std::exp(v));
      if (x.function == Function::sin || x.function == Function::cos || x.function == Function::tan) raises |= std::isinf(v);
    });
    return raises;
  }

  // Top down: the largest invariant subexpressions become lets.
  struct Hoist : ExprMutator<Hoist> {
    explicit Hoist(Hoister& h) : h(h) {}
    ExprPtr on_literal(const ExprPtr& e) { return e; }
    ExprPtr on_local(const ExprPtr& e) { return e; }
    ExprPtr otherwise(const ExprPtr& e) {
      if (!h.invariant(e) || h.can_raise(e)) return rebuild(e);
      auto [it, fresh] = h.index_.emplace(print(e), h.hoisted_.size());
      if (fresh) {
        std::string name;
        do name = "inv." + std::to_string(h.counter_++); while (h.names_.count(name));
        h.names_.insert(name);
        h.lets_.insert(name);
        h.hoisted_.push_back(make_let(name, e));
      }
      return local(h.hoisted_[it->second].name, e->type);
    }
    Hoister& h;
  };

  Block rewrite(const Block& in) {
    struct Rewrite : StmtMutator<Rewrite> {
      explicit Rewrite(Hoister& h) : h(h) {}
      ExprPtr expr(const ExprPtr& e) { return Hoist(h).mutate(e); }
      Hoister& h;
    };
    return Rewrite(*this).block(in);
  }

  std::set<std::string> names_, lets_;
  std::map<std::string, ExprPtr> let_values_;  // the kernel-level lets
  std::vector<Stmt> hoisted_;                    // the lets for the current loop, in order
  std::map<std::string, std::size_t> index_;     // by the expression's text: equal ones share a let
  int counter_ = 0;
};

}  // namespace

Kernel hoist_invariants(const Kernel& kernel) {
  Kernel out = kernel;
  out.body = Hoister(kernel).run(kernel.body);
  verify(out);
  return out;
}

}  // namespace asp::stencil
