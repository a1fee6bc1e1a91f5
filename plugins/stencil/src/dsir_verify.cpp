#include "stencil/dsir_verify.hpp"

#include "stencil/dsir_text.hpp"

#include <asp/plugin.hpp>

#include <map>
#include <set>

namespace asp::stencil {

namespace {

class Verifier : public asp::ir::Exhaustive {
 public:
  explicit Verifier(const Kernel& k) : k_(k) {}

  void run() {
    std::set<std::string> names;
    for (const Grid& g : k_.grids) {
      if (!names.insert(g.name).second) fail("grid '" + g.name + "' is declared twice");
      if (g.dtype != Type::f64 && g.dtype != Type::f32 && g.dtype != Type::i64 && g.dtype != Type::i32) {
        fail("grid '" + g.name + "' has dtype " + type_name(g.dtype));
      }
      if (g.shape.empty() || g.shape.size() > 4) fail("grid '" + g.name + "' must have one to four axes");
      for (std::int64_t n : g.shape) {
        if (n < 0) fail("grid '" + g.name + "' has a negative extent");
      }
      if (g.ghost < 0) fail("grid '" + g.name + "' has a negative ghost depth");
    }
    scopes_.emplace_back();
    for (const Stmt& s : k_.body) {
      if (s.kind != Stmt::Kind::let && s.kind != Stmt::Kind::points) {
        fail("the kernel level holds only lets and point loops", s);
      }
      stmt(s);
    }
  }

 private:
  struct Local {
    Type type;
    bool mutable_;
  };

  [[noreturn]] void fail(const std::string& message) const { throw Error(ASP_ERR_INVALID_ARGUMENT, "invalid DSIR: " + message); }
  [[noreturn]] void fail(const std::string& message, const Stmt& s) const {
    fail(message + (s.line ? " (statement of line " + std::to_string(s.line) + ")" : ""));
  }

  const Grid& grid(const std::string& name) const {
    const Grid* g = k_.grid(name);
    if (!g) fail("unknown grid '" + name + "'");
    return *g;
  }

  const Local* lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (auto found = it->find(name); found != it->end()) return &found->second;
    }
    return nullptr;
  }

  // The rank of a point, checking that it names a loop variable in scope.
  std::size_t point(const Point& p) const {
    auto it = points_.find(p.base);
    if (it == points_.end()) fail("point '" + print(p) + "' names no point variable in scope");
    if (!p.offset.empty() && p.offset.size() != it->second) {
      fail("point '" + print(p) + "' has a displacement of another rank than " + std::to_string(it->second));
    }
    return it->second;
  }

  void same(const ExprPtr& e, Type a, Type b) const {
    if (a != b) fail("operands of '" + print(e) + "' differ in type (" + type_name(a) + " and " + type_name(b) + ")");
  }

  Type expr(const ExprPtr& e) const {
    if (!e) fail("an expression is missing");
    return dispatch(*this, e);
  }

