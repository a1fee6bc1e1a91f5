#include "stencil/frontend.hpp"

#include "stencil/dsir_text.hpp"
#include "stencil/dsir_verify.hpp"
#include "stencil/optimizers.hpp"

#include <asp/frontend_kit.hpp>
#include <asp/plugin.hpp>

#include <cmath>
#include <map>
#include <set>

namespace asp::stencil {

namespace {

namespace kit = asp::frontend_kit;
using kit::child;
using kit::empty_list;
using kit::field;
using kit::invalid;
using kit::item;
using kit::items;
using kit::List;
using kit::malformed;
using kit::Node;
using kit::slice_of;
using kit::source;
using kit::text;
using kit::unsupported;
using kit::Value;

// ---- Python's operators and numbers in DSIR -------------------------------------------------

// Python's operator node kinds as DSIR operators; nullopt when unsupported.
std::optional<BinaryOp> binary_operator(const Node& op) {
  static const std::map<std::string, BinaryOp> ops = {{"Add", BinaryOp::add},  {"Sub", BinaryOp::sub},
                                                      {"Mult", BinaryOp::mul}, {"Div", BinaryOp::div},
                                                      {"FloorDiv", BinaryOp::floordiv}, {"Mod", BinaryOp::mod},
                                                      {"Pow", BinaryOp::pow}};
  auto it = ops.find(op.kind);
  return it == ops.end() ? std::nullopt : std::optional<BinaryOp>(it->second);
}

std::optional<BinaryOp> comparison_operator(const Node& op) {
  static const std::map<std::string, BinaryOp> ops = {{"Eq", BinaryOp::eq}, {"NotEq", BinaryOp::ne}, {"Lt", BinaryOp::lt},
                                                      {"LtE", BinaryOp::le}, {"Gt", BinaryOp::gt},   {"GtE", BinaryOp::ge}};
  auto it = ops.find(op.kind);
  return it == ops.end() ? std::nullopt : std::optional<BinaryOp>(it->second);
}

// The DSIR function of a math or builtins name the translator accepted (sqrt, min, ...).
Function function_named(const Node& at, std::string_view name) {
  const std::optional<Function> f = parse_function(name);
  if (!f) unsupported(at, "the function '" + std::string(name) + "' is not supported");
  return *f;
}

// How an operator node's kind is written in Python, for messages.
std::string python_operator(const std::string& kind) { return std::string(kit::operator_symbol(kind)); }

// The DSIR types are Python's int and float and the NumPy types a grid can
// have; they promote by the kit's table (NumPy 2, NEP 50 weak Python numbers).
constexpr kit::TypeMap<Type, 7> numeric{{{{Type::int_, kit::Scalar::py_int},
                                          {Type::float_, kit::Scalar::py_float},
                                          {Type::bool_, kit::Scalar::bool_},
                                          {Type::f64, kit::Scalar::float64},
                                          {Type::f32, kit::Scalar::float32},
                                          {Type::i64, kit::Scalar::int64},
                                          {Type::i32, kit::Scalar::int32}}}};

// The NumPy types kernels compute in: a grid's, or a NumPy scalar's that a
// kernel reads (a NumPy bool is read as a truth value).
bool computable(kit::Scalar s) {
  using S = kit::Scalar;
  return s == S::float64 || s == S::float32 || s == S::int64 || s == S::int32;
}

// The type of an arithmetic result.
Type promote(Type a, Type b) { return numeric.promote(a, b); }

ExprPtr convert(const ExprPtr& e, Type t) { return e->type == t ? e : cast(t, e); }

// The one type a local can have after an `if` whose branches gave it types a and b.
std::optional<Type> merged_type(Type a, Type b) { return numeric.computes_alike(a, b); }

ExprPtr zero(Type t) {
  if (t == Type::bool_) return bool_literal(false);
  return is_floating(t) ? float_literal(0.0, t) : int_literal(0, t);
}

// Python's truth value of a number: non-zero (nan included).
ExprPtr truth(const ExprPtr& e) { return e->type == Type::bool_ ? e : binary(BinaryOp::ne, e, zero(e->type)); }

const std::set<std::string> supported_calls = {
    "builtins.abs", "builtins.min", "builtins.max", "builtins.int",  "builtins.float", "math.sqrt",
    "math.exp",     "math.log",     "math.sin",     "math.cos",      "math.tan",       "math.floor",
    "math.ceil",    "math.fabs",    "asp.stencil.distance"};

// ---- the translator ------------------------------------------------------------------------

struct Binding {
  std::string dsir;
  Type type;
  bool mutable_;
  bool operator==(const Binding&) const = default;
};

// What a Python local holds at this point of the kernel: a DSIR value, or
// nothing the specialized code can read, for the reason given.
struct Slot {
  std::optional<Binding> binding;
  std::string why;
  bool operator==(const Slot&) const = default;
};

using Env = std::map<std::string, Slot>;

class Translator {
 public:
  Translator(const Translator&) = delete;  // its statement handlers hold `this`
  Translator& operator=(const Translator&) = delete;
  Translator(std::string_view tree_text, std::span<const asp_arg> args) : root_(kit::parse(tree_text)) {
    const Node* s = root_.node();
    if (!s || s->kind != "Specialize") malformed("the root is not a Specialize node");
    function_ = &child(*s, "function");
    if (function_->kind != "FunctionDef") unsupported(*function_, "a kernel must be a plain method ('def kernel(self, ...)')");
    for (const Value& c : items(*s, "constants")) {
      const Node& constant = item(c);
      constants_[text(constant, "name")] = &field(constant, "value");
    }
    parameters(args);
    // Every name the function assigns is a local of the whole function, as in Python.
    python_locals_ = kit::assigned_names(items(*function_, "body"));
  }

