#include "stencil/lowering.hpp"

#include "stencil/dsir_text.hpp"
#include "stencil/optimizers.hpp"

#include <asp/plugin.hpp>
#include <asp/psir_passes.hpp>
#include <asp/psir_verify.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace asp::stencil {

namespace {

namespace P = asp::psir;

P::Type ptype(Type t) {
  switch (t) {
    case Type::int_:
    case Type::i64: return P::Type::i64;
    case Type::float_:
    case Type::f64: return P::Type::f64;
    case Type::f32: return P::Type::f32;
    case Type::i32: return P::Type::i32;
    case Type::bool_: return P::Type::boolean;
  }
  return P::Type::f64;
}

bool psir_identifier(const std::string& name) {
  static const std::set<std::string> keywords = {"func", "for",  "let",  "var",    "store", "if",  "else", "select",
                                                 "neg",  "not",  "bitnot", "true", "false", "inf", "nan"};
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  if (!std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
    return false;
  }
  return !keywords.count(name) && !P::parse_type(name) && !P::find_intrinsic(name);
}

// Unique PSIR names. PSIR's own passes derive names from ours (tiling adds
// "_t", unrolling "_u<k>"), so those are kept free too.
class Namer {
 public:
  void take(const std::string& name) { used_.insert(name); }
  std::string unique(const std::string& base, std::initializer_list<const char*> derived = {}) {
    for (int k = 0;; ++k) {
      const std::string name = k == 0 ? base : base + "_" + std::to_string(k);
      bool free = psir_identifier(name) && !used_.count(name);
      for (const char* d : derived) free = free && !used_.count(name + d);
      if (!free) continue;
      used_.insert(name);
      for (const char* d : derived) used_.insert(name + d);
      return name;
    }
  }

 private:
  std::set<std::string> used_;
};

P::ExprPtr and_(const P::ExprPtr& a, const P::ExprPtr& b) { return a ? P::binary(P::BinaryOp::and_, a, b) : b; }
P::ExprPtr plus(const P::ExprPtr& a, std::int64_t n) { return n == 0 ? a : P::add(a, P::i64(n)); }

bool nonzero_literal(const ExprPtr& e) {
  if (!is_literal(e)) return false;
  if (const auto* d = std::get_if<double>(&e->value)) return *d != 0;
  return std::get<std::int64_t>(e->value) != 0;
}

// One interior loop nest, for the variants.
struct InteriorNest {
  std::vector<std::string> vars;  // outermost first
  P::ExprPtr trip;                // iterations of the innermost loop
  bool independent;               // no iteration reads what another writes
  std::uint64_t written_bytes;    // the size of the one grid it writes (0: it writes none or several)
};

class Lowerer : public asp::ir::Exhaustive {
 public:
  Lowerer(const Kernel& k, std::uint64_t last_level_cache) : k_(k), last_level_cache_(last_level_cache) {
    for (const Grid& g : k_.grids) {
      if (!psir_identifier(g.name)) {
        throw Error(ASP_ERR_UNSUPPORTED, "the grid parameter name '" + g.name + "' is reserved in the Kernel IR; rename it");
      }
      namer_.take(g.name);
    }
    for (const Grid& g : k_.grids) {
      function_.params.push_back(P::buffer_param(g.name, ptype(g.dtype), {}));
    }
    for (std::size_t i = 0; i < k_.grids.size(); ++i) {
      const Grid& g = k_.grids[i];
      std::vector<std::string> names;
      for (std::size_t j = 0; j < i && names.empty(); ++j) {
        if (k_.grids[j].shape == g.shape) names = extents_.at(k_.grids[j].name);
      }
      if (names.empty()) {
        for (std::size_t d = 0; d < g.shape.size(); ++d) {
          names.push_back(namer_.unique(g.name + "_n" + std::to_string(d)));
          function_.params.push_back(P::scalar_param(names.back(), P::Type::i64));
        }
      }
      function_.params[i].shape.assign(names.begin(), names.end());
      extents_[g.name] = names;
    }
    function_.name = psir_identifier(k_.name) ? k_.name : "kernel";
    for_each_stmt(k_.body, [&](const Stmt& s) {
      if (s.kind == Stmt::Kind::assign) assigned_.insert(s.name);
    });
  }

