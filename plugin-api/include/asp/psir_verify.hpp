// asp/psir_verify.hpp — the invariants of well-formed PSIR. Runs after every
// pass that produces PSIR; a code generator may assume all of them.
//
//  - names are identifiers, unique among parameters, never reused while in
//    scope (no shadowing) and never a type, keyword or intrinsic name;
//  - buffer extents and strides name i64 scalar parameters or are positive constants;
//  - every expression is typed consistently: operands of one type, indices
//    i64, conditions bool, intrinsics with their arity and operand types;
//  - assignments target mutable locals (`var`) declared outside no parallel
//    loop they sit in (that would race: use a reduction), reductions use + * min max;
//  - loops step by a positive constant; GPU loop kinds name dimension 0, 1 or 2,
//    have bounds the launch grid can be computed from (integer scalar
//    parameters and constants) and do not nest in a GPU loop of their own
//    kind and dimension (the two would take the same index);
//  - a run check (`requires`) is a bool expression over scalar parameters.
#pragma once

#include <asp/psir.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace asp::psir {

class VerifyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Why `e` cannot bound a GPU loop ("" when it can): the core sizes the launch
// grid from the bounds of GPU loops before the launch, so they may use only
// integer scalar parameters and constants.
inline std::string gpu_bound_problem(const Function& f, const ExprPtr& e) {
  std::string problem;
  auto check = [&](const Expr& x) {
    if (!problem.empty()) return;
    if (x.kind == Expr::Kind::load) problem = "read memory";
    if (x.kind == Expr::Kind::var) {
      const Param* p = f.param(x.name);
      if (!p || p->kind != Param::Kind::scalar || !is_integer(p->type)) {
        problem = "use '" + x.name + "', which is not an integer scalar parameter";
      }
    }
  };
  for_each_expr(e, check);
  return problem;
}

// ---- device launches (ABI 1.4) ---------------------------------------------
//
// A device function runs as one launch, or as several in order on one queue
// when its body, after its leading lets, holds a top-level gpu_block loop nest
// and anything else: each top-level gpu_block loop is a launch sized by its
// own gpu loops, and each run of other top-level statements between them is
// a single-thread launch. Launch i of function f is the kernel
// asp_entry_<f>_launch<i>: f's parameters, its leading lets (evaluated again
// in every launch) and that part of its body. A launch starts when the one
// before it has finished, so the parts see each other's stores in order.
// The core sizes and runs the launches, the device code generators emit
// them: both split a function here.

namespace launch_detail {

inline std::size_t leading_lets(const Function& f) {
  std::size_t lets = 0;
  while (lets < f.body.size() && f.body[lets].kind == Stmt::Kind::let) ++lets;
  return lets;
}

inline bool is_gpu_nest(const Stmt& s) { return s.kind == Stmt::Kind::loop && s.loop->kind == LoopKind::gpu_block; }

// The part of each top-level statement after the leading lets: a gpu_block
// loop is a part of its own, the statements between two of them share one.
inline std::vector<std::size_t> parts(const Function& f, std::size_t lets) {
  std::vector<std::size_t> part(f.body.size(), 0);
  std::size_t count = 0;
  for (std::size_t i = lets; i < f.body.size(); ++i) {
    const bool joins = i > lets && !is_gpu_nest(f.body[i]) && !is_gpu_nest(f.body[i - 1]);
    part[i] = joins ? part[i - 1] : count++;
  }
  return part;
}

// Whether `block` reads local `name` or assigns or reduces into it, at any depth.
inline bool uses(const Block& block, const std::string& name) {
  struct Uses : StmtWalker<Uses> {
    explicit Uses(const std::string& n) : name(n) {}
    void expr(const ExprPtr& e) {
      ir::walk(e, [&](const Expr& x) { found |= x.kind == Expr::Kind::var && x.name == name; });
    }
    void on_assign(const Stmt& s) {
      found |= s.name == name;
      descend(s);
    }
    void on_reduce(const Stmt& s) { on_assign(s); }
    const std::string& name;
    bool found = false;
  } walker(name);
  walker.block(block);
  return walker.found;
}

}  // namespace launch_detail

