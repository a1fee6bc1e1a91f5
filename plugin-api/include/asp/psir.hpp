// asp/psir.hpp — the Kernel IR (PSIR) shared by every backend (DESIGN.md §5).
//
// A Module holds Functions (a kernel and its tunable variants) and, from
// version 2, may be a program (DESIGN.md §12): named kernels, each with a
// declared signature and its variants, and a host schedule the core runs
// natively (launches, loops with an exit condition, scalar arithmetic,
// communication statements). A Function
// has typed buffer and scalar parameters and a body of statements: loops with
// a kind (serial, parallel, vectorized, unrolled, GPU block/thread dimension),
// lets, mutable locals, assignments, reductions, stores and ifs. Expressions
// are constants, variables, loads (affine or indirect indices), unary and
// binary operators, selects, casts and intrinsic calls.
//
// Nodes are plain values; expressions are shared immutable trees, so passes
// rebuild what they change and share the rest. The text form
// (<asp/psir_text.hpp>) round-trips exactly; <asp/psir_verify.hpp> checks the
// invariants every pass must keep.
#pragma once

#include <asp/ir_visit.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace asp::psir {

// The version print() writes for a program; a module without one is written
// as version 1, which every reader since the first understands.
inline constexpr unsigned version = 2;
inline constexpr std::string_view dialect = "psir";

enum class Type { f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, boolean };

inline constexpr Type all_types[] = {Type::f32, Type::f64, Type::i8,  Type::i16, Type::i32, Type::i64,
                                     Type::u8,  Type::u16, Type::u32, Type::u64, Type::boolean};

// Bytes of one element of type t (a boolean is one byte, as C's bool).
inline constexpr std::size_t size_of(Type t) {
  switch (t) {
    case Type::f64: case Type::i64: case Type::u64: return 8;
    case Type::f32: case Type::i32: case Type::u32: return 4;
    case Type::i16: case Type::u16: return 2;
    case Type::i8: case Type::u8: case Type::boolean: return 1;
  }
  return 8;
}

inline const char* type_name(Type t) {
  switch (t) {
    case Type::f32: return "f32";
    case Type::f64: return "f64";
    case Type::i8: return "i8";
    case Type::i16: return "i16";
    case Type::i32: return "i32";
    case Type::i64: return "i64";
    case Type::u8: return "u8";
    case Type::u16: return "u16";
    case Type::u32: return "u32";
    case Type::u64: return "u64";
    case Type::boolean: return "bool";
  }
  return "?";
}

inline std::optional<Type> parse_type(std::string_view name) {
  for (Type t : all_types) {
    if (name == type_name(t)) return t;
  }
  return std::nullopt;
}

inline bool is_float(Type t) { return t == Type::f32 || t == Type::f64; }
inline bool is_signed(Type t) { return t == Type::i8 || t == Type::i16 || t == Type::i32 || t == Type::i64; }
inline bool is_unsigned(Type t) { return t == Type::u8 || t == Type::u16 || t == Type::u32 || t == Type::u64; }
inline bool is_integer(Type t) { return is_signed(t) || is_unsigned(t); }

// ---- expressions ---------------------------------------------------------

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

// Unary operators; the text form names them (neg(x)), C writes the sign.
enum class UnaryOp { neg, not_, bitnot };
inline constexpr ir::Spelling<UnaryOp> unary_ops[] = {
    {UnaryOp::neg, "neg", "-"}, {UnaryOp::not_, "not", "!"}, {UnaryOp::bitnot, "bitnot", "~"}};
inline std::string_view spelling(UnaryOp op) { return ir::spell(unary_ops, op); }
inline std::string_view c_symbol(UnaryOp op) { return ir::symbol(unary_ops, op); }
inline std::optional<UnaryOp> parse_unary_op(std::string_view text) { return ir::parse(unary_ops, text); }