  P::Module run() {
    function_.body = block(k_.body);
    for (const auto& [axis, needed] : needed_extents_) {
      function_.requires_ = and_(function_.requires_, P::binary(P::BinaryOp::ge, extent(axis.first, axis.second), P::i64(needed)));
    }
    P::verify(function_);
    P::Module m;
    m.functions.push_back(function_);
    variants(m);
    P::verify(m);
    return m;
  }

 private:
  // The point loop being lowered: its grid and the PSIR variable of each axis.
  struct PointLoop {
    const Grid* grid = nullptr;
    Region region = Region::interior;
    std::string var;
    std::vector<std::string> vars;
  };

  P::ExprPtr extent(const std::string& grid, std::size_t axis) const {
    return P::var(extents_.at(grid).at(axis), P::Type::i64);
  }

  // ---- expressions ----

  P::ExprPtr axis_of(const Point& p, std::size_t k) const {
    if (p.base != loop_.var) throw std::logic_error("lowering: point " + print(p) + " is not of the loop (unrolled?)");
    return plus(P::var(loop_.vars.at(k), P::Type::i64), k < p.offset.size() ? p.offset[k] : 0);
  }

  // An index NumPy would wrap when negative; made data-dependent so the generated code checks it.
  P::ExprPtr wrapped(const P::ExprPtr& i, const std::string& grid, std::size_t axis) const {
    return P::select(P::binary(P::BinaryOp::lt, i, P::i64(0)), P::add(i, extent(grid, axis)), i);
  }

  P::ExprPtr read_at(const Expr& e) const {
    const Point& p = e.points[0];
    std::vector<P::ExprPtr> indices;
    for (std::size_t k = 0; k < loop_.vars.size(); ++k) {
      P::ExprPtr i = axis_of(p, k);
      const bool displaced = k < p.offset.size() && p.offset[k] != 0;
      // Interior offsets were checked against the ghost depth; border ones may leave the grid.
      if (displaced && loop_.region == Region::border) i = wrapped(i, e.name, k);
      indices.push_back(i);
    }
    return P::load(e.name, ptype(e.type), std::move(indices));
  }

  P::ExprPtr lookup_at(const Expr& e) {
    const Grid& g = *k_.grid(e.name);
    std::vector<P::ExprPtr> indices;
    for (std::size_t k = 0; k < e.args.size(); ++k) {
      const ExprPtr index = fold(e.args[k]);
      if (is_literal(index)) {
        // Known now: checked against these arrays now, and by a run check on every call.
        const std::int64_t c = std::get<std::int64_t>(index->value);
        const std::int64_t needed = c < 0 ? -c : c + 1;  // the smallest extent that has index c
        if (g.shape[k] < needed) {
          throw Error(ASP_ERR_INVALID_ARGUMENT, "grid '" + g.name + "' is read at index " + std::to_string(c) +
                                                    " along axis " + std::to_string(k) + ", outside its extent " +
                                                    std::to_string(g.shape[k]));
        }
        std::int64_t& most = needed_extents_.try_emplace({g.name, k}, needed).first->second;
        most = std::max(most, needed);
        indices.push_back(c < 0 ? P::add(extent(g.name, k), P::i64(c)) : P::i64(c));
      } else if (index->kind == Expr::Kind::call && index->function == Function::abs) {
        // Never negative (but for the most negative integer, which the check rejects): nothing to wrap.
        indices.push_back(expr(index));
      } else {
        indices.push_back(wrapped(expr(index), g.name, k));
      }
    }
    return P::load(e.name, ptype(e.type), std::move(indices));
  }