// Why `f` cannot run as several launches ("" when it can): a launch sees only
// the parameters, so a name one part declares must not be used in another,
// and the leading lets, evaluated again by each launch, must not read memory
// that an earlier launch may have written.
inline std::string device_split_problem(const Function& f) {
  const std::size_t lets = launch_detail::leading_lets(f);
  for (std::size_t i = 0; i < lets; ++i) {
    bool reads = false;
    auto load = [&](const Expr& e) { reads |= e.kind == Expr::Kind::load; };
    for_each_expr(f.body[i].value, load);
    if (reads) return "its leading let '" + f.body[i].name + "' reads memory, which a later launch would read again";
  }
  const std::vector<std::size_t> part = launch_detail::parts(f, lets);
  for (std::size_t i = lets; i < f.body.size(); ++i) {
    const Stmt& s = f.body[i];
    if (s.kind != Stmt::Kind::let && s.kind != Stmt::Kind::decl) continue;
    for (std::size_t j = i + 1; j < f.body.size(); ++j) {
      if (part[j] == part[i]) continue;
      if (launch_detail::uses(Block{f.body[j]}, s.name)) {
        return std::string(s.kind == Stmt::Kind::let ? "the let '" : "the var declaration '") + s.name +
               "' of one launch is used by a later one";
      }
    }
  }
  return "";
}

// The launches of `f`, in order: {f} itself when it is one launch (no
// top-level gpu_block loop, or one with only lets besides it, or a body that
// device_split_problem refuses), else one function per part, named
// <f>_launch<i>, with f's parameters, its leading lets and no run check (the
// variant's check chose it already).
inline std::vector<Function> device_launches(const Function& f) {
  const std::size_t lets = launch_detail::leading_lets(f);
  const bool any_gpu = std::any_of(f.body.begin() + static_cast<std::ptrdiff_t>(lets), f.body.end(), launch_detail::is_gpu_nest);
  if (!any_gpu || f.body.size() - lets == 1 || !device_split_problem(f).empty()) return {f};
  const std::vector<std::size_t> part = launch_detail::parts(f, lets);
  std::vector<Function> out;
  for (std::size_t i = lets; i < f.body.size(); ++i) {
    if (part[i] == out.size()) {
      Function launch;
      launch.name = f.name + "_launch" + std::to_string(part[i]);
      launch.params = f.params;
      launch.kernel = f.kernel;
      launch.body.assign(f.body.begin(), f.body.begin() + static_cast<std::ptrdiff_t>(lets));
      out.push_back(std::move(launch));
    }
    out.back().body.push_back(f.body[i]);
  }
  return out;
}