  Kernel run() {
    Kernel k;
    k.name = text(*function_, "name");
    const List& body = items(*function_, "body");
    for (std::size_t i = 0; i < body.size(); ++i) {
      const Node& s = item(body[i]);
      if (s.kind == "Return" && i + 1 == body.size() && field(s, "value").is_none()) continue;
      statement(s, k.body);
    }
    k.grids = grids_;
    try {
      verify(k);
    } catch (const Error& e) {
      throw std::logic_error(std::string("the frontend wrote invalid DSIR: ") + e.what());
    }
    return k;
  }

 private:
  // ---- parameters and constants ----

  static Type dtype_of(const asp_arg& a) {
    const std::optional<kit::Scalar> s = kit::numpy_dtype(a.tensor.dtype);
    if (s && computable(*s)) return *numeric.type(*s);
    throw Error(ASP_ERR_UNSUPPORTED, std::string("grid '") + a.name +
                                         "' has a dtype other than float64, float32, int64 or int32");
  }

  void parameters(std::span<const asp_arg> args) {
    const Node& arguments = child(*function_, "args");
    if (!empty_list(arguments, "posonlyargs") || !empty_list(arguments, "kwonlyargs") ||
        !field(arguments, "vararg").is_none() || !field(arguments, "kwarg").is_none()) {
      unsupported(*function_, "a kernel takes its grids as plain parameters (no *args, **kwargs or keyword-only ones)");
    }
    const List& params = items(arguments, "args");
    if (params.empty()) unsupported(*function_, "a kernel is a method: its first parameter is self");
    self_ = text(item(params[0]), "arg");
    std::string expected, given;
    for (std::size_t i = 1; i < params.size(); ++i) expected += (i > 1 ? ", " : "") + text(item(params[i]), "arg");
    for (std::size_t i = 0; i < args.size(); ++i) given += (i ? ", " : "") + std::string(args[i].name ? args[i].name : "?");
    if (expected != given) {
      throw Error(ASP_ERR_INVALID_ARGUMENT, "the kernel's grid parameters (" + expected +
                                                ") do not match the arguments it was called with (" + given + ")");
    }
    for (const asp_arg& a : args) {
      const std::string name = a.name;
      if (a.kind != ASP_ARG_TENSOR) throw Error(ASP_ERR_UNSUPPORTED, "argument '" + name + "' is not a grid");
      if (a.tensor.ndim < 1 || a.tensor.ndim > 4) {
        throw Error(ASP_ERR_UNSUPPORTED, "grid '" + name + "' has " + std::to_string(a.tensor.ndim) +
                                             " axes; a stencil grid has one to four");
      }
      Grid g{name, dtype_of(a), {}, 0};
      std::int64_t expected_stride = 1;
      for (int d = a.tensor.ndim; d-- > 0;) {
        const std::int64_t n = a.tensor.shape[d];
        if (n < 0) throw Error(ASP_ERR_INVALID_ARGUMENT, "grid '" + name + "' has a negative extent");
        if (a.tensor.strides && n > 1 && a.tensor.strides[d] != expected_stride) {
          throw Error(ASP_ERR_UNSUPPORTED, "grid '" + name + "' is not C-contiguous");
        }
        expected_stride *= n;
      }
      g.shape.assign(a.tensor.shape, a.tensor.shape + a.tensor.ndim);
      if (auto it = constants_.find(name + ".ghost_depth"); it != constants_.end() && it->second->integer()) {
        g.ghost = *it->second->integer();
        if (g.ghost < 0) throw Error(ASP_ERR_INVALID_ARGUMENT, "grid '" + name + "' has a negative ghost depth");
      }
      grids_.push_back(g);
    }
  }

  const Grid* grid(const std::string& name) const {
    for (const Grid& g : grids_) {
      if (g.name == name) return &g;
    }
    return nullptr;
  }

  const Value* constant(const std::string& name) const {
    auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : it->second;
  }

  // A number the binding resolved (a global, a closure variable, self.constants[...]).
  ExprPtr number(const Node& at, const std::string& what, const Value& v) const {
    if (const auto* i = v.integer()) return int_literal(*i);
    if (const auto* d = v.real()) return float_literal(*d);
    if (const auto* b = v.boolean()) return bool_literal(*b);
    if (const auto* s = v.string()) {
      const bool module = s->rfind("module:", 0) == 0;
      unsupported(at, "'" + what + "' is " + (module ? "a module" : "a function") + ", not a number");
    }
    if (const Node* n = v.node(); n && n->kind == "NumPyScalar") return numpy_number(at, what, *n);
    if (const Node* n = v.node(); n && n->kind == "BigInt") {
      unsupported(at, "'" + what + "' is an integer wider than 64 bits (Python's integers of any size are not specialized)");
    }
    unsupported(at, "'" + what + "' is not a number (only numbers and bools are constants a kernel can read)");
  }

  // A NumPy scalar (np.float64(0.5), np.int32(3)): a number of its own NumPy
  // type, which operators promote as a grid value of that dtype (NEP 50), not
  // as a Python number of the same value.
  static ExprPtr numpy_number(const Node& at, const std::string& what, const Node& n) {
    const std::string dtype = text(n, "dtype");
    const Value& v = field(n, "value");
    const std::optional<kit::Scalar> s = kit::numpy_dtype(dtype);
    if (s == kit::Scalar::bool_ && v.boolean()) return bool_literal(*v.boolean());
    if (s && computable(*s)) {
      const Type t = *numeric.type(*s);
      if (is_floating(t) && v.real()) return float_literal(*v.real(), t);
      if (!is_floating(t) && v.integer()) return int_literal(*v.integer(), t);
    }
    unsupported(at, "'" + what + "' is a NumPy " + dtype + ", which kernels do not compute in; convert it with float() or int()");
  }