// Binary operators, C semantics on operands of one type (integer "/" and "%"
// truncate; the intrinsics floordiv and mod give Python's flooring
// semantics). The text form and C spell them alike.
enum class BinaryOp { add, sub, mul, div, rem, eq, ne, lt, le, gt, ge, and_, or_, bit_and, bit_or, bit_xor, shl, shr };
inline constexpr ir::Spelling<BinaryOp> binary_ops[] = {
    {BinaryOp::add, "+"},      {BinaryOp::sub, "-"},     {BinaryOp::mul, "*"},     {BinaryOp::div, "/"},
    {BinaryOp::rem, "%"},      {BinaryOp::eq, "=="},     {BinaryOp::ne, "!="},     {BinaryOp::lt, "<"},
    {BinaryOp::le, "<="},      {BinaryOp::gt, ">"},      {BinaryOp::ge, ">="},     {BinaryOp::and_, "&&"},
    {BinaryOp::or_, "||"},     {BinaryOp::bit_and, "&"}, {BinaryOp::bit_or, "|"},  {BinaryOp::bit_xor, "^"},
    {BinaryOp::shl, "<<"},     {BinaryOp::shr, ">>"}};
inline std::string_view spelling(BinaryOp op) { return ir::spell(binary_ops, op); }
inline std::optional<BinaryOp> parse_binary_op(std::string_view text) { return ir::parse(binary_ops, text); }
inline bool is_comparison(BinaryOp op) {
  return op == BinaryOp::eq || op == BinaryOp::ne || op == BinaryOp::lt || op == BinaryOp::le || op == BinaryOp::gt ||
         op == BinaryOp::ge;
}
inline bool is_logical(BinaryOp op) { return op == BinaryOp::and_ || op == BinaryOp::or_; }
// The operators defined on integers only.
inline bool is_bitwise(BinaryOp op) {
  return op == BinaryOp::rem || op == BinaryOp::bit_and || op == BinaryOp::bit_or || op == BinaryOp::bit_xor ||
         op == BinaryOp::shl || op == BinaryOp::shr;
}

// Intrinsics and their arity. Float-only ones take and return one float type;
// abs, min, max, floordiv and mod work on any numeric type.
enum class Intrinsic { sqrt, exp, log, sin, cos, tan, floor, ceil, pow, fmod, abs, min, max, floordiv, mod };
struct IntrinsicInfo {
  Intrinsic id;
  std::string_view name;
  int arity;
  bool float_only;
};
inline constexpr IntrinsicInfo intrinsics[] = {
    {Intrinsic::sqrt, "sqrt", 1, true},  {Intrinsic::exp, "exp", 1, true},       {Intrinsic::log, "log", 1, true},
    {Intrinsic::sin, "sin", 1, true},    {Intrinsic::cos, "cos", 1, true},       {Intrinsic::tan, "tan", 1, true},
    {Intrinsic::floor, "floor", 1, true}, {Intrinsic::ceil, "ceil", 1, true},    {Intrinsic::pow, "pow", 2, true},
    {Intrinsic::fmod, "fmod", 2, true},  {Intrinsic::abs, "abs", 1, false},      {Intrinsic::min, "min", 2, false},
    {Intrinsic::max, "max", 2, false},   {Intrinsic::floordiv, "floordiv", 2, false}, {Intrinsic::mod, "mod", 2, false}};
inline const IntrinsicInfo* find_intrinsic(std::string_view name) {
  for (const IntrinsicInfo& i : intrinsics) {
    if (i.name == name) return &i;
  }
  return nullptr;
}
inline const IntrinsicInfo& info(Intrinsic f) {
  for (const IntrinsicInfo& i : intrinsics) {
    if (i.id == f) return i;
  }
  throw std::logic_error("PSIR: unknown intrinsic " + std::to_string(static_cast<int>(f)));
}
inline std::string_view spelling(Intrinsic f) { return info(f).name; }
inline std::optional<Intrinsic> parse_intrinsic(std::string_view name) {
  const IntrinsicInfo* i = find_intrinsic(name);
  return i ? std::optional<Intrinsic>(i->id) : std::nullopt;
}