namespace verify_detail {

inline bool is_identifier(const std::string& name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

inline bool is_reserved(const std::string& name) {
  // Words that would be ambiguous where a name can stand (statement starts, expressions).
  static const std::set<std::string> keywords = {"func", "for", "let", "var", "store", "if", "else", "select",
                                                 "neg", "not", "bitnot", "true", "false", "inf", "nan"};
  return keywords.count(name) || parse_type(name) || find_intrinsic(name);
}

struct Symbol {
  Type type;
  bool mutable_;
  int parallel_depth;  // how many parallel loops enclose its declaration
};

class Verifier : public asp::ir::Exhaustive {
 public:
  explicit Verifier(const Function& f, std::string what = "function") : f_(f), what_(std::move(what)) {}

  void run() {
    std::set<std::string> seen;
    scopes_.emplace_back();
    for (const Param& p : f_.params) {
      name_ok(p.name, "parameter");
      if (!seen.insert(p.name).second) fail("parameter '" + p.name + "' is declared twice");
      if (p.kind == Param::Kind::scalar) scopes_.back()[p.name] = {p.type, false, 0};
    }
    for (const Param& p : f_.params) {
      if (p.kind != Param::Kind::buffer) continue;
      buffers_[p.name] = &p;
      if (p.shape.empty()) fail("buffer '" + p.name + "' has no dimensions");
      if (!p.strides.empty() && p.strides.size() != p.shape.size()) {
        fail("buffer '" + p.name + "' has " + std::to_string(p.shape.size()) + " dimensions but " +
             std::to_string(p.strides.size()) + " strides");
      }
      for (const auto* list : {&p.shape, &p.strides}) {
        for (const Extent& x : *list) extent_ok(p, x);
      }
    }
    if (f_.requires_) {
      if (type_of(f_.requires_) != Type::boolean) fail("the run check must be a bool expression");
      bool reads_memory = false;
      auto find_load = [&](const Expr& e) { reads_memory |= e.kind == Expr::Kind::load; };
      for_each_expr(f_.requires_, find_load);
      if (reads_memory) fail("the run check may use scalar parameters only, not buffer contents");
    }
    block(f_.body);
  }

 protected:
  [[noreturn]] void fail(const std::string& message) const {
    throw VerifyError(what_ + " '" + f_.name + "': " + message);
  }

  void name_ok(const std::string& name, const char* what) const {
    if (!is_identifier(name)) fail(std::string(what) + " name '" + name + "' is not an identifier");
    if (is_reserved(name)) fail(std::string(what) + " name '" + name + "' is reserved");
  }

  void extent_ok(const Param& p, const Extent& x) const {
    if (const auto* n = std::get_if<std::int64_t>(&x)) {
      if (*n <= 0) fail("buffer '" + p.name + "' has a non-positive constant extent " + std::to_string(*n));
      return;
    }
    const Param* q = f_.param(std::get<std::string>(x));
    if (!q || q->kind != Param::Kind::scalar || q->type != Type::i64) {
      fail("buffer '" + p.name + "': extent '" + std::get<std::string>(x) + "' is not an i64 scalar parameter");
    }
  }

  const Symbol* lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (auto found = it->find(name); found != it->end()) return &found->second;
    }
    return nullptr;
  }

  void declare(const std::string& name, Symbol symbol, const char* what) {
    name_ok(name, what);
    if (lookup(name) || buffers_.count(name)) fail(std::string(what) + " '" + name + "' shadows a name already in scope");
    scopes_.back()[name] = symbol;
  }

  Type type_of(const ExprPtr& e) const {
    if (!e) fail("an expression is missing");
    return TypeOf{*this}.visit(e);
  }

  // The type checker of expressions: every kind, none by default.
  struct TypeOf : ExprFunction<TypeOf, Type>, asp::ir::Exhaustive {
    explicit TypeOf(const Verifier& v) : v(v) {}
    const Verifier& v;

