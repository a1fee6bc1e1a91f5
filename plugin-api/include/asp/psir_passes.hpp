// asp/psir_passes.hpp — generic PSIR passes every backend and lowering can use:
// constant folding, loop unrolling by a factor, strip-mining, loop tiling
// (cache blocking) and loop interchange. Each pass returns a new Function and
// leaves its input alone; run them through run_pass(), which verifies the result.
//
// Folding keeps float results bitwise identical to what the generated code
// would compute: only constant operands are folded, in the operand's own
// precision, and no algebraic identity that could change a float (x + 0.0 is
// not x when x is -0.0) is applied.
#pragma once

#include <asp/psir.hpp>
#include <asp/psir_verify.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>

namespace asp::psir {

// A pass asked for something that does not exist or is not legal here.
class PassError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs `pass` on `f` and verifies the result (DESIGN.md §5: after every pass).
template <class Pass>
Function run_pass(const Function& f, Pass&& pass) {
  Function out = pass(f);
  verify(out);
  return out;
}

// ---- rewriting helpers -----------------------------------------------------------

// Rebuilds an expression bottom-up; `rewrite` sees each node after its operands
// were rewritten. Unchanged subtrees are shared.
inline ExprPtr rewrite_expr(const ExprPtr& e, const std::function<ExprPtr(ExprPtr)>& rewrite) {
  return ir::rewrite(e, [&](const ExprPtr& x) { return rewrite(x); });
}

// Applies `rewrite` to every expression of a block, nested blocks included.
inline Block rewrite_block(const Block& block, const std::function<ExprPtr(ExprPtr)>& rewrite) {
  struct Rewriter : StmtMutator<Rewriter> {
    explicit Rewriter(const std::function<ExprPtr(ExprPtr)>& r) : rewrite(r) {}
    ExprPtr expr(const ExprPtr& e) { return rewrite_expr(e, rewrite); }
    const std::function<ExprPtr(ExprPtr)>& rewrite;
  };
  return Rewriter(rewrite).block(block);
}

// Replaces variable `name` by `with` everywhere in `block`.
inline Block substitute(const Block& block, const std::string& name, const ExprPtr& with) {
  return rewrite_block(block, [&](ExprPtr e) { return e->kind == Expr::Kind::var && e->name == name ? with : e; });
}

// ---- constant folding ------------------------------------------------------------

namespace pass_detail {

template <class T>
std::optional<Value> fold_arith(BinaryOp op, T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (op == BinaryOp::add) return Value(static_cast<double>(static_cast<T>(a + b)));
    if (op == BinaryOp::sub) return Value(static_cast<double>(static_cast<T>(a - b)));
    if (op == BinaryOp::mul) return Value(static_cast<double>(static_cast<T>(a * b)));
    if (op == BinaryOp::div) return Value(static_cast<double>(static_cast<T>(a / b)));
  } else {
    using U = std::make_unsigned_t<T>;  // wrap instead of signed overflow
    if (op == BinaryOp::add) return Value(static_cast<T>(static_cast<U>(a) + static_cast<U>(b)));
    if (op == BinaryOp::sub) return Value(static_cast<T>(static_cast<U>(a) - static_cast<U>(b)));
    if (op == BinaryOp::mul) return Value(static_cast<T>(static_cast<U>(a) * static_cast<U>(b)));
    const bool overflow = std::is_signed_v<T> && a == std::numeric_limits<T>::min() && b == T(-1);
    if ((op == BinaryOp::div || op == BinaryOp::rem) && (b == 0 || overflow)) return std::nullopt;  // left for run time
    if (op == BinaryOp::div) return Value(static_cast<T>(a / b));
    if (op == BinaryOp::rem) return Value(static_cast<T>(a % b));
  }
  switch (op) {
    case BinaryOp::eq: return Value(a == b);
    case BinaryOp::ne: return Value(a != b);
    case BinaryOp::lt: return Value(a < b);
    case BinaryOp::le: return Value(a <= b);
    case BinaryOp::gt: return Value(a > b);
    case BinaryOp::ge: return Value(a >= b);
    default: return std::nullopt;
  }
}

// Folds a binary operator on two constants of one 64-bit integer, f64 or f32 type.
inline ExprPtr fold_binary(const ExprPtr& e) {
  const Expr& a = *e->args[0];
  const Expr& b = *e->args[1];
  if (a.kind != Expr::Kind::constant || b.kind != Expr::Kind::constant) return e;
  std::optional<Value> v;
  switch (a.type) {
    case Type::f64: v = fold_arith<double>(e->binary_op, std::get<double>(a.value), std::get<double>(b.value)); break;
    case Type::f32:
      v = fold_arith<float>(e->binary_op, static_cast<float>(std::get<double>(a.value)), static_cast<float>(std::get<double>(b.value)));
      break;
    case Type::i64: v = fold_arith<std::int64_t>(e->binary_op, std::get<std::int64_t>(a.value), std::get<std::int64_t>(b.value)); break;
    case Type::u64: v = fold_arith<std::uint64_t>(e->binary_op, std::get<std::uint64_t>(a.value), std::get<std::uint64_t>(b.value)); break;
    case Type::boolean:
      if (e->binary_op == BinaryOp::and_) v = Value(std::get<bool>(a.value) && std::get<bool>(b.value));
      if (e->binary_op == BinaryOp::or_) v = Value(std::get<bool>(a.value) || std::get<bool>(b.value));
      break;
    default: break;  // narrower integers promote in C; leave them to the compiler
  }
  return v ? constant(e->type, *v) : e;
}

inline bool is_const(const ExprPtr& e, std::int64_t n) {
  return e->kind == Expr::Kind::constant && e->type == Type::i64 && std::get<std::int64_t>(e->value) == n;
}

// Integer identities only: each is exact for i64.
inline ExprPtr simplify_i64(const ExprPtr& e) {
  if (e->kind != Expr::Kind::binary || e->type != Type::i64) return e;
  const ExprPtr &a = e->args[0], &b = e->args[1];
  const BinaryOp op = e->binary_op;
  if (op == BinaryOp::add && is_const(b, 0)) return a;
  if (op == BinaryOp::add && is_const(a, 0)) return b;
  if (op == BinaryOp::sub && is_const(b, 0)) return a;
  if (op == BinaryOp::mul && is_const(b, 1)) return a;
  if (op == BinaryOp::mul && is_const(a, 1)) return b;
  return e;
}

// Folds each node after its operands were folded.
struct Folder : ExprMutator<Folder> {
  ExprPtr on_binary(const ExprPtr& e) { return simplify_i64(fold_binary(rebuild(e))); }
  ExprPtr on_unary(const ExprPtr& original) {
    const ExprPtr e = rebuild(original);
    const Expr& a = *e->args[0];
    if (a.kind != Expr::Kind::constant) return e;
    if (e->unary_op == UnaryOp::not_) return boolean(!std::get<bool>(a.value));
    if (e->unary_op == UnaryOp::neg && is_float(a.type)) return constant(a.type, -std::get<double>(a.value));
    if (e->unary_op == UnaryOp::neg && a.type == Type::i64) {
      return i64(static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(std::get<std::int64_t>(a.value))));
    }
    return e;
  }
  ExprPtr on_select(const ExprPtr& original) {
    const ExprPtr e = rebuild(original);
    if (e->args[0]->kind == Expr::Kind::constant) return std::get<bool>(e->args[0]->value) ? e->args[1] : e->args[2];
    return e;
  }
  ExprPtr on_cast(const ExprPtr& original) {
    const ExprPtr e = rebuild(original);
    const Expr& a = *e->args[0];
    if (a.kind != Expr::Kind::constant) return e;
    if (e->type == a.type) return e->args[0];
    if (e->type == Type::f64 && a.type == Type::i64) return f64(static_cast<double>(std::get<std::int64_t>(a.value)));
    if (e->type == Type::f64 && a.type == Type::f32) return f64(std::get<double>(a.value));
    if (e->type == Type::f32 && a.type == Type::f64) return f32(static_cast<float>(std::get<double>(a.value)));
    return e;  // float -> int can be undefined out of range: leave it to run time
  }
};