 public:
  // The type checker: every expression kind, none by default (an exhaustive visitor).
  Type on_literal(const ExprPtr& e) const {
    const bool ok = is_floating(e->type)   ? std::holds_alternative<double>(e->value)
                    : is_integral(e->type) ? std::holds_alternative<std::int64_t>(e->value)
                                           : std::holds_alternative<bool>(e->value);
    if (!ok) fail(std::string("a literal of type ") + type_name(e->type) + " holds a value of another kind");
    return e->type;
  }
  Type on_local(const ExprPtr& e) const {
    const Local* l = lookup(e->name);
    if (!l) fail("local '" + e->name + "' is not declared here");
    if (l->type != e->type) fail("local '" + e->name + "' is used with the wrong type");
    return e->type;
  }
  Type on_read(const ExprPtr& e) const {
    const Grid& g = grid(e->name);
    if (e->type != g.dtype) fail("read of '" + e->name + "' with the wrong type");
    if (point(e->points.at(0)) != g.shape.size()) fail("'" + print(e) + "' reads at a point of another rank");
    return e->type;
  }
  Type on_lookup(const ExprPtr& e) const {
    const Grid& g = grid(e->name);
    if (e->type != g.dtype) fail("lookup in '" + e->name + "' with the wrong type");
    if (e->args.size() != g.shape.size()) fail("'" + print(e) + "' needs one index per axis of '" + g.name + "'");
    for (const ExprPtr& i : e->args) {
      if (expr(i) != Type::int_) fail("the indices of '" + print(e) + "' must be int");
    }
    return e->type;
  }
  Type on_coord(const ExprPtr& e) const {
    if (e->axis < 0 || static_cast<std::size_t>(e->axis) >= point(e->points.at(0))) fail("'" + print(e) + "' has no such axis");
    if (e->type != Type::int_) fail("a coordinate is an int");
    return e->type;
  }
  Type on_distance(const ExprPtr& e) const {
    if (e->points.size() != 2 || point(e->points[0]) != point(e->points[1])) {
      fail("'" + print(e) + "' needs two points of one rank");
    }
    if (e->type != Type::float_) fail("a distance is a float");
    return e->type;
  }
  Type on_unary(const ExprPtr& e) const {
    const Type a = expr(e->args.at(0));
    if (!parse_unary_op(spelling(e->unary_op))) fail("unknown unary operator");
    if (e->unary_op == UnaryOp::neg && (!is_numeric(a) || e->type != a)) fail("'" + print(e) + "' negates a non-number");
    if (e->unary_op == UnaryOp::not_ && (a != Type::bool_ || e->type != Type::bool_)) fail("'" + print(e) + "' needs a bool");
    return e->type;
  }
  Type on_binary(const ExprPtr& e) const {
    if (e->args.size() != 2) fail("a binary operator takes two operands");
    const Type a = expr(e->args[0]), b = expr(e->args[1]);
    same(e, a, b);
    const BinaryOp op = e->binary_op;
    if (!parse_binary_op(spelling(op))) fail("unknown binary operator");
    if (is_logical(op)) {
      if (a != Type::bool_) fail("'" + print(e) + "' needs bool operands");
    } else if (is_comparison(op)) {
      if (a == Type::bool_ && op != BinaryOp::eq && op != BinaryOp::ne) fail("'" + print(e) + "' orders bools");
    } else {
      if (!is_numeric(a)) fail("'" + print(e) + "' does arithmetic on bools");
      if (op == BinaryOp::div && !is_floating(a)) fail("'" + print(e) + "' divides integers; the frontend converts them first");
      if (op == BinaryOp::pow && is_integral(a)) {
        const Expr& n = *e->args[1];
        if (n.kind != Expr::Kind::literal || std::get<std::int64_t>(n.value) < 0) {
          fail("'" + print(e) + "' raises an integer to a power that is not a literal >= 0");
        }
      }
    }
    const Type result = is_comparison(op) || is_logical(op) ? Type::bool_ : a;
    if (e->type != result) fail("'" + print(e) + "' has the wrong result type");
    return result;
  }
  Type on_select(const ExprPtr& e) const {
    if (e->args.size() != 3) fail("select takes three operands");
    if (expr(e->args[0]) != Type::bool_) fail("the condition of '" + print(e) + "' must be bool");
    const Type a = expr(e->args[1]), b = expr(e->args[2]);
    same(e, a, b);
    if (e->type != a) fail("'" + print(e) + "' has the wrong result type");
    return a;
  }
  Type on_cast(const ExprPtr& e) const {
    if (e->args.size() != 1) fail("a cast takes one operand");
    expr(e->args[0]);
    if (e->type == Type::bool_) fail("'" + print(e) + "' converts to bool; compare with zero instead");
    return e->type;
  }
  Type on_call(const ExprPtr& e) const {
    if (!parse_function(spelling(e->function))) fail("unknown function");
    const std::size_t n = static_cast<std::size_t>(arity(e->function));
    if (e->args.size() != n) fail("'" + std::string(spelling(e->function)) + "' takes " + std::to_string(n) + " operand(s)");
    const Type a = expr(e->args[0]);
    for (const ExprPtr& arg : e->args) same(e, a, expr(arg));
    if (!is_numeric(a)) fail("'" + print(e) + "' of a bool");
    if (is_float_function(e->function) && !is_floating(a)) fail("'" + print(e) + "' needs a floating-point operand");
    if (e->type != a) fail("'" + print(e) + "' has the wrong result type");
    return a;
  }