// Reductions (`name op= value`); the text form spells them + * min max.
enum class ReduceOp { add, mul, min, max };
inline constexpr ir::Spelling<ReduceOp> reduce_ops[] = {
    {ReduceOp::add, "+"}, {ReduceOp::mul, "*"}, {ReduceOp::min, "min"}, {ReduceOp::max, "max"}};
inline std::string_view spelling(ReduceOp op) { return ir::spell(reduce_ops, op); }
inline std::optional<ReduceOp> parse_reduce_op(std::string_view text) { return ir::parse(reduce_ops, text); }

// A constant's value: integers of either signedness, floating point, or bool.
using Value = std::variant<std::int64_t, std::uint64_t, double, bool>;

struct Expr {
  enum class Kind { constant, var, load, unary, binary, select, cast, call };
  Kind kind;
  Type type;
  Value value{std::int64_t{0}};  // constant
  std::string name{};            // var: the variable; load: the buffer
  UnaryOp unary_op = UnaryOp::neg;     // unary
  BinaryOp binary_op = BinaryOp::add;  // binary
  Intrinsic intrinsic = Intrinsic::sqrt;  // call
  std::vector<ExprPtr> args{};   // operands, load indices, select (cond, then, else), call arguments
  // A call of sqrt exp log sin cos tan, or a cast of a float to an integer
  // type, that stands for a Python operation which raises where it fails
  // (math.sqrt(-1.0), math.exp(1000.0), int(nan)): the 1-based line of the
  // user's source it came from. The function then returns the
  // ASP_C_PYTHON_ERROR status of <asp/plugin.h> where Python would raise.
  // 0: computes as C does (nan, inf), nothing reported. Text form: `sqrt(x)@12`.
  std::uint32_t raises = 0;
};

// ---- builders --------------------------------------------------------------

inline ExprPtr make(Expr e) { return std::make_shared<const Expr>(std::move(e)); }

inline ExprPtr constant(Type type, Value value) {
  Expr e{Expr::Kind::constant, type};
  e.value = value;
  return make(std::move(e));
}
inline ExprPtr i64(std::int64_t v) { return constant(Type::i64, v); }
inline ExprPtr f64(double v) { return constant(Type::f64, v); }
inline ExprPtr f32(float v) { return constant(Type::f32, static_cast<double>(v)); }
inline ExprPtr boolean(bool v) { return constant(Type::boolean, v); }

inline ExprPtr var(std::string name, Type type) {
  Expr e{Expr::Kind::var, type};
  e.name = std::move(name);
  return make(std::move(e));
}

inline ExprPtr load(std::string buffer, Type type, std::vector<ExprPtr> indices) {
  Expr e{Expr::Kind::load, type};
  e.name = std::move(buffer);
  e.args = std::move(indices);
  return make(std::move(e));
}

inline ExprPtr unary(UnaryOp op, ExprPtr a) {
  Expr e{Expr::Kind::unary, op == UnaryOp::not_ ? Type::boolean : a->type};
  e.unary_op = op;
  e.args = {std::move(a)};
  return make(std::move(e));
}

inline ExprPtr binary(BinaryOp op, ExprPtr a, ExprPtr b) {
  const Type type = is_comparison(op) || is_logical(op) ? Type::boolean : a->type;
  Expr e{Expr::Kind::binary, type};
  e.binary_op = op;
  e.args = {std::move(a), std::move(b)};
  return make(std::move(e));
}
inline ExprPtr add(ExprPtr a, ExprPtr b) { return binary(BinaryOp::add, std::move(a), std::move(b)); }
inline ExprPtr sub(ExprPtr a, ExprPtr b) { return binary(BinaryOp::sub, std::move(a), std::move(b)); }
inline ExprPtr mul(ExprPtr a, ExprPtr b) { return binary(BinaryOp::mul, std::move(a), std::move(b)); }

inline ExprPtr select(ExprPtr cond, ExprPtr a, ExprPtr b) {
  Expr e{Expr::Kind::select, a->type};
  e.args = {std::move(cond), std::move(a), std::move(b)};
  return make(std::move(e));
}