// Folds every expression, drops loops that run zero times and splices the
// taken branch of an if decided at compile time.
struct BlockFolder : StmtMutator<BlockFolder> {
  ExprPtr expr(const ExprPtr& e) { return Folder().mutate(e); }
  void on_if(const Stmt& original, Block& out) {
    Stmt s = rebuild(original);
    if (s.value->kind != Expr::Kind::constant) {
      out.push_back(std::move(s));
      return;
    }
    // A branch decided at compile time. Its statements join this block unless
    // it declares locals, whose names could then clash with later ones here.
    Block taken = std::get<bool>(s.value->value) ? std::move(s.then_block) : std::move(s.else_block);
    const bool declares = std::any_of(taken.begin(), taken.end(), [](const Stmt& t) {
      return t.kind == Stmt::Kind::let || t.kind == Stmt::Kind::decl;
    });
    if (declares) {
      out.push_back(make_if(boolean(true), std::move(taken)));
    } else {
      for (Stmt& t : taken) out.push_back(std::move(t));
    }
  }
  void on_loop(const Stmt& original, Block& out) {
    Stmt s = rebuild(original);
    const Loop& l = *s.loop;
    if (l.lower->kind == Expr::Kind::constant && l.upper->kind == Expr::Kind::constant &&
        std::get<std::int64_t>(l.lower->value) >= std::get<std::int64_t>(l.upper->value)) {
      return;  // runs zero times
    }
    out.push_back(std::move(s));
  }
};

}  // namespace pass_detail

