// The stencil DSIR (dialect "dsir.stencil"): a stencil kernel as the frontend
// understood it, with Python's numeric semantics made explicit.
//
// A Kernel names its grids (dtype, shape, ghost depth) and holds a body of
// kernel-level `let`s and loops over the interior or border points of a grid.
// Inside a point loop there are locals, stores to the loop's point, `if`s and
// loops over a neighbour set (each offset of the set in definition order).
//
// Every value has one of seven types: Python's own `int`, `float` and `bool`,
// and the NumPy scalar types `f64`, `f32`, `i64`, `i32` that grid reads give.
// The frontend applies Python's and NumPy's promotion rules and writes every
// conversion as an explicit cast, so each operator here has operands of one
// type and its meaning follows from that type alone (see the README section
// "The stencil specializer"): `/` on `float` raises on a zero divisor as
// Python does, `/` on `f64` gives inf or nan as NumPy does.
//
// Nodes are plain values; expressions are shared immutable trees.
#pragma once

#include <asp/ir_visit.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace asp::stencil {

inline constexpr unsigned dsir_version = 1;
inline constexpr std::string_view dsir_dialect = "dsir.stencil";

enum class Type { int_, float_, bool_, f64, f32, i64, i32 };

const char* type_name(Type t);
std::optional<Type> parse_type(std::string_view name);
// Python's own int and float: "weak" in NumPy's promotion (NEP 50).
inline bool is_weak(Type t) { return t == Type::int_ || t == Type::float_; }
inline bool is_floating(Type t) { return t == Type::float_ || t == Type::f64 || t == Type::f32; }
inline bool is_integral(Type t) { return t == Type::int_ || t == Type::i64 || t == Type::i32; }
inline bool is_numeric(Type t) { return t != Type::bool_; }

// A grid point: the variable of a point or neighbour loop, displaced by an offset.
struct Point {
  std::string base;
  std::vector<std::int64_t> offset;  // empty, or one entry per axis; all zero is written empty

  bool operator==(const Point&) const = default;
  bool at_base() const;  // the variable itself: no displacement
};

// `p` displaced by `by` (either may be empty), normalised.
Point displaced(const Point& p, const std::vector<std::int64_t>& by);

// Operators and functions, with their text form (<asp/ir_visit.hpp>'s
// spelling tables): Python's, so `//` floors, `**` is a power and `and`/`or`
// take bools.
enum class UnaryOp { neg, not_ };
enum class BinaryOp { add, sub, mul, div, floordiv, mod, pow, eq, ne, lt, le, gt, ge, and_, or_ };
enum class Function { sqrt, exp, log, sin, cos, tan, floor, ceil, abs, min, max };

inline constexpr ir::Spelling<UnaryOp> unary_ops[] = {{UnaryOp::neg, "neg"}, {UnaryOp::not_, "not"}};
inline constexpr ir::Spelling<BinaryOp> binary_ops[] = {
    {BinaryOp::add, "+"},  {BinaryOp::sub, "-"}, {BinaryOp::mul, "*"},  {BinaryOp::div, "/"},   {BinaryOp::floordiv, "//"},
    {BinaryOp::mod, "%"},  {BinaryOp::pow, "**"}, {BinaryOp::eq, "=="}, {BinaryOp::ne, "!="},   {BinaryOp::lt, "<"},
    {BinaryOp::le, "<="}, {BinaryOp::gt, ">"},   {BinaryOp::ge, ">="}, {BinaryOp::and_, "and"}, {BinaryOp::or_, "or"}};
inline constexpr ir::Spelling<Function> functions[] = {
    {Function::sqrt, "sqrt"}, {Function::exp, "exp"},     {Function::log, "log"},   {Function::sin, "sin"},
    {Function::cos, "cos"},   {Function::tan, "tan"},     {Function::floor, "floor"}, {Function::ceil, "ceil"},
    {Function::abs, "abs"},   {Function::min, "min"},     {Function::max, "max"}};

inline std::string_view spelling(UnaryOp op) { return ir::spell(unary_ops, op); }
inline std::string_view spelling(BinaryOp op) { return ir::spell(binary_ops, op); }
inline std::string_view spelling(Function f) { return ir::spell(functions, f); }
inline std::optional<UnaryOp> parse_unary_op(std::string_view text) { return ir::parse(unary_ops, text); }
inline std::optional<BinaryOp> parse_binary_op(std::string_view text) { return ir::parse(binary_ops, text); }
inline std::optional<Function> parse_function(std::string_view text) { return ir::parse(functions, text); }

inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq && op <= BinaryOp::ge; }
inline bool is_logical(BinaryOp op) { return op == BinaryOp::and_ || op == BinaryOp::or_; }
// Functions that take and give a floating-point value of the argument's type.
inline bool is_float_function(Function f) { return f != Function::abs && f != Function::min && f != Function::max; }
inline int arity(Function f) { return f == Function::min || f == Function::max ? 2 : 1; }

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  enum class Kind {
    literal,   // value
    local,     // name
    read,      // name = grid, points[0]
    lookup,    // name = grid, args = indices (int): a data-dependent read
    coord,     // points[0], axis: one coordinate of a point (int)
    distance,  // points[0], points[1]: Euclidean distance (float)
    unary,     // unary_op
    binary,    // binary_op
    select,    // args = condition, then, otherwise
    cast,      // args[0] converted to `type`
    call       // function
  };
  Kind kind;
  Type type;
  std::variant<std::int64_t, double, bool> value{std::int64_t{0}};
  std::string name{};
  UnaryOp unary_op = UnaryOp::neg;
  BinaryOp binary_op = BinaryOp::add;
  Function function = Function::sqrt;
  std::vector<Point> points{};
  int axis = 0;
  std::vector<ExprPtr> args{};
};

// ---- builders ----------------------------------------------------------------------

ExprPtr make(Expr e);
ExprPtr int_literal(std::int64_t v, Type t = Type::int_);
ExprPtr float_literal(double v, Type t = Type::float_);
ExprPtr bool_literal(bool v);
ExprPtr local(std::string name, Type t);
ExprPtr read(std::string grid, Type dtype, Point at);
ExprPtr lookup(std::string grid, Type dtype, std::vector<ExprPtr> indices);
ExprPtr coord(Point p, int axis);
ExprPtr distance(Point a, Point b);
ExprPtr unary(UnaryOp op, ExprPtr a);
ExprPtr binary(BinaryOp op, ExprPtr a, ExprPtr b);  // the result type follows from op and operands
ExprPtr select(ExprPtr cond, ExprPtr a, ExprPtr b);
ExprPtr cast(Type to, ExprPtr a);
ExprPtr call(Function function, std::vector<ExprPtr> args);  // type of the first argument

bool is_literal(const ExprPtr& e);

// ---- statements ----------------------------------------------------------------------

enum class Region { interior, border };

struct Stmt;
using Block = std::vector<Stmt>;

struct Stmt {
  enum class Kind {
    let,        // let name: type = value   (kernel level, immutable)
    var,        // var name: type = value   (a local of the point loop)
    assign,     // name = value
    store,      // store grid[point] = value   (name = grid)
    if_,        // if value { body } else { orelse }
    points,     // for name in interior(grid) / border(grid) { body }
    neighbors   // for name in neighbors(grid, point, set) [offsets] { body }
  };
  Kind kind;
  unsigned line = 0;    // where it came from in the user's file: 1-based line,
  unsigned column = 0;  // 0-based column as Python's ast (0, 0 when unknown)
  std::string name{};
  Type type = Type::f64;
  ExprPtr value{};
  Point point{};
  std::string grid{};
  Region region = Region::interior;
  std::int64_t set = 0;
  std::vector<std::vector<std::int64_t>> offsets{};
  Block body{}, orelse{};
};

Stmt make_let(std::string name, ExprPtr value);
Stmt make_var(std::string name, ExprPtr value);
Stmt make_assign(std::string name, ExprPtr value);
Stmt make_store(std::string grid, Point at, ExprPtr value);
Stmt make_if(ExprPtr cond, Block body, Block orelse = {});

// ---- kernels ----------------------------------------------------------------------------

struct Grid {
  std::string name;
  Type dtype;                       // f64, f32, i64 or i32
  std::vector<std::int64_t> shape;  // of the arrays it was specialized for
  std::int64_t ghost = 0;
};

struct Kernel {
  std::string name;
  std::vector<Grid> grids;  // in the order of the kernel's parameters
  Block body;

  const Grid* grid(std::string_view name) const;
};

