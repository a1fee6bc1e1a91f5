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

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
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

// A constant's value: integers of either signedness, floating point, or bool.
using Value = std::variant<std::int64_t, std::uint64_t, double, bool>;

struct Expr {
  enum class Kind { constant, var, load, unary, binary, select, cast, call };
  Kind kind;
  Type type;
  Value value{std::int64_t{0}};  // constant
  std::string name{};            // var: the variable; load: the buffer; call: the intrinsic
  std::string op{};              // unary: "-" "!" "~"; binary: see binary_ops
  std::vector<ExprPtr> args{};   // operands, load indices, select (cond, then, else), call arguments
  // A call of sqrt exp log sin cos tan, or a cast of a float to an integer
  // type, that stands for a Python operation which raises where it fails
  // (math.sqrt(-1.0), math.exp(1000.0), int(nan)): the 1-based line of the
  // user's source it came from. The function then returns the
  // ASP_C_PYTHON_ERROR status of <asp/plugin.h> where Python would raise.
  // 0: computes as C does (nan, inf), nothing reported. Text form: `sqrt(x)@12`.
  std::uint32_t raises = 0;
};

// Binary operators, C semantics on operands of one type (integer "/" and "%"
// truncate; the intrinsics floordiv and mod give Python's flooring semantics).
inline constexpr std::string_view binary_ops[] = {"+",  "-",  "*", "/",  "%",  "==", "!=", "<", "<=",
                                                  ">",  ">=", "&&", "||", "&", "|",  "^",  "<<", ">>"};
inline bool is_comparison(std::string_view op) {
  return op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}
inline bool is_logical(std::string_view op) { return op == "&&" || op == "||"; }

// Intrinsics and their arity. Float-only ones take and return one float type;
// abs, min, max, floordiv and mod work on any numeric type.
struct Intrinsic {
  std::string_view name;
  int arity;
  bool float_only;
};
inline constexpr Intrinsic intrinsics[] = {
    {"sqrt", 1, true}, {"exp", 1, true},  {"log", 1, true},   {"sin", 1, true},      {"cos", 1, true},
    {"tan", 1, true},  {"floor", 1, true}, {"ceil", 1, true}, {"pow", 2, true},      {"fmod", 2, true},
    {"abs", 1, false}, {"min", 2, false}, {"max", 2, false},  {"floordiv", 2, false}, {"mod", 2, false}};
inline const Intrinsic* find_intrinsic(std::string_view name) {
  for (const Intrinsic& i : intrinsics) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

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

inline ExprPtr unary(std::string op, ExprPtr a) {
  Expr e{Expr::Kind::unary, op == "!" ? Type::boolean : a->type};
  e.op = std::move(op);
  e.args = {std::move(a)};
  return make(std::move(e));
}

inline ExprPtr binary(std::string op, ExprPtr a, ExprPtr b) {
  const Type type = is_comparison(op) || is_logical(op) ? Type::boolean : a->type;
  Expr e{Expr::Kind::binary, type};
  e.op = std::move(op);
  e.args = {std::move(a), std::move(b)};
  return make(std::move(e));
}
inline ExprPtr add(ExprPtr a, ExprPtr b) { return binary("+", std::move(a), std::move(b)); }
inline ExprPtr sub(ExprPtr a, ExprPtr b) { return binary("-", std::move(a), std::move(b)); }
inline ExprPtr mul(ExprPtr a, ExprPtr b) { return binary("*", std::move(a), std::move(b)); }

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

inline ExprPtr call(std::string intrinsic, std::vector<ExprPtr> args) {
  Expr e{Expr::Kind::call, args.empty() ? Type::f64 : args.front()->type};
  e.name = std::move(intrinsic);
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
    return e.name == "sqrt" || e.name == "exp" || e.name == "log" || e.name == "sin" || e.name == "cos" || e.name == "tan";
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
    reduce,  // name op= value                    (to a decl; op is + * min max; parallel loops combine)
    store,   // store buffer[indices] = value
    if_      // if cond { then } else { otherwise }
  };
  Kind kind;
  std::string name{};              // let, decl, assign, reduce: the variable; store: the buffer
  Type type = Type::f64;           // let, decl
  std::string op{};                // reduce
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
inline Stmt make_reduce(std::string name, std::string op, ExprPtr value) {
  Stmt s{Stmt::Kind::reduce};
  s.name = std::move(name);
  s.op = std::move(op);
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

// Walks every expression in `block` (pre-order), nested blocks included.
template <class Visit>
void for_each_expr(const ExprPtr& e, Visit& visit) {
  if (!e) return;
  visit(*e);
  for (const ExprPtr& a : e->args) for_each_expr(a, visit);
}

template <class Visit>
void for_each_expr(const Block& block, Visit& visit) {
  for (const Stmt& s : block) {
    for_each_expr(s.value, visit);
    for (const ExprPtr& i : s.indices) for_each_expr(i, visit);
    if (s.loop) {
      for_each_expr(s.loop->lower, visit);
      for_each_expr(s.loop->upper, visit);
      for_each_expr(s.loop->body, visit);
    }
    for_each_expr(s.then_block, visit);
    for_each_expr(s.else_block, visit);
  }
}

// An index is affine when it is built from constants, the variables for which
// `affine_var` holds (loop variables and scalar parameters), + - and
// multiplication by a constant. Anything else (a load, a let-bound value, a
// division) makes the access indirect; code generators guard indirect
// accesses against out-of-bounds values.
template <class AffineVar>
bool is_affine(const Expr& e, const AffineVar& affine_var) {
  switch (e.kind) {
    case Expr::Kind::constant: return true;
    case Expr::Kind::var: return affine_var(e.name);
    case Expr::Kind::unary: return e.op == "-" && is_affine(*e.args[0], affine_var);
    case Expr::Kind::binary:
      if (e.op == "+" || e.op == "-") return is_affine(*e.args[0], affine_var) && is_affine(*e.args[1], affine_var);
      if (e.op == "*") {
        return (e.args[0]->kind == Expr::Kind::constant && is_affine(*e.args[1], affine_var)) ||
               (e.args[1]->kind == Expr::Kind::constant && is_affine(*e.args[0], affine_var));
      }
      return false;
    default: return false;
  }
}

}  // namespace asp::psir