inline Function fold_constants(const Function& f) {
  Function out = f;
  out.body = pass_detail::BlockFolder().block(f.body);
  if (f.requires_) out.requires_ = pass_detail::Folder().mutate(f.requires_);
  return out;
}

// ---- loop transformations -----------------------------------------------------------

namespace pass_detail {

// Replaces the first loop whose variable is `loop_var` by what `transform` returns.
struct LoopReplacer : StmtMutator<LoopReplacer> {
  LoopReplacer(const std::string& v, const std::function<Block(const Loop&)>& t) : loop_var(v), transform(t) {}
  void on_loop(const Stmt& s, Block& out) {
    if (s.loop->var != loop_var || found) {
      out.push_back(rebuild(s));
      return;
    }
    found = true;
    for (Stmt& r : transform(*s.loop)) out.push_back(std::move(r));
  }
  const std::string& loop_var;
  const std::function<Block(const Loop&)>& transform;
  bool found = false;
};

inline Function transform_loop(const Function& f, const std::string& loop_var,
                               const std::function<Block(const Loop&)>& transform) {
  LoopReplacer replacer(loop_var, transform);
  Function out = f;
  out.body = replacer.block(f.body);
  if (!replacer.found) throw PassError("function '" + f.name + "' has no loop over '" + loop_var + "'");
  return out;
}

// Renames every let, var and loop variable declared in `block` by appending `suffix`.
inline Block rename_locals(const Block& block, const std::string& suffix) {
  struct Collect : StmtWalker<Collect> {
    void on_let(const Stmt& s) { add(s.name); }
    void on_decl(const Stmt& s) { add(s.name); }
    void on_loop(const Stmt& s) {
      add(s.loop->var);
      descend(s);
    }
    void add(const std::string& name) { renamed[name] = name + suffix; }
    explicit Collect(const std::string& sfx) : suffix(sfx) {}
    const std::string& suffix;
    std::map<std::string, std::string> renamed;
  } collect(suffix);
  collect.block(block);
  if (collect.renamed.empty()) return block;
  struct Rename : StmtMutator<Rename> {
    explicit Rename(const std::map<std::string, std::string>& r) : renamed(r) {}
    ExprPtr expr(const ExprPtr& e) {
      return rewrite_expr(e, [&](ExprPtr x) {
        if (x->kind != Expr::Kind::var) return x;
        auto it = renamed.find(x->name);
        return it == renamed.end() ? x : var(it->second, x->type);
      });
    }
    void otherwise(const Stmt& original, Block& out) {
      Stmt s = rebuild(original);
      if (auto it = renamed.find(s.name); it != renamed.end() && s.kind != Stmt::Kind::store) s.name = it->second;
      if (s.loop) {
        Loop l = *s.loop;
        l.var = renamed.at(l.var);
        s.loop = std::make_shared<Loop>(std::move(l));
      }
      out.push_back(std::move(s));
    }
    const std::map<std::string, std::string>& renamed;
  };
  return Rename(collect.renamed).block(block);
}

inline ExprPtr plus(const ExprPtr& a, std::int64_t n) { return n == 0 ? a : add(a, i64(n)); }

}  // namespace pass_detail

// The loop variable as an expression.
inline ExprPtr var_of(const Loop& l) { return var(l.var, Type::i64); }