  P::ExprPtr expr(const ExprPtr& e) { return dispatch(*this, e); }

 public:
  // The translation of every DSIR kind (exhaustive: none may be left out).
  P::ExprPtr on_literal(const ExprPtr& e) {
    if (const auto* b = std::get_if<bool>(&e->value)) return P::boolean(*b);
    if (const auto* d = std::get_if<double>(&e->value)) return P::constant(ptype(e->type), *d);
    return P::constant(ptype(e->type), std::get<std::int64_t>(e->value));
  }
  P::ExprPtr on_local(const ExprPtr& e) { return P::var(names_.at(e->name), ptype(e->type)); }
  P::ExprPtr on_read(const ExprPtr& e) { return read_at(*e); }
  P::ExprPtr on_lookup(const ExprPtr& e) { return lookup_at(*e); }
  P::ExprPtr on_coord(const ExprPtr& e) { return axis_of(e->points[0], static_cast<std::size_t>(e->axis)); }
  P::ExprPtr on_distance(const ExprPtr& e) {
    // Python: math.sqrt(sum((a - b) ** 2)), the sum an exact integer.
    P::ExprPtr sum;
    for (std::size_t k = 0; k < loop_.vars.size(); ++k) {
      const P::ExprPtr d = P::sub(axis_of(e->points[0], k), axis_of(e->points[1], k));
      sum = sum ? P::add(sum, P::mul(d, d)) : P::mul(d, d);
    }
    return P::call(P::Intrinsic::sqrt, {P::cast(P::Type::f64, sum)});
  }
  P::ExprPtr on_unary(const ExprPtr& e) {
    return P::unary(e->unary_op == UnaryOp::neg ? P::UnaryOp::neg : P::UnaryOp::not_, expr(e->args[0]));
  }
  P::ExprPtr on_binary(const ExprPtr& e) { return binary(*e); }
  P::ExprPtr on_select(const ExprPtr& e) { return P::select(expr(e->args[0]), expr(e->args[1]), expr(e->args[2])); }
  P::ExprPtr on_cast(const ExprPtr& e) {
    const P::ExprPtr a = expr(e->args[0]);
    return a->type == ptype(e->type) ? a : checked(P::cast(ptype(e->type), a));
  }
  P::ExprPtr on_call(const ExprPtr& e) {
    std::vector<P::ExprPtr> args;
    for (const ExprPtr& a : e->args) args.push_back(expr(a));
    // PSIR has every DSIR function, by the same name.
    return checked(P::call(*P::parse_intrinsic(spelling(e->function)), std::move(args)));
  }

 private:
  // A math function or a float-to-int conversion raises in Python where C
  // gives nan or inf: marked with the statement's line, the generated code
  // reports it (ASP_C_PYTHON_ERROR). Every such call and cast of the DSIR is
  // Python's (math.sqrt, int(), math.floor, a float stored into an int grid).
  P::ExprPtr checked(P::ExprPtr e) const { return line_ && P::may_raise(*e) ? P::raising(e, line_) : e; }