 private:

  void declare(const std::string& name, Local l, const Stmt& s) {
    if (!declared_.insert(name).second) fail("local '" + name + "' is declared twice", s);
    if (points_.count(name)) fail("local '" + name + "' has the name of a point", s);
    scopes_.back()[name] = l;
  }

  void block(const Block& b) {
    scopes_.emplace_back();
    for (const Stmt& s : b) {
      if (s.kind == Stmt::Kind::let || s.kind == Stmt::Kind::points) fail("a point loop holds no lets or point loops", s);
      stmt(s);
    }
    scopes_.pop_back();
  }

  void loop_body(const std::string& var, std::size_t rank, const Stmt& s) {
    if (points_.count(var) || lookup(var)) fail("loop variable '" + var + "' is already in use", s);
    points_[var] = rank;
    block(s.body);
    points_.erase(var);
  }

  void stmt(const Stmt& s) { dispatch(*this, s); }

 public:
  // The statement checks: every kind, none by default (an exhaustive visitor).
  void on_let(const Stmt& s) {
    // Unrolling copies a neighbour loop's body: a declaration there would be repeated.
    if (neighbor_depth_ > 0) fail("a neighbour loop's body declares no locals ('" + s.name + "')", s);
    if (expr(s.value) != s.type) fail("'" + s.name + "' is declared " + type_name(s.type) + " but given another type", s);
    declare(s.name, {s.type, s.kind == Stmt::Kind::var}, s);
  }
  void on_var(const Stmt& s) { on_let(s); }
  void on_assign(const Stmt& s) {
    const Local* l = lookup(s.name);
    if (!l) fail("assignment to undeclared '" + s.name + "'", s);
    if (!l->mutable_) fail("assignment to '" + s.name + "', which is a let", s);
    if (expr(s.value) != l->type) fail("assignment of the wrong type to '" + s.name + "'", s);
  }
  void on_store(const Stmt& s) {
    const Grid& g = grid(s.name);
    if (s.point.base != loop_point_ || !s.point.offset.empty()) {
      fail("a store writes the point of its loop, '" + loop_point_ + "', not '" + print(s.point) + "'", s);
    }
    if (g.shape.size() != point(s.point)) fail("store to '" + g.name + "' at a point of another rank", s);
    if (expr(s.value) != g.dtype) fail("store of a value of the wrong type to '" + g.name + "'", s);
  }
  void on_if(const Stmt& s) {
    if (expr(s.value) != Type::bool_) fail("an if condition must be bool", s);
    block(s.body);
    block(s.orelse);
  }
  void on_points(const Stmt& s) {
    loop_point_ = s.name;
    loop_body(s.name, grid(s.grid).shape.size(), s);
    loop_point_.clear();
  }
  void on_neighbors(const Stmt& s) {
    grid(s.grid);
    const std::size_t rank = point(s.point);
    for (const auto& o : s.offsets) {
      if (o.size() != rank) fail("neighbour offsets of '" + s.name + "' must have " + std::to_string(rank) + " entries", s);
    }
    ++neighbor_depth_;
    loop_body(s.name, rank, s);
    --neighbor_depth_;
  }

 private:
  const Kernel& k_;
  std::vector<std::map<std::string, Local>> scopes_;
  std::set<std::string> declared_;
  std::map<std::string, std::size_t> points_;
  std::string loop_point_;
  int neighbor_depth_ = 0;
};

}  // namespace

void verify(const Kernel& kernel) { Verifier(kernel).run(); }

}  // namespace asp::stencil