  // ---- names ----

  std::string fresh(const std::string& python_name) {
    const int n = versions_[python_name]++;
    return n == 0 ? python_name : python_name + "." + std::to_string(n);
  }

  template <class S>
  static S located(S s, const Node& n) {
    s.line = n.line;
    s.column = n.column;
    return s;
  }

  void check_assignable(const Node& at, const std::string& name) const {
    if (points_.count(name)) unsupported(at, "assignment to the point '" + name + "' is not supported");
    if (grid(name)) unsupported(at, "assignment to the grid parameter '" + name + "' is not supported");
    if (name == self_) unsupported(at, "assignment to '" + name + "' is not supported");
  }

  void assign_local(const Node& at, const std::string& name, const ExprPtr& value, Block& out, bool kernel_level) {
    check_assignable(at, name);
    Slot& slot = env_[name];
    if (!kernel_level && slot.binding && slot.binding->mutable_ && slot.binding->type == value->type) {
      out.push_back(located(make_assign(slot.binding->dsir, value), at));
      return;
    }
    const std::string dsir = fresh(name);
    out.push_back(located(kernel_level ? make_let(dsir, value) : make_var(dsir, value), at));
    slot = Slot{Binding{dsir, value->type, !kernel_level}, ""};
  }

  ExprPtr name_value(const Node& n) {
    const std::string id = text(n, "id");
    if (points_.count(id)) unsupported(n, "the point '" + id + "' is used as a number; index a grid with it or take x[k]");
    if (python_locals_.count(id)) {
      auto it = env_.find(id);
      if (it == env_.end()) unsupported(n, "'" + id + "' is read before it is assigned");
      if (!it->second.binding) unsupported(n, it->second.why);
      return local(it->second.binding->dsir, it->second.binding->type);
    }
    if (grid(id)) unsupported(n, "the grid '" + id + "' is used as a number; read a point of it");
    if (id == self_) unsupported(n, "'" + id + "' is used as a value");
    if (const Value* v = constant(id)) return number(n, id, *v);
    unsupported(n, "read of unknown name '" + id + "' (a kernel reads numbers from self.constants, as '" + id +
                       "' or self.constants['" + id + "'], and from globals and closures)");
  }

  // The point a Name stands for, or nullptr.
  const std::string* point_name(const Node& n) const {
    if (n.kind != "Name") return nullptr;
    auto it = points_.find(text(n, "id"));
    return it == points_.end() ? nullptr : &it->first;
  }

  // ---- statements ----

  [[noreturn]] void assignment_target(const Node& target) {
    if (target.kind == "Attribute") unsupported(target, "assignment to the attribute '" + source(target) + "' is not supported");
    if (target.kind == "Tuple" || target.kind == "List" || target.kind == "Starred") {
      unsupported(target, "unpacking assignments are not supported");
    }
    unsupported(target, "assignment to '" + source(target) + "' is not supported");
  }

  BinaryOp operator_of(const Node& aug) {
    const Node& op = child(aug, "op");
    const std::optional<BinaryOp> o = binary_operator(op);
    if (!o) unsupported(aug, "the operator '" + python_operator(op.kind) + "=' is not supported");
    return *o;
  }

  // A loop `for var in grid.method(...)`: what it calls, on which grid parameter.
  struct LoopHeader {
    std::string var;
    std::string method;
    const Grid* grid = nullptr;
    const Node* call = nullptr;
  };

  LoopHeader loop_header(const Node& f) {
    if (!empty_list(f, "orelse")) unsupported(f, "'for ... else' is not supported");
    const Node& target = child(f, "target");
    if (target.kind != "Name") unsupported(target, "a loop's variable must be a plain name");
    LoopHeader h;
    h.var = text(target, "id");
    check_assignable(target, h.var);
    const Node& iter = child(f, "iter");
    if (iter.kind == "Call" && child(iter, "func").kind == "Attribute") {
      const Node& func = child(iter, "func");
      h.method = text(func, "attr");
      h.call = &iter;
      if (child(func, "value").kind == "Name") h.grid = grid(text(child(func, "value"), "id"));
    }
    const bool point = h.method == "interior_points" || h.method == "border_points";
    if (!point && h.method != "neighbors") {
      unsupported(f, "loops over '" + source(iter) +
                         "' are not supported; a kernel loops over grid.interior_points(), grid.border_points() and "
                         "grid.neighbors(x, k)");
    }
    if (!h.grid) unsupported(f, "'" + source(iter) + "' is not a method of a grid parameter");
    return h;
  }