  P::ExprPtr binary(const Expr& e) {
    const ExprPtr& rhs = e.args[1];
    const P::ExprPtr a = expr(e.args[0]), b = expr(rhs);
    const Type t = e.args[0]->type;
    const BinaryOp op = e.binary_op;
    if (op == BinaryOp::and_) return P::binary(P::BinaryOp::and_, a, b);
    if (op == BinaryOp::or_) return P::binary(P::BinaryOp::or_, a, b);
    if (op == BinaryOp::pow) {
      if (is_floating(t)) return P::call(P::Intrinsic::pow, {a, b});
      // An integer to a literal power: exact by multiplication, in any order.
      const std::int64_t n = std::get<std::int64_t>(rhs->value);
      if (n == 0) return P::constant(ptype(t), std::int64_t{1});
      P::ExprPtr r = a;
      for (std::int64_t k = 1; k < n; ++k) r = P::mul(r, a);
      return r;
    }
    // + - * and the comparisons: C's, spelled alike in PSIR.
    if (op != BinaryOp::div && op != BinaryOp::floordiv && op != BinaryOp::mod) {
      return P::binary(*P::parse_binary_op(spelling(op)), a, b);
    }
    const auto divide = [&] {
      return op == BinaryOp::div ? P::binary(P::BinaryOp::div, a, b)
                                 : P::call(op == BinaryOp::floordiv ? P::Intrinsic::floordiv : P::Intrinsic::mod, {a, b});
    };
    // Python's own numbers raise on a zero divisor (the generated code returns ASP_C_ZERO_DIVISION);
    // NumPy's give what IEEE arithmetic gives (floats) or 0 (integers).
    if (is_weak(t) || nonzero_literal(rhs)) return divide();
    const P::ExprPtr is_zero = P::binary(P::BinaryOp::eq, b, P::constant(ptype(t), is_floating(t) ? P::Value(0.0) : P::Value(std::int64_t{0})));
    if (!is_floating(t)) return P::select(is_zero, P::constant(ptype(t), std::int64_t{0}), divide());
    // a / ±0: pow(±0, -1) is ±inf with the zero's sign, and a * ±inf is what IEEE a / ±0 is,
    // to the bits of its nan. NumPy's a % 0 is libm's fmod(a, 0): a's nan, or the default one.
    const P::ExprPtr inverse = P::call(P::Intrinsic::pow, {b, P::constant(ptype(t), -1.0)});
    const P::ExprPtr special = op == BinaryOp::mod ? P::mul(P::mul(a, P::constant(ptype(t), 0.0)), inverse) : P::mul(a, inverse);
    return P::select(is_zero, special, divide());
  }

  // ---- statements ----

  std::string local_name(const std::string& dsir) {
    std::string clean = dsir;
    std::replace(clean.begin(), clean.end(), '.', '_');
    return namer_.unique("v" + std::to_string(names_.size()) + "_" + clean, {"_u1", "_u2", "_u3"});
  }

  P::Block block(const Block& in) {
    P::Block out;
    for (const Stmt& s : in) {
      line_ = s.line;
      dispatch(*this, s, out);
    }
    return out;
  }

 public:
  void on_let(const Stmt& s, P::Block& out) {
    const P::ExprPtr value = expr(s.value);
    const std::string name = local_name(s.name);
    names_[s.name] = name;
    out.push_back(assigned_.count(s.name) ? P::make_decl(name, value) : P::make_let(name, value));
  }
  void on_var(const Stmt& s, P::Block& out) { on_let(s, out); }
  void on_assign(const Stmt& s, P::Block& out) { out.push_back(P::make_assign(names_.at(s.name), expr(s.value))); }
  void on_store(const Stmt& s, P::Block& out) {
    std::vector<P::ExprPtr> indices;
    for (std::size_t k = 0; k < loop_.vars.size(); ++k) indices.push_back(axis_of(s.point, k));
    out.push_back(P::make_store(s.name, std::move(indices), expr(s.value)));
  }
  void on_if(const Stmt& s, P::Block& out) {
    const P::ExprPtr cond = expr(s.value);
    P::Block then_block = block(s.body);
    out.push_back(P::make_if(cond, std::move(then_block), block(s.orelse)));
  }
  void on_points(const Stmt& s, P::Block& out) {
    for (P::Stmt& l : point_loop(s)) out.push_back(std::move(l));
  }
  void on_neighbors(const Stmt&, P::Block&) { throw std::logic_error("lowering: a neighbour loop, which lower() refuses"); }

 private:
  // Whether the loop's points are independent: it reads no grid it writes,
  // except each point itself. Otherwise Python's order is observable.
  static bool independent(const Stmt& loop) {
    const std::vector<std::string> stores = stored_grids(loop.body);
    const std::set<std::string> written(stores.begin(), stores.end());
    bool ok = true;
    for_each_expr(loop.body, [&](const Expr& e) {
      if (e.kind == Expr::Kind::lookup && written.count(e.name)) ok = false;
      if (e.kind == Expr::Kind::read && written.count(e.name) && !e.points[0].at_base()) ok = false;
    });
    return ok;
  }

