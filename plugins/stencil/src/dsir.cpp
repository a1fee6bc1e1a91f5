#include "stencil/dsir.hpp"

#include <algorithm>

namespace asp::stencil {

const char* type_name(Type t) {
  switch (t) {
    case Type::int_: return "int";
    case Type::float_: return "float";
    case Type::bool_: return "bool";
    case Type::f64: return "f64";
    case Type::f32: return "f32";
    case Type::i64: return "i64";
    case Type::i32: return "i32";
  }
  return "?";
}

std::optional<Type> parse_type(std::string_view name) {
  for (Type t : {Type::int_, Type::float_, Type::bool_, Type::f64, Type::f32, Type::i64, Type::i32}) {
    if (name == type_name(t)) return t;
  }
  return std::nullopt;
}

bool Point::at_base() const {
  return std::all_of(offset.begin(), offset.end(), [](std::int64_t o) { return o == 0; });
}

Point displaced(const Point& p, const std::vector<std::int64_t>& by) {
  Point out = p;
  if (out.offset.size() < by.size()) out.offset.resize(by.size(), 0);
  for (std::size_t k = 0; k < by.size(); ++k) out.offset[k] += by[k];
  if (out.at_base()) out.offset.clear();
  return out;
}

ExprPtr make(Expr e) { return std::make_shared<const Expr>(std::move(e)); }

ExprPtr int_literal(std::int64_t v, Type t) {
  Expr e{Expr::Kind::literal, t};
  e.value = v;
  return make(std::move(e));
}

ExprPtr float_literal(double v, Type t) {
  Expr e{Expr::Kind::literal, t};
  e.value = v;
  return make(std::move(e));
}

ExprPtr bool_literal(bool v) {
  Expr e{Expr::Kind::literal, Type::bool_};
  e.value = v;
  return make(std::move(e));
}

ExprPtr local(std::string name, Type t) {
  Expr e{Expr::Kind::local, t};
  e.name = std::move(name);
  return make(std::move(e));
}

ExprPtr read(std::string grid, Type dtype, Point at) {
  Expr e{Expr::Kind::read, dtype};
  e.name = std::move(grid);
  e.points = {std::move(at)};
  return make(std::move(e));
}

ExprPtr lookup(std::string grid, Type dtype, std::vector<ExprPtr> indices) {
  Expr e{Expr::Kind::lookup, dtype};
  e.name = std::move(grid);
  e.args = std::move(indices);
  return make(std::move(e));
}

ExprPtr coord(Point p, int axis) {
  Expr e{Expr::Kind::coord, Type::int_};
  e.points = {std::move(p)};
  e.axis = axis;
  return make(std::move(e));
}

ExprPtr distance(Point a, Point b) {
  Expr e{Expr::Kind::distance, Type::float_};
  e.points = {std::move(a), std::move(b)};
  return make(std::move(e));
}

ExprPtr unary(UnaryOp op, ExprPtr a) {
  Expr e{Expr::Kind::unary, op == UnaryOp::not_ ? Type::bool_ : a->type};
  e.unary_op = op;
  e.args = {std::move(a)};
  return make(std::move(e));
}

ExprPtr binary(BinaryOp op, ExprPtr a, ExprPtr b) {
  Expr e{Expr::Kind::binary, is_comparison(op) || is_logical(op) ? Type::bool_ : a->type};
  e.binary_op = op;
  e.args = {std::move(a), std::move(b)};
  return make(std::move(e));
}

ExprPtr select(ExprPtr cond, ExprPtr a, ExprPtr b) {
  Expr e{Expr::Kind::select, a->type};
  e.args = {std::move(cond), std::move(a), std::move(b)};
  return make(std::move(e));
}

ExprPtr cast(Type to, ExprPtr a) {
  Expr e{Expr::Kind::cast, to};
  e.args = {std::move(a)};
  return make(std::move(e));
}

ExprPtr call(Function function, std::vector<ExprPtr> args) {
  Expr e{Expr::Kind::call, args.front()->type};
  e.function = function;
  e.args = std::move(args);
  return make(std::move(e));
}

bool is_literal(const ExprPtr& e) { return e->kind == Expr::Kind::literal; }


Stmt make_let(std::string name, ExprPtr value) {
  Stmt s{Stmt::Kind::let};
  s.name = std::move(name);
  s.type = value->type;
  s.value = std::move(value);
  return s;
}

Stmt make_var(std::string name, ExprPtr value) {
  Stmt s = make_let(std::move(name), std::move(value));
  s.kind = Stmt::Kind::var;
  return s;
}

Stmt make_assign(std::string name, ExprPtr value) {
  Stmt s{Stmt::Kind::assign};
  s.name = std::move(name);
  s.type = value->type;
  s.value = std::move(value);
  return s;
}

Stmt make_store(std::string grid, Point at, ExprPtr value) {
  Stmt s{Stmt::Kind::store};
  s.name = std::move(grid);
  s.point = std::move(at);
  s.type = value->type;
  s.value = std::move(value);
  return s;
}

Stmt make_if(ExprPtr cond, Block body, Block orelse) {
  Stmt s{Stmt::Kind::if_};
  s.type = Type::bool_;
  s.value = std::move(cond);
  s.body = std::move(body);
  s.orelse = std::move(orelse);
  return s;
}

const Grid* Kernel::grid(std::string_view name) const {
  for (const Grid& g : grids) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

ExprPtr rewrite_expr(const ExprPtr& e, const std::function<ExprPtr(ExprPtr)>& rewrite) {
  return ir::rewrite(e, [&](const ExprPtr& x) { return rewrite(x); });
}

Block rewrite_block(const Block& block, const std::function<ExprPtr(ExprPtr)>& rewrite) {
  struct Rewriter : StmtMutator<Rewriter> {
    explicit Rewriter(const std::function<ExprPtr(ExprPtr)>& r) : rewrite(r) {}
    ExprPtr expr(const ExprPtr& e) { return rewrite_expr(e, rewrite); }
    const std::function<ExprPtr(ExprPtr)>& rewrite;
  };
  return Rewriter(rewrite).block(block);
}

void for_each_expr(const ExprPtr& e, const std::function<void(const Expr&)>& visit) { ir::walk(e, visit); }

void for_each_stmt(const Block& block, const std::function<void(const Stmt&)>& visit) {
  struct Walker : StmtWalker<Walker> {
    explicit Walker(const std::function<void(const Stmt&)>& v) : visit(v) {}
    void otherwise(const Stmt& s) {
      visit(s);
      descend(s);
    }
    const std::function<void(const Stmt&)>& visit;
  };
  Walker(visit).block(block);
}

void for_each_expr(const Block& block, const std::function<void(const Expr&)>& visit) {
  struct Walker : StmtWalker<Walker> {
    explicit Walker(const std::function<void(const Expr&)>& v) : visit(v) {}
    void expr(const ExprPtr& e) { ir::walk(e, visit); }
    const std::function<void(const Expr&)>& visit;
  };
  Walker(visit).block(block);
}

std::vector<std::string> stored_grids(const Block& block) {
  struct Stores : StmtWalker<Stores>, ir::Exhaustive {
    void on_store(const Stmt& s) {
      if (std::find(grids.begin(), grids.end(), s.name) == grids.end()) grids.push_back(s.name);
    }
    void on_if(const Stmt& s) { descend(s); }
    void on_points(const Stmt& s) { descend(s); }
    void on_neighbors(const Stmt& s) { descend(s); }
    void on_let(const Stmt&) {}
    void on_var(const Stmt&) {}
    void on_assign(const Stmt&) {}
    std::vector<std::string> grids;
  } stores;
  stores.block(block);
  return std::move(stores.grids);
}

namespace {

Point replace(const Point& p, const std::string& var, const Point& with) {
  return p.base == var ? displaced(with, p.offset) : p;
}

}  // namespace

Block substitute_point(const Block& block, const std::string& var, const Point& with) {
  Block out = rewrite_block(block, [&](ExprPtr e) {
    if (e->points.empty()) return e;
    Expr copy = *e;
    for (Point& p : copy.points) p = replace(p, var, with);
    return copy.points == e->points ? e : make(std::move(copy));
  });
  // The statements that name a point: stores and neighbour loops (their centre).
  struct Points : StmtMutator<Points> {
    Points(const std::string& v, const Point& w) : var(v), with(w) {}
    void on_store(const Stmt& s, Block& out) {
      out.push_back(rebuild(s));
      out.back().point = replace(s.point, var, with);
    }
    void on_neighbors(const Stmt& s, Block& out) { on_store(s, out); }
    const std::string& var;
    const Point& with;
  };
  return Points(var, with).block(out);
}

}  // namespace asp::stencil