inline ExprPtr cast(Type to, ExprPtr a) {
  Expr e{Expr::Kind::cast, to};
  e.args = {std::move(a)};
  return make(std::move(e));
}

inline ExprPtr call(Intrinsic intrinsic, std::vector<ExprPtr> args) {
  Expr e{Expr::Kind::call, args.empty() ? Type::f64 : args.front()->type};
  e.intrinsic = intrinsic;
  e.args = std::move(args);
  return make(std::move(e));
}

// `e` (a call or cast that may raise, see Expr::raises) marked with the source line `line`.
inline ExprPtr raising(const ExprPtr& e, std::uint32_t line) {
  Expr copy = *e;
  copy.raises = line;
  return make(std::move(copy));
}

// Whether Python raises for some operand of this kind of expression: the
// calls of math functions, and float-to-integer casts.
inline bool may_raise(const Expr& e) {
  if (e.kind == Expr::Kind::call) {
    switch (e.intrinsic) {
      case Intrinsic::sqrt: case Intrinsic::exp: case Intrinsic::log: case Intrinsic::sin: case Intrinsic::cos:
      case Intrinsic::tan: return true;
      default: return false;
    }
  }
  return e.kind == Expr::Kind::cast && is_integer(e.type) && !e.args.empty() && is_float(e.args[0]->type);
}

// ---- statements ------------------------------------------------------------

// streaming: a vectorized loop that writes its rows past the caches
// (non-temporal stores), for outputs larger than the last-level cache, where
// an ordinary store first reads every line it writes (write-allocate).
enum class LoopKind { serial, parallel, vectorized, unrolled, gpu_block, gpu_thread, streaming };

inline const char* loop_kind_name(LoopKind k) {
  switch (k) {
    case LoopKind::serial: return "serial";
    case LoopKind::parallel: return "parallel";
    case LoopKind::vectorized: return "vectorized";
    case LoopKind::unrolled: return "unrolled";
    case LoopKind::gpu_block: return "gpu_block";
    case LoopKind::gpu_thread: return "gpu_thread";
    case LoopKind::streaming: return "streaming";
  }
  return "?";
}

inline std::optional<LoopKind> parse_loop_kind(std::string_view name) {
  for (LoopKind k : {LoopKind::serial, LoopKind::parallel, LoopKind::vectorized, LoopKind::unrolled,
                     LoopKind::gpu_block, LoopKind::gpu_thread, LoopKind::streaming}) {
    if (name == loop_kind_name(k)) return k;
  }
  return std::nullopt;
}

struct Stmt;
using Block = std::vector<Stmt>;

// for var in [lower, upper) step `step` — the loop variable is an i64.
struct Loop {
  std::string var{};
  ExprPtr lower{}, upper{};
  std::int64_t step = 1;
  LoopKind kind = LoopKind::serial;
  int dim = 0;  // gpu_block / gpu_thread: which grid dimension (0 = x, 1 = y, 2 = z)
  Block body{};
};

struct Stmt {
  enum class Kind {
    loop,    // Loop
    let,     // let name: type = value            (immutable)
    decl,    // var name: type = value            (mutable local)
    assign,  // name = value                      (to a decl)
    reduce,  // name op= value                    (to a decl; parallel loops combine)
    store,   // store buffer[indices] = value
    if_      // if cond { then } else { otherwise }
  };
  Kind kind;
  std::string name{};              // let, decl, assign, reduce: the variable; store: the buffer
  Type type = Type::f64;           // let, decl
  ReduceOp reduce_op = ReduceOp::add;  // reduce
  ExprPtr value{};                 // let, decl, assign, reduce, store; if_: the condition
  std::vector<ExprPtr> indices{};  // store
  std::shared_ptr<Loop> loop{};    // loop (shared_ptr keeps Stmt copyable and cheap to move)
  Block then_block{}, else_block{};  // if_
};