  // In a loop whose points are independent, each grid it writes lives in a
  // local for the point, stored once at the end: otherwise the compiler must
  // keep every intermediate store, in case a read in between aliases it. The
  // local starts as the grid's value, or as the first value stored when that
  // store comes first.
  Block shadowed(const Stmt& loop) const {
    const Point at{loop.name, {}};
    std::vector<const Grid*> written;
    for (const std::string& g : stored_grids(loop.body)) written.push_back(k_.grid(g));
    auto reads = [&](const Stmt& s, const std::string& grid) {
      bool found = false;
      for_each_expr(Block{s}, [&](const Expr& e) { found |= e.kind == Expr::Kind::read && e.name == grid; });
      return found;
    };
    auto stores = [&](const Stmt& s, const std::string& grid) {
      const std::vector<std::string> grids = stored_grids(Block{s});
      return std::find(grids.begin(), grids.end(), grid) != grids.end();
    };
    std::map<std::string, std::string> shadow;
    std::map<std::string, const Stmt*> starts;  // the store that declares the local, if one comes first
    for (const Grid* g : written) {
      shadow[g->name] = "store." + g->name;  // no Python local has a '.' then a letter
      for (const Stmt& s : loop.body) {
        if (reads(s, g->name)) break;
        if (stores(s, g->name)) {
          if (s.kind == Stmt::Kind::store) starts[g->name] = &s;
          break;
        }
      }
    }
    // Reads of the point become reads of its local, stores assign the local.
    struct Shadow : StmtMutator<Shadow> {
      Shadow(const std::map<std::string, std::string>& sh, const std::map<std::string, const Stmt*>& st)
          : shadow(sh), starts(st) {}
      ExprPtr expr(const ExprPtr& e) {
        return rewrite_expr(e, [&](ExprPtr x) {
          if (x->kind != Expr::Kind::read || !x->points[0].at_base() || !shadow.count(x->name)) return x;
          return local(shadow.at(x->name), x->type);
        });
      }
      void on_store(const Stmt& s, Block& out) {
        const ExprPtr value = expr(s.value);
        const bool first = starts.count(s.name) && starts.at(s.name) == &s;
        Stmt c = first ? make_var(shadow.at(s.name), value) : make_assign(shadow.at(s.name), value);
        c.line = s.line;
        c.column = s.column;
        out.push_back(std::move(c));
      }
      const std::map<std::string, std::string>& shadow;
      const std::map<std::string, const Stmt*>& starts;
    };
    Block out;
    for (const Grid* g : written) {
      if (!starts.count(g->name)) out.push_back(make_var(shadow.at(g->name), read(g->name, g->dtype, at)));
    }
    for (Stmt& s : Shadow(shadow, starts).block(loop.body)) out.push_back(std::move(s));
    for (const Grid* g : written) out.push_back(make_store(g->name, at, local(shadow.at(g->name), g->dtype)));
    return out;
  }

