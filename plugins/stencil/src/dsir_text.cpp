#include "stencil/dsir_text.hpp"

#include <asp/ir_text.hpp>
#include <asp/plugin.hpp>

#include <map>
#include <set>
#include <sstream>

namespace asp::stencil {

// ---- printer -------------------------------------------------------------------------

namespace {

std::string format_literal(const Expr& e) {
  return ir::format_number(e.value, e.type == Type::f32 ? ir::FloatWidth::f32 : ir::FloatWidth::f64) + ":" + type_name(e.type);
}

using ir::join;

std::string join_exprs(const std::vector<ExprPtr>& es) {
  return join(es, [](const ExprPtr& e) { return print(e); });
}

void print_block(std::ostringstream& out, const Block& block, int depth);

void print_stmt(std::ostringstream& out, const Stmt& s, int depth) {
  const std::string pad = ir::indent(depth);
  out << pad;
  if (s.line) out << "@" << s.line << ":" << s.column << " ";
  switch (s.kind) {
    case Stmt::Kind::let:
    case Stmt::Kind::var:
      out << (s.kind == Stmt::Kind::let ? "let " : "var ") << s.name << ": " << type_name(s.type) << " = "
          << print(s.value) << "\n";
      return;
    case Stmt::Kind::assign: out << s.name << " = " << print(s.value) << "\n"; return;
    case Stmt::Kind::store: out << "store " << s.name << "[" << print(s.point) << "] = " << print(s.value) << "\n"; return;
    case Stmt::Kind::if_:
      out << "if " << print(s.value) << " {\n";
      print_block(out, s.body, depth + 1);
      if (!s.orelse.empty()) {
        out << pad << "} else {\n";
        print_block(out, s.orelse, depth + 1);
      }
      break;
    case Stmt::Kind::points:
      out << "for " << s.name << " in " << (s.region == Region::interior ? "interior(" : "border(") << s.grid << ") {\n";
      print_block(out, s.body, depth + 1);
      break;
    case Stmt::Kind::neighbors: {
      out << "for " << s.name << " in neighbors(" << s.grid << ", " << print(s.point) << ", " << s.set << ") ["
          << join(s.offsets, [](const std::vector<std::int64_t>& o) { return "(" + join(o) + ")"; }) << "] {\n";
      print_block(out, s.body, depth + 1);
      break;
    }
  }
  out << pad << "}\n";
}

void print_block(std::ostringstream& out, const Block& block, int depth) {
  for (const Stmt& s : block) print_stmt(out, s, depth);
}

}  // namespace

std::string print(const Block& block) {
  std::ostringstream out;
  print_block(out, block, 0);
  return out.str();
}

std::string print(const Point& p) { return p.offset.empty() ? p.base : p.base + "(" + join(p.offset) + ")"; }

std::string print(const ExprPtr& e) {
  switch (e->kind) {
    case Expr::Kind::literal: return format_literal(*e);
    case Expr::Kind::local: return e->name;
    case Expr::Kind::read: return e->name + "[" + print(e->points[0]) + "]";
    case Expr::Kind::coord: return "coord(" + print(e->points[0]) + ", " + std::to_string(e->axis) + ")";
    case Expr::Kind::distance: return "distance(" + print(e->points[0]) + ", " + print(e->points[1]) + ")";
    case Expr::Kind::unary: return std::string(spelling(e->unary_op)) + "(" + print(e->args[0]) + ")";
    case Expr::Kind::binary:
      return "(" + print(e->args[0]) + " " + std::string(spelling(e->binary_op)) + " " + print(e->args[1]) + ")";
    case Expr::Kind::cast: return std::string(type_name(e->type)) + "(" + print(e->args[0]) + ")";
    case Expr::Kind::lookup:
    case Expr::Kind::select:
    case Expr::Kind::call: {
      if (e->kind == Expr::Kind::lookup) return "lookup(" + e->name + (e->args.empty() ? "" : ", " + join_exprs(e->args)) + ")";
      return (e->kind == Expr::Kind::select ? std::string("select(") : std::string(spelling(e->function)) + "(") +
             join_exprs(e->args) + ")";
    }
  }
  return "?";
}

std::string print(const Kernel& kernel) {
  std::ostringstream out;
  out << ir::header_line(dsir_version, dsir_dialect) << "kernel " << kernel.name << "\n";
  for (const Grid& g : kernel.grids) {
    out << "grid " << g.name << ": " << type_name(g.dtype) << "[" << join(g.shape) << "] ghost " << g.ghost << "\n";
  }
  print_block(out, kernel.body, 0);
  return out.str();
}

// ---- parser --------------------------------------------------------------------------

namespace {

using ir::Token;

// A number's sign is its own token: "-" then "1:i64", as in a point's offset x(-1, 0).
constexpr std::string_view operators[] = {"//", "**", "==", "!=", "<=", ">="};
constexpr ir::LexRules lex_rules{
    .dotted_identifiers = true, .punctuation = "()[]{},:=@+-*/%<>", .operators = operators};

class Parser : ir::TokenCursor {
 public:
  using TokenCursor::TokenCursor;