  void point_loop(const Node& f, Block& out) {
    const LoopHeader h = loop_header(f);
    if (h.method == "neighbors") unsupported(f, "a 'neighbors' loop must be inside a loop over the points of a grid");
    if (!empty_list(*h.call, "args") || !empty_list(*h.call, "keywords")) unsupported(*h.call, h.method + "() takes no arguments");
    const Grid* g = h.grid;
    const std::string& x = h.var;
    const Value* ghost = constant(g->name + ".ghost_depth");
    if (!ghost || !ghost->integer()) {
      throw Error(ASP_ERR_INVALID_ARGUMENT, "no ghost depth was given for grid '" + g->name + "'");
    }

    Stmt loop{Stmt::Kind::points};
    loop.name = x;
    loop.grid = g->name;
    loop.region = h.method == "interior_points" ? Region::interior : Region::border;
    // A local assigned in the loop holds, at the start of an iteration, what the
    // previous point left there: readable only after this point assigns it.
    std::set<std::string> assigned = kit::assigned_names(items(f, "body"));
    assigned.insert(x);
    const Env saved = env_;
    for (const std::string& n : assigned) {
      env_[n] = Slot{std::nullopt, "'" + n + "' is read before it is assigned at this point (its value would come "
                                     "from the previous point, which is not supported)"};
    }
    points_[x] = std::vector<std::int64_t>(g->shape.size(), 0);
    loop_ = {g, loop.region, x};
    for (const Value& v : items(f, "body")) statement(item(v), loop.body);
    loop_ = {};
    points_.erase(x);
    env_ = saved;
    for (const std::string& n : assigned) {
      env_[n] = Slot{std::nullopt, "'" + n + "' keeps the value of the last point after its loop, which is not supported"};
    }
    out.push_back(located(std::move(loop), f));
  }

  // A statement of the method (outside the point loops, where only locals
  // are assigned and point loops start) or of a point loop.
  void statement(const Node& s, Block& out) { statements_(s, out); }

  // The statements a kernel may have; the kit's visitor refuses the others,
  // naming them ("'while' loops are not supported at line 3").
  kit::Visitor<void, Block&> statement_kinds() {
    kit::Visitor<void, Block&> v(kit::Construct::statement);
    v.on("Pass", [](const Node&, Block&) {});
    v.on("Expr", [this](const Node& s, Block&) {
      if (child(s, "value").kind != "Constant") expr(child(s, "value"));  // a docstring computes nothing
    });
    v.on({"Assign", "AugAssign"}, [this](const Node& s, Block& out) { assignment(s, out); });
    v.on("For", [this](const Node& s, Block& out) { loop_.grid ? neighbor_loop(s, out) : point_loop(s, out); });
    v.on("If", [this](const Node& s, Block& out) {
      if (!loop_.grid) unsupported(s, "'if' outside the point loops is not supported");
      if_statement(s, out);
    });
    return v;
  }

  // `name = value`, `grid[x] = value` and their augmented forms.
  void assignment(const Node& s, Block& out) {
    const bool in_loop = loop_.grid != nullptr;
    const bool augmented = s.kind == "AugAssign";
    const BinaryOp op = augmented ? operator_of(s) : BinaryOp::add;  // read only when augmented
    const ExprPtr value = expr(child(s, "value"));
    const List targets = augmented ? List{field(s, "target")} : items(s, "targets");
    for (const Value& t : targets) {
      const Node& target = item(t);
      if (target.kind == "Name") {
        const ExprPtr v = augmented ? arith(s, op, name_value(target), value) : value;
        assign_local(target, text(target, "id"), v, out, !in_loop);
      } else if (target.kind == "Subscript" && !in_loop) {
        unsupported(target, "a grid is written outside a point loop");
      } else if (target.kind == "Subscript") {
        const ExprPtr v = augmented ? arith(s, op, read_at(target, written_grid(target), loop_.var), value) : value;
        store(target, v, out);
      } else {
        assignment_target(target);
      }
    }
  }

  const Grid& written_grid(const Node& target) {
    const Node& value = child(target, "value");
    const Grid* g = value.kind == "Name" ? grid(text(value, "id")) : nullptr;
    if (!g) unsupported(target, "assignment to '" + source(target) + "' is not supported; a kernel writes grids");
    const std::string* p = point_name(slice_of(target));
    if (!p || *p != loop_.var) {
      unsupported(target, "a kernel writes '" + g->name + "' only at the point of its loop, '" + g->name + "[" +
                              loop_.var + "]'");
    }
    return *g;
  }

  void store(const Node& target, const ExprPtr& value, Block& out) {
    const Grid& g = written_grid(target);
    check_shape(target, g);
    ExprPtr v = value;
    if (v->type == Type::int_ && g.dtype == Type::f32) v = cast(Type::float_, v);  // NumPy: via a Python float
    out.push_back(located(make_store(g.name, Point{loop_.var, {}}, convert(v, g.dtype)), target));
  }

  void if_statement(const Node& s, Block& out) {
    const ExprPtr cond = condition(child(s, "test"));
    const Env before = env_;
    Block then_block, else_block;
    for (const Value& v : items(s, "body")) statement(item(v), then_block);
    const Env after_then = env_;
    env_ = before;
    for (const Value& v : items(s, "orelse")) statement(item(v), else_block);
    const Env after_else = env_;
    std::set<std::string> names;
    for (const auto& [n, slot] : after_then) names.insert(n);
    for (const auto& [n, slot] : after_else) names.insert(n);
    for (const std::string& n : names) {
      auto find = [&](const Env& env) {
        auto it = env.find(n);
        return it == env.end() ? Slot{} : it->second;
      };
      const Slot a = find(after_then), b = find(after_else);
      if (a == b) {
        env_[n] = a;
        continue;
      }
      const std::optional<Type> t = a.binding && b.binding ? merged_type(a.binding->type, b.binding->type) : std::nullopt;
      if (t) {
        // The branches leave the value in different variables: both copy it into one declared before the if.
        const std::string merged = fresh(n);
        out.push_back(located(make_var(merged, zero(*t)), s));
        then_block.push_back(located(make_assign(merged, convert(local(a.binding->dsir, a.binding->type), *t)), s));
        else_block.push_back(located(make_assign(merged, convert(local(b.binding->dsir, b.binding->type), *t)), s));
        env_[n] = Slot{Binding{merged, *t, true}, ""};
      } else {
        env_[n] = Slot{std::nullopt, "'" + n + "' may be unassigned, or hold a value of another type, after the 'if' of line " +
                                         std::to_string(s.line)};
      }
    }
    out.push_back(located(make_if(cond, std::move(then_block), std::move(else_block)), s));
  }

