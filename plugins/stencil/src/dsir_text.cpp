#include "stencil/dsir_text.hpp"

#include <asp/ir_text.hpp>
#include <asp/plugin.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

namespace asp::stencil {

// ---- printer -------------------------------------------------------------------------

namespace {

std::string format_literal(const Expr& e) {
  std::string number;
  if (const auto* i = std::get_if<std::int64_t>(&e.value)) {
    number = std::to_string(*i);
  } else if (const auto* b = std::get_if<bool>(&e.value)) {
    number = *b ? "true" : "false";
  } else {
    const double d = std::get<double>(e.value);
    if (std::isnan(d)) {
      number = "nan";
    } else if (std::isinf(d)) {
      number = d < 0 ? "-inf" : "inf";
    } else {
      char buffer[40];
      // 17 significant digits round-trip any double, 9 any float.
      std::snprintf(buffer, sizeof buffer, e.type == Type::f32 ? "%.9g" : "%.17g", d);
      number = buffer;
    }
  }
  return number + ":" + type_name(e.type);
}

std::string join(const std::vector<std::int64_t>& v) {
  std::string out;
  for (std::size_t k = 0; k < v.size(); ++k) out += (k ? ", " : "") + std::to_string(v[k]);
  return out;
}

void print_block(std::ostringstream& out, const Block& block, int depth);

void print_stmt(std::ostringstream& out, const Stmt& s, int depth) {
  out << std::string(2 * depth, ' ');
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
        out << std::string(2 * depth, ' ') << "} else {\n";
        print_block(out, s.orelse, depth + 1);
      }
      break;
    case Stmt::Kind::points:
      out << "for " << s.name << " in " << (s.region == Region::interior ? "interior(" : "border(") << s.grid << ") {\n";
      print_block(out, s.body, depth + 1);
      break;
    case Stmt::Kind::neighbors: {
      out << "for " << s.name << " in neighbors(" << s.grid << ", " << print(s.point) << ", " << s.set << ") [";
      for (std::size_t k = 0; k < s.offsets.size(); ++k) out << (k ? ", " : "") << "(" << join(s.offsets[k]) << ")";
      out << "] {\n";
      print_block(out, s.body, depth + 1);
      break;
    }
  }
  out << std::string(2 * depth, ' ') << "}\n";
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
    case Expr::Kind::unary: return e->op + "(" + print(e->args[0]) + ")";
    case Expr::Kind::binary: return "(" + print(e->args[0]) + " " + e->op + " " + print(e->args[1]) + ")";
    case Expr::Kind::cast: return std::string(type_name(e->type)) + "(" + print(e->args[0]) + ")";
    case Expr::Kind::lookup:
    case Expr::Kind::select:
    case Expr::Kind::call: {
      std::string out = e->kind == Expr::Kind::lookup   ? "lookup(" + e->name
                        : e->kind == Expr::Kind::select ? std::string("select(")
                                                        : e->name + "(";
      bool first = e->kind != Expr::Kind::lookup;
      for (const ExprPtr& a : e->args) {
        out += (first ? "" : ", ") + print(a);
        first = false;
      }
      return out + ")";
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

struct Token {
  enum class Kind { ident, number, punct, end };
  Kind kind;
  std::string text;
  unsigned line, column;
};

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

class Parser {
 public:
  Parser(std::string_view text, unsigned first_line) { lex(text, first_line); }

  Kernel kernel() {
    Kernel k;
    keyword("kernel");
    k.name = identifier("the kernel's name");
    while (peek_is("grid")) {
      next();
      Grid g;
      g.name = identifier("a grid name");
      expect(":");
      g.dtype = type();
      expect("[");
      if (!peek_is("]")) {
        do g.shape.push_back(integer()); while (accept(","));
      }
      expect("]");
      keyword("ghost");
      g.ghost = integer();
      if (kernel_.grid(g.name)) fail_back("grid '" + g.name + "' is declared twice");
      kernel_.grids.push_back(g);
    }
    k.grids = kernel_.grids;
    while (peek().kind != Token::Kind::end) k.body.push_back(stmt());
    return k;
  }

 private:
  [[noreturn]] static void fail_at(const Token& t, const std::string& message) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, "DSIR " + std::to_string(t.line) + ":" + std::to_string(t.column) + ": " + message);
  }
  // At the next token.
  [[noreturn]] void fail(const std::string& message) const { fail_at(tokens_[std::min(pos_, tokens_.size() - 1)], message); }
  // At the token just read.
  [[noreturn]] void fail_back(const std::string& message) const { fail_at(tokens_[pos_ - 1], message); }