    Type on_constant(const ExprPtr& e) {
      const bool ok = is_float(e->type)      ? std::holds_alternative<double>(e->value)
                      : is_signed(e->type)   ? std::holds_alternative<std::int64_t>(e->value)
                      : is_unsigned(e->type) ? std::holds_alternative<std::uint64_t>(e->value)
                                             : std::holds_alternative<bool>(e->value);
      if (!ok) v.fail(std::string("a constant of type ") + type_name(e->type) + " holds a value of another kind");
      return e->type;
    }
    Type on_var(const ExprPtr& e) {
      const Symbol* s = v.lookup(e->name);
      if (!s) v.fail("variable '" + e->name + "' is not defined here");
      if (s->type != e->type) v.fail("variable '" + e->name + "' is used with the wrong type");
      return e->type;
    }
    Type on_load(const ExprPtr& e) {
      v.indices_ok(e->name, e->args, e->type, "load from");
      return e->type;
    }
    Type on_unary(const ExprPtr& e) {
      const Type a = v.type_of(e->args.at(0));
      const std::string op(spelling(e->unary_op));
      switch (e->unary_op) {
        case UnaryOp::neg:
          if (a == Type::boolean) v.fail("neg of a bool");
          break;
        case UnaryOp::not_:
          if (a != Type::boolean) v.fail("not of a non-bool");
          break;
        case UnaryOp::bitnot:
          if (!is_integer(a)) v.fail("bitnot of a non-integer");
          break;
        default: v.fail("unknown unary operator " + std::to_string(static_cast<int>(e->unary_op)));
      }
      if (e->type != a) v.fail("unary '" + op + "' has the wrong result type");
      return a;
    }
    Type on_binary(const ExprPtr& e) {
      const std::string op(spelling(e->binary_op));
      if (e->args.size() != 2) v.fail("binary '" + op + "' needs two operands");
      const Type a = v.type_of(e->args[0]), b = v.type_of(e->args[1]);
      if (a != b) {
        v.fail("operands of '" + op + "' differ in type (" + type_name(a) + " and " + type_name(b) + "); cast one");
      }
      Type result = a;
      if (!parse_binary_op(op)) {
        v.fail("unknown binary operator " + std::to_string(static_cast<int>(e->binary_op)));
      } else if (is_comparison(e->binary_op)) {
        result = Type::boolean;
      } else if (is_logical(e->binary_op)) {
        if (a != Type::boolean) v.fail("operands of '" + op + "' must be bool");
      } else if (is_bitwise(e->binary_op)) {
        if (!is_integer(a)) v.fail("operator '" + op + "' needs integer operands");
      } else if (a == Type::boolean) {
        v.fail("arithmetic '" + op + "' on bool");
      }
      if (e->type != result) v.fail("binary '" + op + "' has the wrong result type");
      return result;
    }
    Type on_select(const ExprPtr& e) {
      if (e->args.size() != 3) v.fail("select needs three operands");
      if (v.type_of(e->args[0]) != Type::boolean) v.fail("select's condition must be bool");
      const Type a = v.type_of(e->args[1]), b = v.type_of(e->args[2]);
      if (a != b || e->type != a) v.fail("select's arms must have one type");
      return a;
    }
    Type on_cast(const ExprPtr& e) {
      if (e->args.size() != 1) v.fail("a cast takes one operand");
      if (e->raises && !may_raise(*e)) v.fail("only a cast of a float to an integer type may raise (@line)");
      v.type_of(e->args[0]);
      return e->type;
    }
    Type on_call(const ExprPtr& e) {
      const IntrinsicInfo* in = nullptr;
      for (const IntrinsicInfo& i : intrinsics) {
        if (i.id == e->intrinsic) in = &i;
      }
      if (!in) v.fail("unknown intrinsic " + std::to_string(static_cast<int>(e->intrinsic)));
      const std::string name(in->name);
      if (e->raises && !may_raise(*e)) v.fail("intrinsic '" + name + "' never raises (@line)");
      if (static_cast<int>(e->args.size()) != in->arity) {
        v.fail("intrinsic '" + name + "' takes " + std::to_string(in->arity) + " operand(s)");
      }
      const Type a = v.type_of(e->args[0]);
      for (const ExprPtr& arg : e->args) {
        if (v.type_of(arg) != a) v.fail("operands of '" + name + "' differ in type");
      }
      if (in->float_only && !is_float(a)) v.fail("intrinsic '" + name + "' needs a floating-point operand");
      if (a == Type::boolean) v.fail("intrinsic '" + name + "' of a bool");
      if (e->type != a) v.fail("intrinsic '" + name + "' has the wrong result type");
      return a;
    }
  };

  void indices_ok(const std::string& buffer, const std::vector<ExprPtr>& indices, Type element, const char* what) const {
    auto it = buffers_.find(buffer);
    if (it == buffers_.end()) fail(std::string(what) + " unknown buffer '" + buffer + "'");
    const Param& p = *it->second;
    if (indices.size() != p.shape.size()) {
      fail(std::string(what) + " '" + buffer + "' with " + std::to_string(indices.size()) + " indices; it has " +
           std::to_string(p.shape.size()) + " dimensions");
    }
    for (const ExprPtr& i : indices) {
      if (type_of(i) != Type::i64) fail(std::string("indices of '") + buffer + "' must be i64");
    }
    if (element != p.type) {
      fail(std::string(what) + " '" + buffer + "' as " + type_name(element) + "; its elements are " + type_name(p.type));
    }
  }

