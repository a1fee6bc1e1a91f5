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
    unary,     // op "neg" "not"
    binary,    // op + - * / // % ** == != < <= > >= and or
    select,    // args = condition, then, otherwise
    cast,      // args[0] converted to `type`
    call       // name = sqrt exp log sin cos tan floor ceil abs min max
  };
  Kind kind;
  Type type;
  std::variant<std::int64_t, double, bool> value{std::int64_t{0}};
  std::string name{};
  std::string op{};
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
ExprPtr unary(std::string op, ExprPtr a);
ExprPtr binary(std::string op, ExprPtr a, ExprPtr b);  // the result type follows from op and operands
ExprPtr select(ExprPtr cond, ExprPtr a, ExprPtr b);
ExprPtr cast(Type to, ExprPtr a);
ExprPtr call(std::string function, std::vector<ExprPtr> args);  // type of the first argument

bool is_literal(const ExprPtr& e);
bool is_comparison(std::string_view op);
inline constexpr std::string_view binary_ops[] = {"+",  "-",  "*", "/",  "//", "%",  "**", "==",
                                                  "!=", "<",  "<=", ">", ">=", "and", "or"};
inline constexpr std::string_view call_names[] = {"sqrt", "exp", "log",  "sin", "cos", "tan",
                                                  "floor", "ceil", "abs", "min", "max"};
bool is_call_name(std::string_view name);
// Calls that take and give a floating-point value of the argument's type.
bool is_float_call(std::string_view name);

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
// Replaces the point variable `var` by `with` (displacements add up) in every
// point of `block`: reads, coordinates, distances, stores and neighbour centres.
Block substitute_point(const Block& block, const std::string& var, const Point& with);

}  // namespace asp::stencil