inline Stmt make_loop(Loop loop) {
  Stmt s{Stmt::Kind::loop};
  s.loop = std::make_shared<Loop>(std::move(loop));
  return s;
}
inline Stmt make_let(std::string name, ExprPtr value) {
  Stmt s{Stmt::Kind::let};
  s.name = std::move(name);
  s.type = value->type;
  s.value = std::move(value);
  return s;
}
inline Stmt make_decl(std::string name, ExprPtr value) {
  Stmt s = make_let(std::move(name), std::move(value));
  s.kind = Stmt::Kind::decl;
  return s;
}
inline Stmt make_assign(std::string name, ExprPtr value) {
  Stmt s{Stmt::Kind::assign};
  s.name = std::move(name);
  s.value = std::move(value);
  return s;
}
inline Stmt make_reduce(std::string name, ReduceOp op, ExprPtr value) {
  Stmt s{Stmt::Kind::reduce};
  s.name = std::move(name);
  s.reduce_op = op;
  s.value = std::move(value);
  return s;
}
inline Stmt make_store(std::string buffer, std::vector<ExprPtr> indices, ExprPtr value) {
  Stmt s{Stmt::Kind::store};
  s.name = std::move(buffer);
  s.indices = std::move(indices);
  s.value = std::move(value);
  return s;
}
inline Stmt make_if(ExprPtr cond, Block then_block, Block else_block = {}) {
  Stmt s{Stmt::Kind::if_};
  s.value = std::move(cond);
  s.then_block = std::move(then_block);
  s.else_block = std::move(else_block);
  return s;
}

// ---- functions and modules --------------------------------------------------

// A shape or stride entry: a compile-time constant, or the name of an i64 scalar parameter.
using Extent = std::variant<std::int64_t, std::string>;

struct Param {
  enum class Kind { buffer, scalar };
  Kind kind;
  std::string name;
  Type type;                   // element type (buffer) or value type (scalar)
  std::vector<Extent> shape;   // buffer: one extent per dimension
  std::vector<Extent> strides; // buffer: in elements; empty = compact row-major
};

inline Param buffer_param(std::string name, Type type, std::vector<Extent> shape, std::vector<Extent> strides = {}) {
  return {Param::Kind::buffer, std::move(name), type, std::move(shape), std::move(strides)};
}
inline Param scalar_param(std::string name, Type type) { return {Param::Kind::scalar, std::move(name), type, {}, {}}; }

struct Function {
  std::string name{};
  std::vector<Param> params{};
  ExprPtr requires_{};  // the run check: a bool expression over scalar parameters, or null (always runnable)
  Block body{};
  std::string kernel{};  // version 2: the program kernel this function is a variant of; empty outside a program

  const Param* param(std::string_view n) const {
    for (const Param& p : params) {
      if (p.name == n) return &p;
    }
    return nullptr;
  }
};

// ---- programs (version 2) ----------------------------------------------------

// A kernel of a program: the signature every variant of it takes, generated
// (a Function naming it) or hand-written (a plugin's kernel source), and the
// buffer parameters it may write (what a device copies back).
struct KernelDecl {
  std::string name{};
  std::vector<Param> params{};
  std::vector<std::string> writes{};

  const Param* param(std::string_view n) const {
    for (const Param& p : params) {
      if (p.name == n) return &p;
    }
    return nullptr;
  }
};

// A statement of the host schedule. Its expressions are PSIR expressions over
// the program's scalar parameters, host variables and loop variables; a load
// reads one element of a program buffer or temporary.
struct HostStmt {
  enum class Kind {
    launch,  // launch kernel(args...)        args: names of buffers and scalars, one per kernel parameter
    let,     // let name: type = value
    decl,    // var name: type = value
    assign,  // name = value                   (to a var)
    loop,    // for name in value .. upper { body }   (serial, step 1)
    if_,     // if value { body } else { else_body }
    break_,  // break                          (leaves the innermost loop)
    comm     // comm operation(args...)        a communication statement (DESIGN §10), run by the layer that registers it
  };
  Kind kind;
  std::string name{};              // launch: kernel; let, decl, assign: variable; loop: its variable; comm: operation
  Type type = Type::f64;           // let, decl
  ExprPtr value{};                 // let, decl, assign; loop: lower bound; if_: condition
  ExprPtr upper{};                 // loop
  std::vector<std::string> args{};  // launch, comm
  std::vector<HostStmt> body{}, else_body{};  // loop, if_
};
using Schedule = std::vector<HostStmt>;