  Kernel kernel() {
    Kernel k;
    expect("kernel");
    k.name = identifier("the kernel's name");
    while (is("grid")) {
      next();
      Grid g;
      g.name = identifier("a grid name");
      expect(":");
      g.dtype = type();
      expect("[");
      comma_list("]", [&] { g.shape.push_back(integer()); });
      expect("ghost");
      g.ghost = integer();
      if (kernel_.grid(g.name)) fail_back("grid '" + g.name + "' is declared twice");
      kernel_.grids.push_back(g);
    }
    k.grids = kernel_.grids;
    while (peek().kind != Token::Kind::end) k.body.push_back(stmt());
    return k;
  }

 private:
  std::int64_t integer() {
    const bool negative = accept("-");
    if (peek().kind != Token::Kind::number) fail("expected an integer, found " + describe(peek()));
    const std::string& text = next().text;
    std::int64_t v = 0;
    if (ir::parse_number(text, v) != std::errc()) fail_back("malformed integer '" + text + "'");
    return negative ? -v : v;
  }

  Type type() {
    const std::string name = identifier("a type");
    auto t = parse_type(name);
    if (!t) fail_back("unknown type '" + name + "'");
    return *t;
  }

  Point point() {
    Point p;
    p.base = identifier("a point");
    if (!points_.count(p.base)) fail_back("'" + p.base + "' is not a point variable in scope");
    if (accept("(")) {
      do p.offset.push_back(integer()); while (accept(","));
      expect(")");
      if (p.at_base()) p.offset.clear();
    }
    return p;
  }

  const Grid& grid() {
    const std::string name = identifier("a grid name");
    const Grid* g = kernel_.grid(name);
    if (!g) fail_back("unknown grid '" + name + "'");
    return *g;
  }

  ExprPtr literal(const Token& at, bool negative) {
    const std::string& number = at.text;
    expect(":");
    const Type t = type();
    if (number == "true" || number == "false") {
      if (t != Type::bool_ || negative) fail("'" + number + "' is a bool literal");
      return bool_literal(number == "true");
    }
    if (is_floating(t)) {
      double d = 0;
      if (ir::parse_number(number, d) != std::errc()) fail("malformed number '" + number + "'", at);
      if (negative) d = -d;
      return float_literal(ir::round_to(t == Type::f32 ? ir::FloatWidth::f32 : ir::FloatWidth::f64, d), t);
    }
    if (!is_integral(t)) fail("a number cannot be a " + std::string(type_name(t)));
    std::int64_t v = 0;
    // The magnitude of INT64_MIN does not fit: parse the sign with the digits.
    if (ir::parse_number((negative ? "-" : "") + number, v) != std::errc()) fail("malformed integer '" + number + "'", at);
    return int_literal(v, t);
  }

  std::vector<ExprPtr> arguments() {
    std::vector<ExprPtr> args;
    comma_list(")", [&] { args.push_back(expr()); });
    return args;
  }

  ExprPtr expr() {
    const Token& t = peek();
    // A word literal is followed by its type; without one the same word is a local's name.
    const bool word = (t.text == "nan" || t.text == "inf" || t.text == "true" || t.text == "false") && is(":", 1);
    if (t.kind == Token::Kind::number || t.text == "-" || word) {
      const bool negative = accept("-");
      if (negative && peek().kind != Token::Kind::number && peek().text != "inf" && peek().text != "nan") {
        fail("expected a number after '-'");
      }
      return literal(next(), negative);
    }
    if (accept("(")) {
      ExprPtr a = expr();
      const Token& op = next();
      const std::optional<BinaryOp> known = parse_binary_op(op.text);
      if (!known) fail("unknown binary operator '" + op.text + "'");
      ExprPtr b = expr();
      expect(")");
      return binary(*known, a, b);
    }
    const Token at = peek();
    const std::string name = identifier("an expression");
    if (accept("[")) {
      const Grid* g = kernel_.grid(name);
      if (!g) fail("unknown grid '" + name + "'", at);
      Point p = point();
      expect("]");
      return read(name, g->dtype, std::move(p));
    }
    if (!accept("(")) {
      auto it = locals_.find(name);
      if (it == locals_.end()) fail_back("'" + name + "' is not a local variable in scope");
      return local(name, it->second);
    }
    if (name == "lookup") {
      const Grid& g = grid();
      std::vector<ExprPtr> indices;
      while (accept(",")) indices.push_back(expr());
      expect(")");
      return stencil::lookup(g.name, g.dtype, std::move(indices));
    }
    if (name == "coord") {
      Point p = point();
      expect(",");
      const std::int64_t axis = integer();
      expect(")");
      return coord(std::move(p), static_cast<int>(axis));
    }
    if (name == "distance") {
      Point a = point();
      expect(",");
      Point b = point();
      expect(")");
      return distance(std::move(a), std::move(b));
    }
    std::vector<ExprPtr> args = arguments();
    auto arity = [&](std::size_t n) {
      if (args.size() != n) fail("'" + name + "' takes " + std::to_string(n) + " operand(s)", at);
    };
    if (const std::optional<UnaryOp> op = parse_unary_op(name)) {
      arity(1);
      return unary(*op, args[0]);
    }
    if (name == "select") {
      arity(3);
      return select(args[0], args[1], args[2]);
    }
    if (auto t = parse_type(name)) {
      arity(1);
      return cast(*t, args[0]);
    }
    const std::optional<Function> f = parse_function(name);
    if (!f) fail("unknown function '" + name + "'", at);
    arity(static_cast<std::size_t>(stencil::arity(*f)));
    return call(*f, std::move(args));
  }