  void neighbor_loop(const Node& f, Block& out) {
    const LoopHeader h = loop_header(f);
    if (h.method != "neighbors") unsupported(f, "point loops cannot be nested");
    const Grid* g = h.grid;
    const Node& iter = *h.call;
    const List& args = items(iter, "args");
    if (args.size() != 2 || !empty_list(iter, "keywords")) unsupported(iter, "neighbors() takes a point and a neighbour set id");
    const std::string* centre = point_name(item(args[0]));
    if (!centre) unsupported(item(args[0]), "the first argument of neighbors() must be a point of the loop");
    const ExprPtr id = fold(expr(item(args[1])));
    if (!is_literal(id) || !is_integral(id->type)) unsupported(item(args[1]), "the neighbour set id must be a constant integer");
    const std::string& y = h.var;
    const auto offsets = neighbor_set(f, *g, std::get<std::int64_t>(id->value), points_.at(*centre).size());

    // Translate the body once per offset, the neighbour as a symbolic point
    // (its offset known, for the bounds checks). Iterations that come out
    // identical, with the locals' types settled, stay a loop; those before
    // (where a local still changes type, say int 0 becoming a float) are
    // unrolled here.
    struct Iteration {
      Block body;
      Env before;
    };
    std::vector<Iteration> iterations;
    const std::vector<std::int64_t> at = points_.at(*centre);
    for (const auto& o : offsets) {
      std::vector<std::int64_t> actual = at;
      for (std::size_t k = 0; k < o.size(); ++k) actual[k] += o[k];
      points_[y] = actual;
      Iteration it{{}, env_};
      for (const Value& v : items(f, "body")) statement(item(v), it.body);
      iterations.push_back(std::move(it));
    }
    points_.erase(y);
    const std::size_t n = iterations.size();
    std::size_t loop_from = n;
    if (n >= 2 && iterations[n - 1].before == env_) {
      const std::string last = print(iterations[n - 1].body);
      loop_from = n - 1;
      while (loop_from > 0 && iterations[loop_from - 1].before == env_ && print(iterations[loop_from - 1].body) == last) {
        --loop_from;
      }
      if (loop_from == n - 1) loop_from = n;  // a loop of one iteration says nothing a copy does not
    }
    const Point centre_point{*centre, {}};
    for (std::size_t i = 0; i < loop_from; ++i) {
      for (Stmt& s : substitute_point(iterations[i].body, y, displaced(centre_point, offsets[i]))) out.push_back(std::move(s));
    }
    if (loop_from < n) {
      Stmt loop{Stmt::Kind::neighbors};
      loop.name = y;
      loop.grid = g->name;
      loop.point = centre_point;
      loop.set = std::get<std::int64_t>(id->value);
      loop.offsets.assign(offsets.begin() + static_cast<std::ptrdiff_t>(loop_from), offsets.end());
      loop.body = std::move(iterations[loop_from].body);
      out.push_back(located(std::move(loop), f));
    }
    env_[y] = Slot{std::nullopt, "'" + y + "' is read after its neighbour loop, which is not supported"};
  }

  std::vector<std::vector<std::int64_t>> neighbor_set(const Node& at, const Grid& g, std::int64_t id, std::size_t rank) {
    const Value* definition = constant(g.name + ".neighbor_definition");
    if (!definition || !definition->list()) {
      throw Error(ASP_ERR_INVALID_ARGUMENT, "no neighbour definition was given for grid '" + g.name + "'");
    }
    const List& sets = *definition->list();
    const std::int64_t count = static_cast<std::int64_t>(sets.size());
    const std::int64_t index = id < 0 ? id + count : id;  // a Python list index
    if (index < 0 || index >= count) {
      unsupported(at, "neighbour set " + std::to_string(id) + " of '" + g.name + "' does not exist (it has " +
                          std::to_string(count) + ")");
    }
    std::vector<std::vector<std::int64_t>> offsets;
    const List* set = sets[static_cast<std::size_t>(index)].list();
    if (!set) unsupported(at, "neighbour set " + std::to_string(id) + " of '" + g.name + "' is not a list of offsets");
    for (const Value& o : *set) {
      std::vector<std::int64_t> offset;
      if (o.list()) {
        for (const Value& c : *o.list()) {
          if (!c.integer()) unsupported(at, "a neighbour offset of '" + g.name + "' is not made of integers");
          offset.push_back(*c.integer());
        }
      }
      if (offset.size() != rank) {
        unsupported(at, "neighbour set " + std::to_string(id) + " of '" + g.name + "' has an offset of " +
                            std::to_string(offset.size()) + " entries for points of " + std::to_string(rank) + " axes");
      }
      offsets.push_back(std::move(offset));
    }
    return offsets;
  }

  // ---- grid accesses ----

  void check_shape(const Node& at, const Grid& g) const {
    const Grid& iterated = *loop_.grid;
    if (g.shape == iterated.shape) return;
    auto shape = [](const Grid& x) {
      std::string s;
      for (std::int64_t n : x.shape) s += (s.empty() ? "" : ", ") + std::to_string(n);
      return "(" + s + (x.shape.size() == 1 ? ",)" : ")");
    };
    invalid(at, "grid '" + g.name + "' has shape " + shape(g) + " but is accessed at the points of '" + iterated.name +
                    "', whose shape is " + shape(iterated) + "; they must have the same shape");
  }