// Unrolls the loop over `var` by `factor`: a main loop whose body holds
// `factor` copies (locals renamed), then, unless `remainder` is false, a
// serial loop for the iterations left over. Without the remainder the result
// is only correct when the trip count is a multiple of `factor`: give the
// function a run check that says so.
inline Function unroll(const Function& f, const std::string& loop_var, int factor, bool remainder = true) {
  if (factor < 2) throw PassError("unroll factor must be at least 2");
  return pass_detail::transform_loop(f, loop_var, [&](const Loop& l) {
    const std::int64_t span = l.step * factor;
    Loop main = l;
    main.step = span;
    main.upper = sub(l.upper, i64(span - l.step));
    main.body.clear();
    for (int k = 0; k < factor; ++k) {
      Block copy = substitute(l.body, l.var, pass_detail::plus(var_of(l), k * l.step));
      if (k > 0) copy = pass_detail::rename_locals(copy, "_u" + std::to_string(k));
      for (Stmt& s : copy) main.body.push_back(std::move(s));
    }
    Block out{make_loop(main)};
    if (remainder) {
      // Start where the main loop stopped: lower + ((upper - lower) / span) * span.
      Loop rest = l;
      rest.kind = LoopKind::serial;
      rest.lower = add(l.lower, mul(binary(BinaryOp::div, sub(l.upper, l.lower), i64(span)), i64(span)));
      out.push_back(make_loop(rest));
    }
    return out;
  });
}

// Splits the loop over `var` into a loop over tiles of `size` iterations
// (variable `var`_t, the original kind) around a serial loop within the tile.
inline Function strip_mine(const Function& f, const std::string& loop_var, std::int64_t size) {
  if (size < 1) throw PassError("tile size must be positive");
  return pass_detail::transform_loop(f, loop_var, [&](const Loop& l) {
    Loop outer = l;
    outer.var = l.var + "_t";
    outer.step = l.step * size;
    Loop inner = l;
    inner.kind = l.kind == LoopKind::parallel ? LoopKind::serial : l.kind;
    inner.lower = var(outer.var, Type::i64);
    inner.upper = call(Intrinsic::min, {l.upper, add(var(outer.var, Type::i64), i64(outer.step))});
    outer.body = {make_loop(inner)};
    return Block{make_loop(outer)};
  });
}

// Swaps the loop over `outer` with the single loop nested directly in it.
// Legal when the inner loop's bounds do not use `outer` and the body carries
// no dependence between iterations that the new order would break (true of
// out-of-place stencils); the caller is responsible for the latter.
inline Function interchange(const Function& f, const std::string& outer) {
  return pass_detail::transform_loop(f, outer, [&](const Loop& l) {
    if (l.body.size() != 1 || l.body[0].kind != Stmt::Kind::loop) {
      throw PassError("loop '" + outer + "' is not perfectly nested around another loop");
    }
    const Loop& in = *l.body[0].loop;
    bool uses_outer = false;
    auto check = [&](const Expr& e) { uses_outer |= e.kind == Expr::Kind::var && e.name == outer; };
    for_each_expr(in.lower, check);
    for_each_expr(in.upper, check);
    if (uses_outer) throw PassError("the bounds of loop '" + in.var + "' depend on '" + outer + "'");
    Loop new_inner = l;
    new_inner.body = in.body;
    Loop new_outer = in;
    new_outer.body = {make_loop(new_inner)};
    return Block{make_loop(new_outer)};
  });
}

// Cache blocking of a perfect nest: strip-mines each loop in `vars` (outermost
// first) by its size and moves all tile loops outside the element loops.
inline Function tile(const Function& f, const std::vector<std::string>& vars, const std::vector<std::int64_t>& sizes) {
  if (vars.size() != sizes.size() || vars.empty()) throw PassError("tile needs one size per loop");
  Function out = f;
  for (size_t i = 0; i < vars.size(); ++i) out = strip_mine(out, vars[i], sizes[i]);
  // Now: v0_t { v0 { v1_t { v1 ... } } }. Bubble each tile loop outwards past the element loops before it.
  for (size_t i = 1; i < vars.size(); ++i) {
    for (size_t j = i; j-- > 0;) out = interchange(out, vars[j]);
  }
  return out;
}

}  // namespace asp::psir