  void gpu_loop_ok(const Loop& l, int slot) const {
    const char* kind = loop_kind_name(l.kind);
    if (gpu_enclosing_[slot]) {
      fail(std::string(kind) + " loop '" + l.var + "' is nested in another " + kind + " loop of dimension " +
           std::to_string(l.dim));
    }
    for (const ExprPtr& bound : {l.lower, l.upper}) {
      if (const std::string why = gpu_bound_problem(f_, bound); !why.empty()) {
        fail("the bounds of GPU loop '" + l.var + "' " + why + " (the launch grid is sized from them)");
      }
    }
  }

  void block(const Block& b) {
    scopes_.emplace_back();
    for (const Stmt& s : b) stmt(s);
    scopes_.pop_back();
  }

  void stmt(const Stmt& s) { dispatch(*this, s); }

 public:
  // The statement checks: every kind, none by default.

  void on_loop(const Stmt& s) {
    if (!s.loop) fail("a loop statement without its loop");
    const Loop& l = *s.loop;
    if (type_of(l.lower) != Type::i64 || type_of(l.upper) != Type::i64) {
      fail("bounds of loop '" + l.var + "' must be i64");
    }
    if (l.step <= 0) fail("loop '" + l.var + "' must step by a positive constant");
    const bool gpu = l.kind == LoopKind::gpu_block || l.kind == LoopKind::gpu_thread;
    if (gpu && (l.dim < 0 || l.dim > 2)) fail("GPU loop '" + l.var + "' must name dimension 0, 1 or 2");
    if (!gpu && l.dim != 0) fail("loop '" + l.var + "' names a GPU dimension but is " + loop_kind_name(l.kind));
    const int gpu_slot = gpu ? (l.kind == LoopKind::gpu_block ? 0 : 3) + l.dim : -1;
    if (gpu) gpu_loop_ok(l, gpu_slot);
    const bool parallel = l.kind == LoopKind::parallel || gpu;
    parallel_depth_ += parallel;
    if (gpu) gpu_enclosing_[gpu_slot] = true;
    scopes_.emplace_back();
    declare(l.var, {Type::i64, false, parallel_depth_}, "loop variable");
    block(l.body);
    scopes_.pop_back();
    if (gpu) gpu_enclosing_[gpu_slot] = false;
    parallel_depth_ -= parallel;
  }
  void on_let(const Stmt& s) {
    if (type_of(s.value) != s.type) fail("'" + s.name + "' is declared " + type_name(s.type) + " but given a " + type_name(s.value->type));
    declare(s.name, {s.type, s.kind == Stmt::Kind::decl, parallel_depth_}, s.kind == Stmt::Kind::let ? "let" : "var");
  }
  void on_decl(const Stmt& s) { on_let(s); }
  void on_assign(const Stmt& s) {
    const Symbol* target = lookup(s.name);
    if (!target) fail("assignment to undefined '" + s.name + "'");
    if (!target->mutable_) fail("assignment to '" + s.name + "', which is not a var");
    if (type_of(s.value) != target->type) fail("assignment of the wrong type to '" + s.name + "'");
    if (s.kind == Stmt::Kind::assign && target->parallel_depth < parallel_depth_) {
      fail("'" + s.name + "' is assigned inside a parallel loop but declared outside it (a race); use a reduction");
    }
  }
  void on_reduce(const Stmt& s) {
    on_assign(s);
    if (!parse_reduce_op(spelling(s.reduce_op))) fail("unknown reduction " + std::to_string(static_cast<int>(s.reduce_op)));
    if (lookup(s.name)->type == Type::boolean) fail("reduction of a bool");
  }
  void on_store(const Stmt& s) { indices_ok(s.name, s.indices, type_of(s.value), "store to"); }
  void on_if(const Stmt& s) {
    if (type_of(s.value) != Type::boolean) fail("an if condition must be bool");
    block(s.then_block);
    block(s.else_block);
  }