  ExprPtr read_at(const Node& at, const Grid& g, const std::string& p) {
    const std::vector<std::int64_t>& actual = points_.at(p);
    if (g.shape.size() != actual.size()) {
      unsupported(at, "'" + g.name + "' has " + std::to_string(g.shape.size()) + " axes but is read at a point of " +
                          std::to_string(actual.size()));
    }
    check_shape(at, g);
    if (loop_.region == Region::interior) {
      const std::int64_t depth = loop_.grid->ghost;
      for (std::int64_t o : actual) {
        if (o < -depth || o > depth) {
          std::string offset;
          for (std::int64_t c : actual) offset += (offset.empty() ? "" : ", ") + std::to_string(c);
          invalid(at, "grid '" + g.name + "' is read at offset (" + offset + (actual.size() == 1 ? "," : "") +
                          ") from the interior points of '" + loop_.grid->name + "', beyond its ghost depth " +
                          std::to_string(depth) + "; raise " + loop_.grid->name + ".ghost_depth or change the neighbours");
        }
      }
    }
    return read(g.name, g.dtype, Point{p, {}});
  }

  ExprPtr subscript(const Node& n) {
    const Node& value = child(n, "value");
    const Node& index = slice_of(n);
    if (index.kind == "Slice") unsupported(n, "slices are not supported");
    if (value.kind == "Name") {
      const std::string id = text(value, "id");
      if (points_.count(id)) return coordinate(n, id, index);
      if (const Grid* g = grid(id)) {
        if (const std::string* p = point_name(index)) {
          if (!loop_.grid) unsupported(n, "points exist only inside a point loop");
          return read_at(n, *g, *p);
        }
        std::vector<const Node*> parts;
        if (index.kind == "Tuple") {
          for (const Value& e : items(index, "elts")) parts.push_back(&item(e));
        } else {
          parts.push_back(&index);
        }
        if (parts.size() != g->shape.size()) {
          unsupported(n, "'" + g->name + "' has " + std::to_string(g->shape.size()) + " axes but is indexed with " +
                             std::to_string(parts.size()) + " (give one integer per axis)");
        }
        std::vector<ExprPtr> indices;
        for (const Node* part : parts) {
          if (point_name(*part)) unsupported(*part, "a point cannot be part of a tuple index");
          const ExprPtr i = expr(*part);
          if (!is_integral(i->type)) {
            unsupported(*part, "'" + g->name + "' is indexed with a " + (i->type == Type::bool_ ? "truth value" : "float") +
                                   "; grids take integer indices (convert with int())");
          }
          indices.push_back(convert(i, Type::int_));
        }
        return lookup(g->name, g->dtype, std::move(indices));
      }
    }
    if (value.kind == "Attribute" && text(value, "attr") == "constants") {
      const Node& owner = child(value, "value");
      if (owner.kind == "Name" && text(owner, "id") == self_) return self_constant(n, index);
    }
    unsupported(n, "the subscript '" + source(n) + "' is not supported");
  }

  ExprPtr coordinate(const Node& n, const std::string& p, const Node& index) {
    const ExprPtr k = fold(expr(index));
    if (!is_literal(k) || !is_integral(k->type)) unsupported(n, "a point's coordinate is taken with a constant index");
    const std::int64_t rank = static_cast<std::int64_t>(points_.at(p).size());
    std::int64_t axis = std::get<std::int64_t>(k->value);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) unsupported(n, "the point '" + p + "' has no coordinate " + std::to_string(axis));
    return coord(Point{p, {}}, static_cast<int>(axis));
  }

  ExprPtr self_constant(const Node& n, const Node& key) {
    if (key.kind != "Constant") unsupported(n, "self.constants is indexed with a constant key");
    const Value& k = field(key, "value");
    const Value* table = constant("self.constants");
    if (table && table->list()) {
      for (const Value& pair : *table->list()) {
        const List* kv = pair.list();
        if (!kv || kv->size() != 2) continue;
        const Value& candidate = (*kv)[0];
        const bool same = (k.string() && candidate.string() && *k.string() == *candidate.string()) ||
                          (k.integer() && candidate.integer() && *k.integer() == *candidate.integer());
        if (same) return number(n, "self.constants[...]", (*kv)[1]);
      }
    }
    const std::string shown = k.string() ? "'" + *k.string() + "'" : k.integer() ? std::to_string(*k.integer()) : "given";
    unsupported(n, "self.constants has no number under the key " + shown);
  }

  // ---- expressions ----

  ExprPtr expr(const Node& n) {
    const std::string& kind = n.kind;
    if (kind == "Constant") {
      const Value& v = field(n, "value");
      if (v.integer() || v.real() || v.boolean()) return number(n, "constant", v);
      unsupported(n, "the constant is not a number");
    }
    if (kind == "Name") return name_value(n);
    if (kind == "Attribute") return attribute(n);
    if (kind == "Subscript") return subscript(n);
    if (kind == "BinOp") {
      const std::optional<BinaryOp> op = binary_operator(child(n, "op"));
      if (!op) unsupported(n, "the operator '" + python_operator(child(n, "op").kind) + "' is not supported");
      const ExprPtr a = expr(child(n, "left"));
      const ExprPtr b = expr(child(n, "right"));
      return arith(n, *op, a, b);
    }
    if (kind == "UnaryOp") {
      const std::string op = child(n, "op").kind;
      if (op == "Not") return unary(UnaryOp::not_, condition(child(n, "operand")));
      if (op == "Invert") unsupported(n, "the operator '~' is not supported");
      const ExprPtr a = expr(child(n, "operand"));
      if (a->type == Type::bool_) unsupported(n, "arithmetic on a truth value is not supported");
      return op == "USub" ? unary(UnaryOp::neg, a) : a;
    }
    if (kind == "BoolOp") return boolean_op(n, false);
    if (kind == "Compare") return comparison(n);
    if (kind == "IfExp") {
      const ExprPtr c = condition(child(n, "test"));
      const ExprPtr a = expr(child(n, "body"));
      const ExprPtr b = expr(child(n, "orelse"));
      if ((a->type == Type::bool_) != (b->type == Type::bool_)) {
        unsupported(n, "a conditional expression mixes a truth value and a number");
      }
      one_of_them(n, "a conditional expression", {a, b});
      const Type t = a->type == Type::bool_ ? Type::bool_ : promote(a->type, b->type);
      return select(c, convert(a, t), convert(b, t));
    }
    if (kind == "Call") return call_expr(n);
    kit::unsupported_construct(n, kit::Construct::expression);
  }