  P::Block point_loop(const Stmt& s) {
    const Grid& g = *k_.grid(s.grid);
    const std::size_t rank = g.shape.size();
    loop_ = PointLoop{&g, s.region, s.name, {}};
    for (std::size_t k = 0; k < rank; ++k) loop_.vars.push_back(namer_.unique(s.name + "_" + std::to_string(k), {"_t"}));
    const bool parallel = independent(s);
    if (parallel) {
      for_each_stmt(s.body, [&](const Stmt& t) {
        if (t.kind == Stmt::Kind::store) assigned_.insert("store." + t.name);
      });
    }
    const P::Block body = block(parallel ? shadowed(s) : s.body);
    P::Block out;
    if (s.region == Region::interior) {
      const std::int64_t d = g.ghost;
      P::Block inner = body;
      for (std::size_t k = rank; k-- > 0;) {
        // Every loop of an independent nest says so, not only the outermost:
        // the C backends share out the outermost alone, but a device backend
        // maps the whole nest onto its grid.
        P::LoopKind kind = P::LoopKind::serial;
        if (parallel) kind = k > 0 && k + 1 == rank ? P::LoopKind::vectorized : P::LoopKind::parallel;
        P::Loop l{loop_.vars[k], P::i64(d), plus(extent(g.name, k), -d), 1, kind, 0, std::move(inner)};
        inner = {P::make_loop(std::move(l))};
      }
      out = std::move(inner);
      std::set<std::string> written;
      for_each_stmt(s.body, [&](const Stmt& t) {
        if (t.kind == Stmt::Kind::store) written.insert(t.name);
      });
      std::uint64_t bytes = 0;
      if (written.size() == 1) {
        const Grid& w = *k_.grid(*written.begin());
        bytes = w.dtype == Type::f32 || w.dtype == Type::i32 ? 4 : 8;
        for (std::int64_t n : w.shape) bytes *= static_cast<std::uint64_t>(n);
      }
      interiors_.push_back({loop_.vars, plus(extent(g.name, rank - 1), -2 * d), parallel, bytes});
    } else if (g.ghost > 0) {
      out = border(body, 0, false, parallel);
    }
    loop_ = PointLoop{};
    return out;
  }

  // The border points in row-major order: along an axis where the point is
  // already in the border, every index; otherwise the two bands [0, d) and
  // [n - d, n) (all of it when n <= 2d), by an `if` on all but the last axis.
  P::Block border(const P::Block& body, std::size_t k, bool in_border, bool parallel) const {
    const std::size_t rank = loop_.vars.size();
    if (k == rank) return body;
    const std::string& v = loop_.vars[k];
    const P::ExprPtr n = extent(loop_.grid->name, k), d = P::i64(loop_.grid->ghost), i = P::var(v, P::Type::i64);
    const P::LoopKind kind = parallel && k == 0 ? P::LoopKind::parallel : P::LoopKind::serial;
    auto loop = [&](P::ExprPtr lo, P::ExprPtr hi, P::Block b) { return P::make_loop(P::Loop{v, lo, hi, 1, kind, 0, std::move(b)}); };
    if (in_border) return {loop(P::i64(0), n, border(body, k + 1, true, parallel))};
    if (k + 1 == rank) {
      return {loop(P::i64(0), P::call(P::Intrinsic::min, {d, n}), body), loop(P::call(P::Intrinsic::max, {P::sub(n, d), d}), n, body)};
    }
    const P::ExprPtr edge = P::binary(P::BinaryOp::or_, P::binary(P::BinaryOp::lt, i, d), P::binary(P::BinaryOp::ge, i, P::sub(n, d)));
    return {loop(P::i64(0), n, {P::make_if(edge, border(body, k + 1, true, parallel), border(body, k + 1, false, parallel))})};
  }

  // ---- variants ----

  static void set_kind(P::Block& block, const std::string& var, P::LoopKind kind) {
    for (P::Stmt& s : block) {
      if (!s.loop) {
        set_kind(s.then_block, var, kind);
        set_kind(s.else_block, var, kind);
        continue;
      }
      P::Loop l = *s.loop;
      if (l.var == var) l.kind = kind;
      set_kind(l.body, var, kind);
      s.loop = std::make_shared<P::Loop>(std::move(l));
    }
  }

  // Expression nodes of the kernel. Past a few thousand (a neighbourhood of
  // hundreds of points, say) a point costs far more than the loop around it:
  // unrolled or tiled copies would only make the compile slower.
  std::size_t body_size() const {
    std::size_t nodes = 0;
    auto count = [&](const P::Expr&) { ++nodes; };
    P::for_each_expr(function_.body, count);
    return nodes;
  }