// ---- the IR toolkit (<asp/ir_visit.hpp>) for the stencil DSIR -----------------------------
//
// The one place the DSIR's kind lists are spelled out: handlers on_literal,
// on_local, on_read, on_lookup, on_coord, on_distance, on_unary, on_binary,
// on_select, on_cast, on_call (expressions); on_let, on_var, on_assign,
// on_store, on_if, on_points, on_neighbors (statements).

template <class V, class E>
  requires std::same_as<E, ExprPtr> || std::same_as<E, Expr>
decltype(auto) dispatch(V& v, const E& e) {
  const Expr& node = ir::deref(e);
  switch (node.kind) {
    case Expr::Kind::literal: return ASP_IR_ON(v, on_literal, e);
    case Expr::Kind::local: return ASP_IR_ON(v, on_local, e);
    case Expr::Kind::read: return ASP_IR_ON(v, on_read, e);
    case Expr::Kind::lookup: return ASP_IR_ON(v, on_lookup, e);
    case Expr::Kind::coord: return ASP_IR_ON(v, on_coord, e);
    case Expr::Kind::distance: return ASP_IR_ON(v, on_distance, e);
    case Expr::Kind::unary: return ASP_IR_ON(v, on_unary, e);
    case Expr::Kind::binary: return ASP_IR_ON(v, on_binary, e);
    case Expr::Kind::select: return ASP_IR_ON(v, on_select, e);
    case Expr::Kind::cast: return ASP_IR_ON(v, on_cast, e);
    case Expr::Kind::call: return ASP_IR_ON(v, on_call, e);
  }
  ir::unknown_kind("DSIR expression", static_cast<int>(node.kind));
}

template <class V, class... Extra>
decltype(auto) dispatch(V& v, const Stmt& s, Extra&... extra) {
  switch (s.kind) {
    case Stmt::Kind::let: return ASP_IR_ON(v, on_let, s, extra...);
    case Stmt::Kind::var: return ASP_IR_ON(v, on_var, s, extra...);
    case Stmt::Kind::assign: return ASP_IR_ON(v, on_assign, s, extra...);
    case Stmt::Kind::store: return ASP_IR_ON(v, on_store, s, extra...);
    case Stmt::Kind::if_: return ASP_IR_ON(v, on_if, s, extra...);
    case Stmt::Kind::points: return ASP_IR_ON(v, on_points, s, extra...);
    case Stmt::Kind::neighbors: return ASP_IR_ON(v, on_neighbors, s, extra...);
  }
  ir::unknown_kind("DSIR statement", static_cast<int>(s.kind));
}

template <class OnExpr, class OnBlock>
void children(const Stmt& s, OnExpr&& on_expr, OnBlock&& on_block) {
  if (s.value) on_expr(s.value);
  on_block(s.body);
  on_block(s.orelse);
}

template <class OnExpr, class OnBlock>
Stmt rebuild_children(const Stmt& s, OnExpr&& on_expr, OnBlock&& on_block) {
  Stmt c = s;
  if (s.value) c.value = on_expr(s.value);
  c.body = on_block(s.body);
  c.orelse = on_block(s.orelse);
  return c;
}

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

// ---- walking and rewriting ----------------------------------------------------------------

// Rebuilds `e` bottom-up; `rewrite` sees each node after its operands were rewritten.
ExprPtr rewrite_expr(const ExprPtr& e, const std::function<ExprPtr(ExprPtr)>& rewrite);
// Applies `rewrite` to every expression of `block`, nested blocks included.
Block rewrite_block(const Block& block, const std::function<ExprPtr(ExprPtr)>& rewrite);
// Visits every expression node of `block` (pre-order), nested blocks included.
void for_each_expr(const Block& block, const std::function<void(const Expr&)>& visit);
void for_each_expr(const ExprPtr& e, const std::function<void(const Expr&)>& visit);
// Visits every statement of `block`, nested blocks included (pre-order).
void for_each_stmt(const Block& block, const std::function<void(const Stmt&)>& visit);
// The grids `block` stores into, in the order of their first store. Every
// statement kind has its own case (an exhaustive walker): whether a point
// loop may run in parallel, and what it writes back, follow from it.
std::vector<std::string> stored_grids(const Block& block);
// Replaces the point variable `var` by `with` (displacements add up) in every
// point of `block`: reads, coordinates, distances, stores and neighbour centres.
Block substitute_point(const Block& block, const std::string& var, const Point& with);

}  // namespace asp::stencil