  void lex(std::string_view text, unsigned line) {
    unsigned column = 1;
    std::size_t i = 0;
    auto advance = [&](std::size_t n) {
      for (std::size_t k = 0; k < n; ++k) {
        if (text[i + k] == '\n') {
          ++line;
          column = 1;
        } else {
          ++column;
        }
      }
      i += n;
    };
    while (true) {
      while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) advance(1);
      if (i >= text.size()) break;
      const char c = text[i];
      std::size_t n = 1;
      Token::Kind kind = Token::Kind::punct;
      if (ident_start(c)) {
        while (i + n < text.size() && ident_char(text[i + n])) ++n;
        kind = Token::Kind::ident;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        while (i + n < text.size()) {
          const char d = text[i + n];
          const bool exponent_sign = (d == '+' || d == '-') && (text[i + n - 1] == 'e' || text[i + n - 1] == 'E');
          if (!(std::isdigit(static_cast<unsigned char>(d)) || d == '.' || d == 'e' || d == 'E' || exponent_sign)) break;
          ++n;
        }
        kind = Token::Kind::number;
      } else {
        for (std::string_view two : {"//", "**", "==", "!=", "<=", ">="}) {
          if (text.substr(i, 2) == two) n = 2;
        }
        if (n == 1 && std::string_view("()[]{},:=@+-*/%<>").find(c) == std::string_view::npos) {
          fail_at({Token::Kind::punct, std::string(1, c), line, column}, std::string("unexpected character '") + c + "'");
        }
      }
      tokens_.push_back({kind, std::string(text.substr(i, n)), line, column});
      advance(n);
    }
    tokens_.push_back({Token::Kind::end, "", line, column});
  }

  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  bool peek_is(std::string_view text, std::size_t ahead = 0) const {
    return peek(ahead).kind != Token::Kind::end && peek(ahead).text == text;
  }
  static std::string shown(const Token& t) { return t.kind == Token::Kind::end ? "the end of the text" : "'" + t.text + "'"; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool accept(std::string_view text) {
    if (!peek_is(text)) return false;
    next();
    return true;
  }
  void expect(std::string_view text) {
    if (!accept(text)) fail("expected '" + std::string(text) + "', found " + shown(peek()));
  }
  void keyword(std::string_view word) { expect(word); }

  std::string identifier(const char* what) {
    if (peek().kind != Token::Kind::ident) fail(std::string("expected ") + what + ", found " + shown(peek()));
    return next().text;
  }

  std::int64_t integer() {
    const bool negative = accept("-");
    if (peek().kind != Token::Kind::number) fail("expected an integer, found " + shown(peek()));
    const std::string& text = next().text;
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) fail_back("malformed integer '" + text + "'");
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

  ExprPtr literal(const std::string& number, bool negative) {
    expect(":");
    const Type t = type();
    if (number == "true" || number == "false") {
      if (t != Type::bool_ || negative) fail("'" + number + "' is a bool literal");
      return bool_literal(number == "true");
    }
    if (is_floating(t)) {
      double d = 0;
      if (number == "nan") {
        d = std::nan("");
      } else if (number == "inf") {
        d = HUGE_VAL;
      } else {
        char* end = nullptr;
        d = std::strtod(number.c_str(), &end);
        if (end != number.c_str() + number.size()) fail("malformed number '" + number + "'");
      }
      if (negative) d = -d;
      // A float32 literal holds a float32 value.
      return float_literal(t == Type::f32 ? static_cast<double>(static_cast<float>(d)) : d, t);
    }
    if (!is_integral(t)) fail("a number cannot be a " + std::string(type_name(t)));
    std::int64_t v = 0;
    // The magnitude of INT64_MIN does not fit: parse the sign with the digits.
    const std::string digits = (negative ? "-" : "") + number;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size()) fail("malformed integer '" + number + "'");
    return int_literal(v, t);
  }

  std::vector<ExprPtr> arguments() {
    std::vector<ExprPtr> args;
    if (!peek_is(")")) {
      do args.push_back(expr()); while (accept(","));
    }
    expect(")");
    return args;
  }

  ExprPtr expr() {
    const Token& t = peek();
    // A word literal is followed by its type; without one the same word is a local's name.
    const bool word = (t.text == "nan" || t.text == "inf" || t.text == "true" || t.text == "false") && peek_is(":", 1);
    if (t.kind == Token::Kind::number || t.text == "-" || word) {
      const bool negative = accept("-");
      if (negative && peek().kind != Token::Kind::number && peek().text != "inf" && peek().text != "nan") {
        fail("expected a number after '-'");
      }
      return literal(next().text, negative);
    }
    if (accept("(")) {
      ExprPtr a = expr();
      const Token& op = next();
      bool known = false;
      for (std::string_view o : binary_ops) known |= op.text == o;
      if (!known) fail("unknown binary operator '" + op.text + "'");
      const std::string name = op.text;
      ExprPtr b = expr();
      expect(")");
      return binary(name, a, b);
    }
    const Token at = peek();
    const std::string name = identifier("an expression");
    if (accept("[")) {
      const Grid* g = kernel_.grid(name);
      if (!g) fail_at(at, "unknown grid '" + name + "'");
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
      if (args.size() != n) fail_at(at, "'" + name + "' takes " + std::to_string(n) + " operand(s)");
    };
    if (name == "neg" || name == "not") {
      arity(1);
      return unary(name, args[0]);
    }
    if (name == "select") {
      arity(3);
      return select(args[0], args[1], args[2]);
    }
    if (auto t = parse_type(name)) {
      arity(1);
      return cast(*t, args[0]);
    }
    if (!is_call_name(name)) fail_at(at, "unknown function '" + name + "'");
    arity(name == "min" || name == "max" ? 2 : 1);
    return call(name, std::move(args));
  }

  Block block() {
    expect("{");
    Block b;
    while (!peek_is("}")) {
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
    if (peek_is("let") || peek_is("var")) {
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
      keyword("in");
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
        if (!peek_is("]")) {
          do {
            expect("(");
            std::vector<std::int64_t> offset;
            do offset.push_back(integer()); while (accept(","));
            expect(")");
            s.offsets.push_back(std::move(offset));
          } while (accept(","));
        }
        expect("]");
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

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
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
  return Parser(header->body, 2).kernel();
}

}  // namespace asp::stencil