// What a specialization runs: kernels launched by a host schedule over the
// program's parameters (what the caller passes) and temporaries (buffers the
// core allocates for each call, zero-filled, shaped by the parameters).
struct Program {
  std::vector<Param> params{};
  // `tune(e, ...)` after the parameters: what the tuner's choice of variants
  // depends on, numeric expressions over the scalar parameters (e.g. a GMM's
  // m, d and the order of magnitude of n); each distinct value list is tuned
  // on its own. Empty: the arguments' shapes, as for a single kernel.
  std::vector<ExprPtr> tuning_key{};
  std::vector<Param> temporaries{};
  Schedule schedule{};

  const Param* buffer(std::string_view n) const {
    for (const auto* list : {&params, &temporaries}) {
      for (const Param& p : *list) {
        if (p.name == n) return &p;
      }
    }
    return nullptr;
  }
};

struct Module {
  std::vector<Function> functions;
  std::vector<KernelDecl> kernels{};  // version 2: the program's kernels
  std::optional<Program> program{};    // version 2: absent for a single kernel and its variants

  const Function* function(std::string_view n) const {
    for (const Function& f : functions) {
      if (f.name == n) return &f;
    }
    return nullptr;
  }
  const KernelDecl* kernel(std::string_view n) const {
    for (const KernelDecl& k : kernels) {
      if (k.name == n) return &k;
    }
    return nullptr;
  }
  // Whether version 1 can say it all: no program, no kernel declarations.
  bool is_version_1() const { return !program && kernels.empty(); }
};

// ---- the IR toolkit (<asp/ir_visit.hpp>) for PSIR -------------------------------
//
// The one place each PSIR kind list is spelled out: a new kind added to an
// enum below fails to compile in every exhaustive visitor, and reaches the
// default of every other one.

// Expressions dispatch by their shared pointer (what walkers and mutators
// hold) or by reference (an interpreter that has only the node).
template <class V, class E>
  requires std::same_as<E, ExprPtr> || std::same_as<E, Expr>
decltype(auto) dispatch(V& v, const E& e) {
  const Expr& node = ir::deref(e);
  switch (node.kind) {
    case Expr::Kind::constant: return ASP_IR_ON(v, on_constant, e);
    case Expr::Kind::var: return ASP_IR_ON(v, on_var, e);
    case Expr::Kind::load: return ASP_IR_ON(v, on_load, e);
    case Expr::Kind::unary: return ASP_IR_ON(v, on_unary, e);
    case Expr::Kind::binary: return ASP_IR_ON(v, on_binary, e);
    case Expr::Kind::select: return ASP_IR_ON(v, on_select, e);
    case Expr::Kind::cast: return ASP_IR_ON(v, on_cast, e);
    case Expr::Kind::call: return ASP_IR_ON(v, on_call, e);
  }
  ir::unknown_kind("PSIR expression", static_cast<int>(node.kind));
}

template <class V, class... Extra>
decltype(auto) dispatch(V& v, const Stmt& s, Extra&... extra) {
  switch (s.kind) {
    case Stmt::Kind::loop: return ASP_IR_ON(v, on_loop, s, extra...);
    case Stmt::Kind::let: return ASP_IR_ON(v, on_let, s, extra...);
    case Stmt::Kind::decl: return ASP_IR_ON(v, on_decl, s, extra...);
    case Stmt::Kind::assign: return ASP_IR_ON(v, on_assign, s, extra...);
    case Stmt::Kind::reduce: return ASP_IR_ON(v, on_reduce, s, extra...);
    case Stmt::Kind::store: return ASP_IR_ON(v, on_store, s, extra...);
    case Stmt::Kind::if_: return ASP_IR_ON(v, on_if, s, extra...);
  }
  ir::unknown_kind("PSIR statement", static_cast<int>(s.kind));
}