  // A truth value: comparisons and `and`/`or`/`not` of them, or a number (non-zero is true).
  ExprPtr condition(const Node& n) {
    if (n.kind == "BoolOp") return boolean_op(n, true);
    if (n.kind == "UnaryOp" && child(n, "op").kind == "Not") return unary(UnaryOp::not_, condition(child(n, "operand")));
    return truth(expr(n));
  }

  // `and`/`or` of truth values. As a condition, any number's truth value counts;
  // as a value, Python would give one of the operands: only truth values then.
  ExprPtr boolean_op(const Node& n, bool as_condition) {
    const BinaryOp op = child(n, "op").kind == "And" ? BinaryOp::and_ : BinaryOp::or_;
    ExprPtr result;
    for (const Value& v : items(n, "values")) {
      ExprPtr e = as_condition ? condition(item(v)) : expr(item(v));
      if (e->type != Type::bool_) {
        unsupported(n, "'" + std::string(spelling(op)) + "' of numbers gives one of them, which is not supported; compare them instead");
      }
      result = result ? binary(op, result, e) : e;
    }
    return result;
  }

  ExprPtr comparison(const Node& n) {
    ExprPtr left = expr(child(n, "left"));
    const List& ops = items(n, "ops");
    const List& rights = items(n, "comparators");
    if (ops.size() != rights.size() || ops.empty()) malformed("a Compare node with mismatched operators");
    ExprPtr result;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const std::optional<BinaryOp> compared = comparison_operator(item(ops[i]));
      if (!compared) unsupported(n, "the comparison '" + python_operator(item(ops[i]).kind) + "' is not supported");
      const BinaryOp op = *compared;
      const ExprPtr right = expr(item(rights[i]));
      ExprPtr c;
      if (left->type == Type::bool_ || right->type == Type::bool_) {
        if (left->type != right->type || (op != BinaryOp::eq && op != BinaryOp::ne)) {
          unsupported(n, "comparing a truth value with a number is not supported");
        }
        c = binary(op, left, right);
      } else {
        const Type t = promote(left->type, right->type);
        c = binary(op, convert(left, t), convert(right, t));
      }
      result = result ? binary(BinaryOp::and_, result, c) : c;  // a < b < c is (a < b) and (b < c)
      left = right;
    }
    return result;
  }

  ExprPtr arith(const Node& at, BinaryOp op, const ExprPtr& a, const ExprPtr& b) {
    if (a->type == Type::bool_ || b->type == Type::bool_) unsupported(at, "arithmetic on a truth value is not supported");
    if (op == BinaryOp::pow) return power(at, a, b);
    Type t = promote(a->type, b->type);
    // True division of integers gives a float: Python's float, or NumPy's float64.
    if (op == BinaryOp::div && is_integral(t)) t = t == Type::int_ ? Type::float_ : Type::f64;
    return binary(op, convert(a, t), convert(b, t));
  }

  // min, max and a conditional expression give one of their operands as it
  // is, so with a 32-bit NumPy number among operands of another type the
  // result's type (and what later arithmetic rounds to) depends on the values:
  // no static type, so Python runs.
  void one_of_them(const Node& at, const std::string& what, const std::vector<ExprPtr>& operands) const {
    bool narrow = false, mixed = false;
    for (const ExprPtr& v : operands) {
      narrow = narrow || v->type == Type::f32 || v->type == Type::i32;
      mixed = mixed || v->type != operands.front()->type;
    }
    if (narrow && mixed) {
      unsupported(at, what + " of a 32-bit grid value and a number of another type gives either one as it is, so "
                            "what later arithmetic computes in depends on the values; convert them to one type "
                            "first, e.g. with float(...)");
    }
  }

  ExprPtr power(const Node& at, const ExprPtr& a, const ExprPtr& b) {
    const Type t = promote(a->type, b->type);
    if (!is_integral(t)) return binary(BinaryOp::pow, convert(a, t), convert(b, t));
    const ExprPtr n = fold(b);
    if (!is_literal(n)) unsupported(at, "'**' of integers needs a constant exponent (its sign decides the result's type)");
    const std::int64_t e = std::get<std::int64_t>(n->value);
    if (e < 0) {
      // Python gives a float; NumPy's integers refuse.
      if (t != Type::int_) unsupported(at, "NumPy integers cannot be raised to a negative power");
      return binary(BinaryOp::pow, convert(a, Type::float_), convert(n, Type::float_));
    }
    if (e > 64) unsupported(at, "integer powers above 64 are not supported");
    return binary(BinaryOp::pow, convert(a, t), int_literal(e, t));
  }