  void variants(P::Module& m) const {
    if (interiors_.empty() || body_size() > 2000) return;
    const P::Function plain = m.functions.front();  // a copy: the module grows
    for (auto [factor, remainder] : {std::pair{2, false}, {4, false}, {4, true}}) {
      P::Function f = plain;
      f.name = plain.name + "_unroll" + std::to_string(factor) + (remainder ? "_rem" : "");
      for (const InteriorNest& nest : interiors_) {
        f = P::run_pass(f, [&](const P::Function& x) { return P::unroll(x, nest.vars.back(), factor, remainder); });
        if (!remainder) {
          f.requires_ = and_(f.requires_, P::binary(P::BinaryOp::eq, P::binary(P::BinaryOp::rem, nest.trip, P::i64(factor)), P::i64(0)));
        }
      }
      m.functions.push_back(std::move(f));
    }
    // Cache blocking: tiles of the two outer axes, so that the rows a tile
    // reads again stay in L2 (64 x 64 rows of a 3-D grid, 64 x 256 points of a 2-D one).
    bool tiled = false;
    P::Function f = plain;
    f.name = plain.name + "_tiled";
    for (const InteriorNest& nest : interiors_) {
      if (nest.vars.size() < 2 || nest.vars.size() > 3 || !nest.independent) continue;
      const std::vector<std::string> outer{nest.vars[0], nest.vars[1]};
      const std::vector<std::int64_t> sizes{64, nest.vars.size() == 2 ? 256 : 64};
      f = P::run_pass(f, [&](const P::Function& x) {
        P::Function t = P::tile(x, outer, sizes);
        set_kind(t.body, outer[1] + "_t", P::LoopKind::serial);
        return t;
      });
      tiled = true;
    }
    if (tiled) m.functions.push_back(std::move(f));
    // Streaming stores: only where the written grid does not fit the
    // last-level cache (a grid that fits is better left there for the next
    // sweep to read), and as a variant the tuner times against the others.
    bool streamed = false;
    f = plain;
    f.name = plain.name + "_stream";
    for (const InteriorNest& nest : interiors_) {
      if (!nest.independent || nest.vars.size() < 2 || last_level_cache_ == 0 || nest.written_bytes <= last_level_cache_) {
        continue;
      }
      set_kind(f.body, nest.vars.back(), P::LoopKind::streaming);
      streamed = true;
    }
    if (streamed) m.functions.push_back(std::move(f));
  }

  const Kernel& k_;
  std::uint64_t last_level_cache_;  // bytes; 0 when unknown
  Namer namer_;
  P::Function function_;
  std::map<std::string, std::vector<std::string>> extents_;  // grid -> extent parameter per axis
  std::set<std::string> assigned_;                            // DSIR locals that are assigned after their declaration
  std::map<std::string, std::string> names_;                  // DSIR local -> PSIR name
  // The smallest extent along each axis of a grid that has every constant
  // index read there: the run check keeps a kernel specialized for larger
  // arrays from reading past smaller ones.
  std::map<std::pair<std::string, std::size_t>, std::int64_t> needed_extents_;
  std::vector<InteriorNest> interiors_;
  PointLoop loop_;
  unsigned line_ = 0;  // the line of the statement being lowered (DSIR Stmt::line)
};

}  // namespace

P::Module lower(const Kernel& kernel, std::uint64_t last_level_cache) {
  for_each_stmt(kernel.body, [](const Stmt& s) {
    if (s.kind != Stmt::Kind::neighbors) return;
    throw std::logic_error("the stencil lowering was given DSIR with a neighbour loop (line " + std::to_string(s.line) +
                           "): it reads DSIR after the optimizer stencil-unroll-neighbors, which the stencil plugin "
                           "declares before it (stencil/passes.hpp)");
  });
  return Lowerer(kernel, last_level_cache).run();
}

}  // namespace asp::stencil