template <class V, class... Extra>
decltype(auto) dispatch(V& v, const HostStmt& s, Extra&... extra) {
  switch (s.kind) {
    case HostStmt::Kind::launch: return ASP_IR_ON(v, on_launch, s, extra...);
    case HostStmt::Kind::let: return ASP_IR_ON(v, on_let, s, extra...);
    case HostStmt::Kind::decl: return ASP_IR_ON(v, on_decl, s, extra...);
    case HostStmt::Kind::assign: return ASP_IR_ON(v, on_assign, s, extra...);
    case HostStmt::Kind::loop: return ASP_IR_ON(v, on_loop, s, extra...);
    case HostStmt::Kind::if_: return ASP_IR_ON(v, on_if, s, extra...);
    case HostStmt::Kind::break_: return ASP_IR_ON(v, on_break, s, extra...);
    case HostStmt::Kind::comm: return ASP_IR_ON(v, on_comm, s, extra...);
  }
  ir::unknown_kind("host schedule statement", static_cast<int>(s.kind));
}

// What a statement holds, in the order its text form writes it.
template <class OnExpr, class OnBlock>
void children(const Stmt& s, OnExpr&& on_expr, OnBlock&& on_block) {
  if (s.value) on_expr(s.value);
  for (const ExprPtr& i : s.indices) on_expr(i);
  if (s.loop) {
    on_expr(s.loop->lower);
    on_expr(s.loop->upper);
    on_block(s.loop->body);
  }
  if (s.kind == Stmt::Kind::if_) {
    on_block(s.then_block);
    on_block(s.else_block);
  }
}

template <class OnExpr, class OnBlock>
void children(const HostStmt& s, OnExpr&& on_expr, OnBlock&& on_block) {
  if (s.value) on_expr(s.value);
  if (s.upper) on_expr(s.upper);
  if (s.kind == HostStmt::Kind::loop || s.kind == HostStmt::Kind::if_) {
    on_block(s.body);
    on_block(s.else_body);
  }
}

// Whether two statements are the same node for a mutator's sharing: the same
// fields, the same expression nodes and loop, the same nested statements.
inline bool same(const Block& a, const Block& b);
inline bool same(const Stmt& a, const Stmt& b) {
  return a.kind == b.kind && a.name == b.name && a.type == b.type && a.reduce_op == b.reduce_op && a.value == b.value &&
         a.indices == b.indices && a.loop == b.loop && same(a.then_block, b.then_block) && same(a.else_block, b.else_block);
}
inline bool same(const Block& a, const Block& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same(a[i], b[i])) return false;
  }
  return true;
}

template <class OnExpr, class OnBlock>
Stmt rebuild_children(const Stmt& s, OnExpr&& on_expr, OnBlock&& on_block) {
  Stmt c = s;
  if (s.value) c.value = on_expr(s.value);
  for (ExprPtr& i : c.indices) i = on_expr(i);
  if (s.loop) {
    ExprPtr lower = on_expr(s.loop->lower), upper = on_expr(s.loop->upper);
    Block body = on_block(s.loop->body);
    if (lower != s.loop->lower || upper != s.loop->upper || !same(body, s.loop->body)) {
      Loop l = *s.loop;
      l.lower = std::move(lower);
      l.upper = std::move(upper);
      l.body = std::move(body);
      c.loop = std::make_shared<Loop>(std::move(l));
    }
  }
  if (s.kind == Stmt::Kind::if_) {
    c.then_block = on_block(s.then_block);
    c.else_block = on_block(s.else_block);
  }
  return c;
}

template <class OnExpr, class OnBlock>
HostStmt rebuild_children(const HostStmt& s, OnExpr&& on_expr, OnBlock&& on_block) {
  HostStmt c = s;
  if (s.value) c.value = on_expr(s.value);
  if (s.upper) c.upper = on_expr(s.upper);
  if (s.kind == HostStmt::Kind::loop || s.kind == HostStmt::Kind::if_) {
    c.body = on_block(s.body);
    c.else_body = on_block(s.else_body);
  }
  return c;
}