 protected:
  const Function& f_;
  std::string what_;
  std::vector<std::map<std::string, Symbol>> scopes_;
  std::map<std::string, const Param*> buffers_;
  int parallel_depth_ = 0;
  bool gpu_enclosing_[6] = {};  // gpu_block dimensions 0-2, then gpu_thread dimensions 0-2
};

// The host schedule of a program, checked in the scope of the program's
// parameters and temporaries (`frame`, a function without a body).
class ScheduleVerifier : public Verifier {
 public:
  ScheduleVerifier(const Function& frame, const Module& m) : Verifier(frame, "program"), m_(m) {}

  void schedule(const Schedule& body, const std::vector<ExprPtr>& tuning_key = {}) {
    run();  // parameters, temporaries, extents
    for (const ExprPtr& e : tuning_key) {
      const Type t = type_of(e);
      if (t == Type::boolean) fail("a tuning key is numeric, not bool");
      bool reads_memory = false;
      auto find_load = [&](const Expr& x) { reads_memory |= x.kind == Expr::Kind::load; };
      for_each_expr(e, find_load);
      if (reads_memory) fail("a tuning key reads only scalar parameters, not buffers");
    }
    host_block(body);
  }

 private:
  void host_block(const Schedule& body) {
    scopes_.emplace_back();
    for (const HostStmt& s : body) host_stmt(s);
    scopes_.pop_back();
  }

  void host_name_ok(const std::string& name) const {
    static const std::set<std::string> keywords = {"launch", "comm", "break", "temp"};
    if (keywords.count(name)) fail("host variable name '" + name + "' is reserved");
  }

  void host_stmt(const HostStmt& s) { dispatch(*this, s); }

 public:
  // The schedule checks: every kind of host statement, none by default.
  void on_launch(const HostStmt& s) {
    const KernelDecl* k = m_.kernel(s.name);
    if (!k) fail("launch of undeclared kernel '" + s.name + "'");
    if (s.args.size() != k->params.size()) {
      fail("launch " + s.name + " passes " + std::to_string(s.args.size()) + " argument(s); the kernel takes " +
           std::to_string(k->params.size()));
    }
    for (std::size_t i = 0; i < s.args.size(); ++i) {
      const Param& want = k->params[i];
      const std::string where = "launch " + s.name + ", argument " + std::to_string(i + 1) + " ('" + want.name + "'): ";
      if (want.kind == Param::Kind::buffer) {
        auto it = buffers_.find(s.args[i]);
        if (it == buffers_.end()) fail(where + "'" + s.args[i] + "' is not a buffer of the program");
        if (it->second->type != want.type || it->second->shape.size() != want.shape.size()) {
          fail(where + "'" + s.args[i] + "' is a " + type_name(it->second->type) + " buffer of " +
               std::to_string(it->second->shape.size()) + " dimension(s); the kernel takes " + type_name(want.type) +
               " of " + std::to_string(want.shape.size()));
        }
      } else {
        const Symbol* v = lookup(s.args[i]);
        if (!v) fail(where + "'" + s.args[i] + "' is not a scalar in scope");
        if (v->type != want.type) {
          fail(where + "'" + s.args[i] + "' is " + type_name(v->type) + "; the kernel takes " + type_name(want.type));
        }
      }
    }
  }
  void on_comm(const HostStmt& s) {
    for (const std::string& a : s.args) {
      if (!buffers_.count(a) && !lookup(a)) fail("comm " + s.name + " names '" + a + "', which is not in scope");
    }
  }
  void on_let(const HostStmt& s) {
    host_name_ok(s.name);
    if (type_of(s.value) != s.type) fail("'" + s.name + "' is declared " + type_name(s.type) + " but given another type");
    declare(s.name, {s.type, s.kind == HostStmt::Kind::decl, 0}, s.kind == HostStmt::Kind::let ? "let" : "var");
  }
  void on_decl(const HostStmt& s) { on_let(s); }
  void on_assign(const HostStmt& s) {
    const Symbol* target = lookup(s.name);
    if (!target) fail("assignment to undefined '" + s.name + "'");
    if (!target->mutable_) fail("assignment to '" + s.name + "', which is not a var");
    if (type_of(s.value) != target->type) fail("assignment of the wrong type to '" + s.name + "'");
  }
  void on_loop(const HostStmt& s) {
    host_name_ok(s.name);
    if (type_of(s.value) != Type::i64 || type_of(s.upper) != Type::i64) fail("bounds of loop '" + s.name + "' must be i64");
    scopes_.emplace_back();
    declare(s.name, {Type::i64, false, 0}, "loop variable");
    ++loops_;
    host_block(s.body);
    --loops_;
    scopes_.pop_back();
  }
  void on_if(const HostStmt& s) {
    if (type_of(s.value) != Type::boolean) fail("an if condition must be bool");
    host_block(s.body);
    host_block(s.else_body);
  }
  void on_break(const HostStmt&) {
    if (loops_ == 0) fail("break outside a loop");
  }