  ExprPtr attribute(const Node& n) {
    const Node& owner = child(n, "value");
    const std::string attr = text(n, "attr");
    if (owner.kind == "Name") {
      const std::string id = text(owner, "id");
      const Value* v = python_locals_.count(id) || grid(id) || id == self_ ? nullptr : constant(id);
      if (v && v->string() && *v->string() == "module:math") {
        static const std::map<std::string, double> values = {
            {"pi", 3.141592653589793}, {"e", 2.718281828459045}, {"tau", 6.283185307179586},
            {"inf", HUGE_VAL},         {"nan", std::nan("")}};
        if (auto it = values.find(attr); it != values.end()) return float_literal(it->second);
      }
      if (id == self_) unsupported(n, "reading 'self." + attr + "' is not supported; a kernel reads self.constants[...]");
    }
    unsupported(n, "the attribute '" + source(n) + "' is not supported");
  }

  // The qualified name of the function a call calls.
  std::string callee(const Node& call_node, const Node& func) {
    if (func.kind == "Name") {
      const std::string id = text(func, "id");
      if (!python_locals_.count(id) && !grid(id) && id != self_) {
        if (const Value* v = constant(id)) {
          if (v->string() && v->string()->rfind("module:", 0) != 0) return *v->string();
        } else if (id == "abs" || id == "min" || id == "max" || id == "int" || id == "float") {
          return "builtins." + id;  // not shadowed: Python finds the builtin
        }
      }
    } else if (func.kind == "Attribute" && child(func, "value").kind == "Name") {
      const std::string id = text(child(func, "value"), "id");
      if (id == self_) {
        // self.distance(x, y), the original API's method: the binding says which function it is.
        const Value* v = constant(id + "." + text(func, "attr"));
        if (v && v->string() && *v->string() == "asp.stencil.distance") return *v->string();
        if (v && v->string()) {
          unsupported(call_node, "'" + source(func) + "' is " + *v->string() +
                                     ", which overrides StencilKernel.distance; only the Euclidean distance is specialized");
        }
      }
      const Value* v = python_locals_.count(id) || grid(id) || id == self_ ? nullptr : constant(id);
      if (v && v->string() && v->string()->rfind("module:", 0) == 0) return v->string()->substr(7) + "." + text(func, "attr");
    }
    unsupported(call_node, "unsupported call to '" + source(func) + "'");
  }

  ExprPtr call_expr(const Node& n) {
    const Node& func = child(n, "func");
    const std::string f = callee(n, func);
    if (!supported_calls.count(f)) unsupported(n, "unsupported call to '" + source(func) + "'");
    if (!empty_list(n, "keywords")) unsupported(n, "keyword arguments in the call to '" + source(func) + "' are not supported");
    const List& args = items(n, "args");
    for (const Value& a : args) {
      if (item(a).kind == "Starred") unsupported(n, "'*' arguments are not supported");
    }
    auto arity = [&](std::size_t k) {
      if (args.size() != k) unsupported(n, "'" + source(func) + "' is called with " + std::to_string(args.size()) +
                                               " arguments; " + std::to_string(k) + " are supported");
    };
    if (f == "asp.stencil.distance") {
      arity(2);
      const std::string* p = point_name(item(args[0]));
      const std::string* q = point_name(item(args[1]));
      if (!p || !q) unsupported(n, "distance() takes two points of the loop");
      return distance(Point{*p, {}}, Point{*q, {}});
    }
    std::vector<ExprPtr> values;
    for (const Value& a : args) values.push_back(expr(item(a)));
    if (f == "builtins.min" || f == "builtins.max") {
      if (values.size() < 2) unsupported(n, "'" + source(func) + "' of fewer than two numbers is not supported");
      Type t = values[0]->type;
      for (const ExprPtr& v : values) {
        if (v->type == Type::bool_) unsupported(n, "'" + source(func) + "' of truth values is not supported");
        t = promote(t, v->type);
      }
      one_of_them(n, "'" + source(func) + "'", values);
      // min(a, b, c) keeps the first of the smallest: min(min(a, b), c).
      ExprPtr result = convert(values[0], t);
      for (std::size_t i = 1; i < values.size(); ++i) result = call(function_named(n, f.substr(9)), {result, convert(values[i], t)});
      return result;
    }
    arity(1);
    const ExprPtr& x = values[0];
    if (f == "builtins.int") return convert(x, Type::int_);
    if (f == "builtins.float") return convert(x, Type::float_);
    if (f == "builtins.abs") {
      if (x->type == Type::bool_) unsupported(n, "abs() of a truth value is not supported");
      return call(Function::abs, {x});
    }
    if (f == "math.fabs") return call(Function::abs, {convert(x, Type::float_)});
    if (f == "math.floor" || f == "math.ceil") {
      // math.floor gives an int; of an integer, the integer itself.
      if (is_integral(x->type) || x->type == Type::bool_) return convert(x, Type::int_);
      return cast(Type::int_, call(function_named(n, f.substr(5)), {convert(x, Type::float_)}));
    }
    // math.sqrt and friends compute on a Python float and give one.
    return call(function_named(n, f.substr(5)), {convert(x, Type::float_)});
  }

  Value root_;
  const Node* function_ = nullptr;
  std::string self_;
  std::map<std::string, const Value*> constants_;
  std::vector<Grid> grids_;
  std::set<std::string> python_locals_;
  std::map<std::string, int> versions_;
  Env env_;
  // Points in scope by name, with their displacement from the loop's point (for the bounds checks).
  std::map<std::string, std::vector<std::int64_t>> points_;
  struct {
    const Grid* grid = nullptr;
    Region region = Region::interior;
    std::string var;
  } loop_;
  kit::Visitor<void, Block&> statements_ = statement_kinds();
};

}  // namespace

Kernel translate(std::string_view tree_text, std::span<const asp_arg> args) { return Translator(tree_text, args).run(); }

}  // namespace asp::stencil