// The visitor bases (see <asp/ir_visit.hpp>): handlers on_constant, on_var,
// on_load, on_unary, on_binary, on_select, on_cast, on_call (expressions);
// on_loop, on_let, on_decl, on_assign, on_reduce, on_store, on_if (kernel
// statements); on_launch, on_let, on_decl, on_assign, on_loop, on_if,
// on_break, on_comm (host schedule statements).
template <class D>
using ExprWalker = ir::ExprWalker<D, Expr>;
template <class D>
using ExprMutator = ir::ExprMutator<D, Expr>;
template <class D, class R>
using ExprFunction = ir::ExprFunction<D, Expr, R>;
template <class D>
using StmtWalker = ir::StmtWalker<D, Stmt>;
template <class D>
using StmtMutator = ir::StmtMutator<D, Stmt>;
template <class D>
using HostWalker = ir::StmtWalker<D, HostStmt>;
template <class D>
using HostMutator = ir::StmtMutator<D, HostStmt>;

// Walks every expression node of `e` (pre-order).
template <class Visit>
void for_each_expr(const ExprPtr& e, Visit& visit) {
  ir::walk(e, visit);
}

// Walks every expression node of `block` (pre-order), nested blocks included.
template <class Visit>
void for_each_expr(const Block& block, Visit& visit) {
  struct Walker : StmtWalker<Walker> {
    explicit Walker(Visit& v) : visit(v) {}
    void expr(const ExprPtr& e) { ir::walk(e, visit); }
    Visit& visit;
  };
  Walker(visit).block(block);
}

// The buffers `block` stores into, in the order of their first store. It
// handles every statement kind explicitly (exhaustive): what a kernel may
// write decides what a device copies back, so a new kind must be taught here
// or nothing compiles.
struct StoredBuffers : StmtWalker<StoredBuffers>, public asp::ir::Exhaustive {
  void on_store(const Stmt& s) {
    if (std::find(buffers.begin(), buffers.end(), s.name) == buffers.end()) buffers.push_back(s.name);
  }
  void on_loop(const Stmt& s) { descend(s); }
  void on_if(const Stmt& s) { descend(s); }
  void on_let(const Stmt&) {}
  void on_decl(const Stmt&) {}
  void on_assign(const Stmt&) {}
  void on_reduce(const Stmt&) {}
  std::vector<std::string> buffers;
};

inline std::vector<std::string> stored_buffers(const Block& block) {
  StoredBuffers stores;
  stores.block(block);
  return std::move(stores.buffers);
}

// An index is affine when it is built from constants, the variables for which
// `affine_var` holds (loop variables and scalar parameters), + - and
// multiplication by a constant. Anything else (a load, a let-bound value, a
// division) makes the access indirect; code generators guard indirect
// accesses against out-of-bounds values.
template <class AffineVar>
bool is_affine(const ExprPtr& e, const AffineVar& affine_var) {
  struct Affine : ExprFunction<Affine, bool> {
    explicit Affine(const AffineVar& a) : affine_var(a) {}
    bool on_constant(const ExprPtr&) { return true; }
    bool on_var(const ExprPtr& x) { return affine_var(x->name); }
    bool on_unary(const ExprPtr& x) { return x->unary_op == UnaryOp::neg && this->visit(x->args[0]); }
    bool on_binary(const ExprPtr& x) {
      const ExprPtr &a = x->args[0], &b = x->args[1];
      switch (x->binary_op) {
        case BinaryOp::add:
        case BinaryOp::sub: return this->visit(a) && this->visit(b);
        case BinaryOp::mul:
          return (a->kind == Expr::Kind::constant && this->visit(b)) || (b->kind == Expr::Kind::constant && this->visit(a));
        default: return false;
      }
    }
    bool otherwise(const ExprPtr&) { return false; }
    const AffineVar& affine_var;
  };
  return Affine(affine_var).visit(e);
}

}  // namespace asp::psir