 private:
  const Module& m_;
  int loops_ = 0;
};

inline bool same_param(const Param& a, const Param& b) {
  return a.kind == b.kind && a.name == b.name && a.type == b.type && a.shape == b.shape && a.strides == b.strides;
}

}  // namespace verify_detail

// Throws VerifyError naming the function and the first broken invariant.
inline void verify(const Function& f) { verify_detail::Verifier(f).run(); }

inline void verify(const Module& m) {
  using namespace verify_detail;
  std::set<std::string> names;
  for (const KernelDecl& k : m.kernels) {
    if (!is_identifier(k.name) || is_reserved(k.name)) throw VerifyError("kernel name '" + k.name + "' is not an identifier");
    if (!names.insert(k.name).second) throw VerifyError("kernel '" + k.name + "' is declared twice");
    Function signature{k.name, k.params};
    Verifier(signature, "kernel").run();
    for (const std::string& w : k.writes) {
      const Param* p = k.param(w);
      if (!p || p->kind != Param::Kind::buffer) throw VerifyError("kernel '" + k.name + "' writes '" + w + "', which is not one of its buffers");
    }
  }
  if (m.kernels.empty() != !m.program) {
    throw VerifyError(m.program ? "the program declares no kernel" : "kernels are declared but there is no program to launch them");
  }
  for (const Function& f : m.functions) {
    if (!names.insert(f.name).second) throw VerifyError("function '" + f.name + "' is defined twice");
    if (!is_identifier(f.name)) throw VerifyError("function name '" + f.name + "' is not an identifier");
    verify(f);
    if (f.kernel.empty() && m.program) throw VerifyError("function '" + f.name + "' is a variant of no kernel of the program");
    if (f.kernel.empty()) continue;
    const KernelDecl* k = m.kernel(f.kernel);
    if (!k) throw VerifyError("function '" + f.name + "' is a variant of undeclared kernel '" + f.kernel + "'");
    if (f.params.size() != k->params.size() || !std::equal(f.params.begin(), f.params.end(), k->params.begin(), same_param)) {
      throw VerifyError("function '" + f.name + "' has other parameters than its kernel '" + k->name + "'");
    }
    for (const std::string& b : stored_buffers(f.body)) {
      if (std::find(k->writes.begin(), k->writes.end(), b) == k->writes.end()) {
        throw VerifyError("function '" + f.name + "' stores into '" + b + "', which kernel '" + k->name + "' does not declare in writes(...)");
      }
    }
  }
  if (m.program) {
    Function frame{"program", m.program->params};
    frame.params.insert(frame.params.end(), m.program->temporaries.begin(), m.program->temporaries.end());
    ScheduleVerifier(frame, m).schedule(m.program->schedule, m.program->tuning_key);
  }
}

}  // namespace asp::psir