  Block block() {
    expect("{");
    Block b;
    while (!is("}")) {
      if (peek().kind == Token::Kind::end) fail("unclosed block");
      b.push_back(stmt());
    }
    expect("}");
    return b;
  }

  Stmt stmt() {
    unsigned line = 0, column = 0;
    if (accept("@")) {
      line = static_cast<unsigned>(integer());
      expect(":");
      column = static_cast<unsigned>(integer());
    }
    Stmt s = stmt_body();
    s.line = line;
    s.column = column;
    return s;
  }

  Stmt stmt_body() {
    if (is("let") || is("var")) {
      const bool let = next().text == "let";
      const std::string name = identifier("a local name");
      expect(":");
      const Type t = type();
      expect("=");
      ExprPtr value = expr();
      if (value->type != t) fail("'" + name + "' is declared " + type_name(t) + " but given a " + type_name(value->type));
      locals_[name] = t;
      return let ? make_let(name, value) : make_var(name, value);
    }
    if (accept("store")) {
      const Grid& g = grid();
      expect("[");
      Point p = point();
      expect("]");
      expect("=");
      return make_store(g.name, std::move(p), expr());
    }
    if (accept("if")) {
      ExprPtr cond = expr();
      Block body = block();
      Block orelse;
      if (accept("else")) orelse = block();
      return make_if(cond, std::move(body), std::move(orelse));
    }
    if (accept("for")) {
      Stmt s{Stmt::Kind::points};
      s.name = identifier("a point variable");
      expect("in");
      const std::string what = identifier("interior, border or neighbors");
      expect("(");
      s.grid = grid().name;
      if (what == "neighbors") {
        s.kind = Stmt::Kind::neighbors;
        expect(",");
        s.point = point();
        expect(",");
        s.set = integer();
        expect(")");
        expect("[");
        comma_list("]", [&] {
          expect("(");
          std::vector<std::int64_t> offset;
          do offset.push_back(integer()); while (accept(","));
          expect(")");
          s.offsets.push_back(std::move(offset));
        });
      } else if (what == "interior" || what == "border") {
        s.region = what == "interior" ? Region::interior : Region::border;
        expect(")");
      } else {
        fail("expected interior, border or neighbors, found '" + what + "'");
      }
      const bool fresh = points_.insert(s.name).second;
      s.body = block();
      if (fresh) points_.erase(s.name);
      return s;
    }
    const std::string name = identifier("a statement");
    if (!locals_.count(name)) fail_back("assignment to '" + name + "', which is not declared");
    expect("=");
    return make_assign(name, expr());
  }

  Kernel kernel_;
  std::map<std::string, Type> locals_;
  std::set<std::string> points_;
};

}  // namespace

Kernel parse(std::string_view text) {
  auto header = ir::parse_header(text);
  if (!header || header->dialect != dsir_dialect) {
    throw Error(ASP_ERR_VERSION, "expected DSIR text starting 'asp-ir 1 dsir.stencil'");
  }
  if (header->version != dsir_version) {
    throw Error(ASP_ERR_VERSION, "DSIR version " + std::to_string(header->version) + " is not read here; this plugin reads " +
                                     std::to_string(dsir_version));
  }
  try {
    const ir::Place body{2, 1, text.size() - header->body.size()};
    return Parser(ir::Lexer(header->body, lex_rules, body).run()).kernel();
  } catch (const ir::SyntaxError& e) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, std::string("DSIR ") + e.what());
  }
}

}  // namespace asp::stencil
