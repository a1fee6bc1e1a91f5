// asp/psir_text.hpp — the canonical text form of PSIR: print() and parse()
// round-trip exactly (parse(print(m)) equals m, and printing it again gives
// the same text).
//
//   asp-ir 1 psir
//   func lap(in: buffer f64[n, n], out: buffer f64[n, n], n: i64) requires ((n % 4:i64) == 0:i64) {
//     for i in 1:i64 .. (n - 1:i64) step 1 parallel {
//       let c: f64 = in[i, 0:i64]
//       store out[i, 0:i64] = (c * 2:f64)
//     }
//   }
//
// Constants carry their type (`2:f64`); binary operators are always
// parenthesized; unary operators are written neg(x), not(x), bitnot(x); a
// cast is the target type applied like a function, f32(x); a call or cast
// that raises as Python does carries its source line, sqrt(x)@12 (Expr::raises).
#pragma once

#include <asp/ir_text.hpp>
#include <asp/psir.hpp>

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>

namespace asp::psir {

// A syntax or name error in PSIR text, with the 1-based position.
class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& message, unsigned line, unsigned column)
      : std::runtime_error(std::to_string(line) + ":" + std::to_string(column) + ": " + message),
        line_(line),
        column_(column) {}
  unsigned line() const { return line_; }
  unsigned column() const { return column_; }

 private:
  unsigned line_, column_;
};

namespace text_detail {

inline std::string format_constant(const Expr& e) {
  return ir::format_number(e.value, e.type == Type::f32 ? ir::FloatWidth::f32 : ir::FloatWidth::f64) + ":" + type_name(e.type);
}

inline std::string format_extent(const Extent& x) {
  return std::holds_alternative<std::int64_t>(x) ? std::to_string(std::get<std::int64_t>(x)) : std::get<std::string>(x);
}

inline std::string format_extents(const std::vector<Extent>& xs) { return "[" + ir::join(xs, format_extent) + "]"; }

}  // namespace text_detail

inline std::string print(const ExprPtr& e);

namespace text_detail {

inline std::string join_exprs(const std::vector<ExprPtr>& es) {
  return ir::join(es, [](const ExprPtr& e) { return print(e); });
}

}  // namespace text_detail

inline std::string print(const ExprPtr& e) {
  using namespace text_detail;
  if (e->raises) {
    Expr plain = *e;
    plain.raises = 0;
    return print(make(std::move(plain))) + "@" + std::to_string(e->raises);
  }
  switch (e->kind) {
    case Expr::Kind::constant: return format_constant(*e);
    case Expr::Kind::var: return e->name;
    case Expr::Kind::unary: return std::string(spelling(e->unary_op)) + "(" + print(e->args[0]) + ")";
    case Expr::Kind::binary: return "(" + print(e->args[0]) + " " + std::string(spelling(e->binary_op)) + " " + print(e->args[1]) + ")";
    case Expr::Kind::cast: return std::string(type_name(e->type)) + "(" + print(e->args[0]) + ")";
    case Expr::Kind::load:
    case Expr::Kind::select:
    case Expr::Kind::call: {
      std::string out = e->kind == Expr::Kind::load     ? e->name + "["
                        : e->kind == Expr::Kind::select ? "select("
                                                        : std::string(spelling(e->intrinsic)) + "(";
      return out + join_exprs(e->args) + (e->kind == Expr::Kind::load ? "]" : ")");
    }
  }
  return "?";
}

inline void print_block(std::ostringstream& out, const Block& block, int depth);

inline void print_stmt(std::ostringstream& out, const Stmt& s, int depth) {
  const std::string pad = ir::indent(depth);
  switch (s.kind) {
    case Stmt::Kind::loop: {
      const Loop& l = *s.loop;
      out << pad << "for " << l.var << " in " << print(l.lower) << " .. " << print(l.upper) << " step " << l.step << " "
          << loop_kind_name(l.kind);
      if (l.kind == LoopKind::gpu_block || l.kind == LoopKind::gpu_thread) out << "(" << l.dim << ")";
      out << " {\n";
      print_block(out, l.body, depth + 1);
      out << pad << "}\n";
      break;
    }
    case Stmt::Kind::let:
    case Stmt::Kind::decl:
      out << pad << (s.kind == Stmt::Kind::let ? "let " : "var ") << s.name << ": " << type_name(s.type) << " = "
          << print(s.value) << "\n";
      break;
    case Stmt::Kind::assign: out << pad << s.name << " = " << print(s.value) << "\n"; break;
    case Stmt::Kind::reduce: out << pad << s.name << " " << spelling(s.reduce_op) << "= " << print(s.value) << "\n"; break;
    case Stmt::Kind::store: {
      out << pad << "store " << s.name << "[" << text_detail::join_exprs(s.indices) << "] = " << print(s.value) << "\n";
      break;
    }
    case Stmt::Kind::if_:
      out << pad << "if " << print(s.value) << " {\n";
      print_block(out, s.then_block, depth + 1);
      if (!s.else_block.empty()) {
        out << pad << "} else {\n";
        print_block(out, s.else_block, depth + 1);
      }
      out << pad << "}\n";
      break;
  }
}

inline void print_block(std::ostringstream& out, const Block& block, int depth) {
  for (const Stmt& s : block) print_stmt(out, s, depth);
}

namespace text_detail {

inline std::string format_param(const Param& p) {
  std::string out = p.name + ": ";
  if (p.kind == Param::Kind::buffer) {
    out += std::string("buffer ") + type_name(p.type) + format_extents(p.shape);
    if (!p.strides.empty()) out += " strides " + format_extents(p.strides);
  } else {
    out += type_name(p.type);
  }
  return out;
}

inline std::string format_params(const std::vector<Param>& params) { return "(" + ir::join(params, format_param) + ")"; }

inline std::string format_names(const std::vector<std::string>& names) { return "(" + ir::join(names) + ")"; }

inline void print_schedule(std::ostringstream& out, const Schedule& schedule, int depth) {
  const std::string pad = ir::indent(depth);
  for (const HostStmt& s : schedule) {
    switch (s.kind) {
      case HostStmt::Kind::launch: out << pad << "launch " << s.name << format_names(s.args) << "\n"; break;
      case HostStmt::Kind::comm: out << pad << "comm " << s.name << format_names(s.args) << "\n"; break;
      case HostStmt::Kind::let:
      case HostStmt::Kind::decl:
        out << pad << (s.kind == HostStmt::Kind::let ? "let " : "var ") << s.name << ": " << type_name(s.type)
            << " = " << print(s.value) << "\n";
        break;
      case HostStmt::Kind::assign: out << pad << s.name << " = " << print(s.value) << "\n"; break;
      case HostStmt::Kind::break_: out << pad << "break\n"; break;
      case HostStmt::Kind::loop:
        out << pad << "for " << s.name << " in " << print(s.value) << " .. " << print(s.upper) << " {\n";
        print_schedule(out, s.body, depth + 1);
        out << pad << "}\n";
        break;
      case HostStmt::Kind::if_:
        out << pad << "if " << print(s.value) << " {\n";
        print_schedule(out, s.body, depth + 1);
        if (!s.else_body.empty()) {
          out << pad << "} else {\n";
          print_schedule(out, s.else_body, depth + 1);
        }
        out << pad << "}\n";
        break;
    }
  }
}

}  // namespace text_detail

inline std::string print(const Function& f) {
  std::ostringstream out;
  out << "func " << f.name << text_detail::format_params(f.params);
  if (!f.kernel.empty()) out << " of " << f.kernel;
  if (f.requires_) out << " requires " << print(f.requires_);
  out << " {\n";
  print_block(out, f.body, 1);
  out << "}\n";
  return out.str();
}

inline std::string print(const KernelDecl& k) {
  std::string out = "kernel " + k.name + text_detail::format_params(k.params);
  if (!k.writes.empty()) out += " writes" + text_detail::format_names(k.writes);
  return out + "\n";
}

inline std::string print(const Program& p) {
  std::ostringstream out;
  out << "program" << text_detail::format_params(p.params);
  if (!p.tuning_key.empty()) {
    out << " tune(" << text_detail::join_exprs(p.tuning_key) << ")";
  }
  out << " {\n";
  for (const Param& t : p.temporaries) {
    out << "  temp " << t.name << ": buffer " << type_name(t.type) << text_detail::format_extents(t.shape) << "\n";
  }
  text_detail::print_schedule(out, p.schedule, 1);
  out << "}\n";
  return out.str();
}

// Version 1 for a module without a program or kernel declarations (so text
// that older readers took is written as before), version 2 otherwise.
inline std::string print(const Module& m) {
  std::string out = ir::header_line(m.is_version_1() ? 1 : version, dialect);
  for (const KernelDecl& k : m.kernels) out += print(k);
  for (const Function& f : m.functions) out += print(f);
  if (m.program) out += print(*m.program);
  return out;
}

// ---- parser ------------------------------------------------------------------

namespace text_detail {

using ir::Token;

// Negative numbers are one token ("-1:i64", "-inf:f64"): a binary minus always has a space after it.
inline constexpr std::string_view operators[] = {"..", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>", "+=", "*="};
inline constexpr ir::LexRules lex_rules{.signed_numbers = true, .operators = operators};

class Parser : ir::TokenCursor {
 public:
  Parser(std::vector<Token> tokens, unsigned version) : TokenCursor(std::move(tokens)), version_(version) {}

  Module module() {
    Module m;
    while (peek().kind != Token::Kind::end) {
      if (version_ >= 2 && is("kernel")) {
        m.kernels.push_back(kernel_decl());
      } else if (version_ >= 2 && is("program")) {
        if (m.program) fail("a module holds one program", peek());
        m.program = program();
      } else {
        m.functions.push_back(function());
      }
    }
    return m;
  }

 private:
  using Scope = std::map<std::string, Type>;

  Type type() {
    const Token& t = peek();
    auto parsed = parse_type(identifier("a type"));
    if (!parsed) fail("unknown type '" + t.text + "'", t);
    return *parsed;
  }
  std::int64_t integer() {
    const Token& t = next();
    std::int64_t value = 0;
    if (t.kind != Token::Kind::number || ir::parse_number(t.text, value) != std::errc()) {
      fail("expected an integer, found " + describe(t), t);
    }
    return value;
  }

  std::vector<Extent> extents() {
    std::vector<Extent> xs;
    expect("[");
    comma_list("]", [&] {
      if (peek().kind == Token::Kind::number) {
        xs.emplace_back(integer());
      } else {
        xs.emplace_back(identifier("an extent"));
      }
    });
    return xs;
  }

  // Parameters in parentheses; scalars enter the current scope, buffers the buffer table.
  std::vector<Param> params() {
    std::vector<Param> list;
    expect("(");
    comma_list(")", [&] {
      Param p;
      p.name = identifier("a parameter name");
      expect(":");
      if (is("buffer")) {
        next();
        p.kind = Param::Kind::buffer;
        p.type = type();
        p.shape = extents();
        if (is("strides")) {
          next();
          p.strides = extents();
        }
        buffers_[p.name] = p.type;
      } else {
        p.kind = Param::Kind::scalar;
        p.type = type();
        scopes_.back()[p.name] = p.type;
      }
      list.push_back(std::move(p));
    });
    return list;
  }

  std::vector<std::string> names() {
    std::vector<std::string> list;
    expect("(");
    comma_list(")", [&] { list.push_back(identifier("a name")); });
    return list;
  }

  Function function() {
    expect("func");
    Function f;
    f.name = identifier("a function name");
    scopes_.assign(1, Scope{});
    buffers_.clear();
    f.params = params();
    if (version_ >= 2 && is("of")) {
      next();
      f.kernel = identifier("a kernel name");
    }
    if (is("requires")) {
      next();
      f.requires_ = expr();
    }
    f.body = block();
    return f;
  }

  KernelDecl kernel_decl() {
    expect("kernel");
    KernelDecl k;
    k.name = identifier("a kernel name");
    scopes_.assign(1, Scope{});
    buffers_.clear();
    k.params = params();
    if (is("writes")) {
      next();
      k.writes = names();
    }
    return k;
  }

  Program program() {
    expect("program");
    Program p;
    scopes_.assign(1, Scope{});
    buffers_.clear();
    p.params = params();
    if (is("tune")) {
      next();
      expect("(");
      comma_list(")", [&] { p.tuning_key.push_back(expr()); });
    }
    expect("{");
    while (is("temp")) {
      next();
      Param t;
      t.kind = Param::Kind::buffer;
      t.name = identifier("a temporary's name");
      expect(":");
      expect("buffer");
      t.type = type();
      t.shape = extents();
      buffers_[t.name] = t.type;
      p.temporaries.push_back(std::move(t));
    }
    scopes_.emplace_back();
    while (!is("}")) p.schedule.push_back(host_stmt());
    scopes_.pop_back();
    expect("}");
    return p;
  }

  Schedule host_block() {
    expect("{");
    scopes_.emplace_back();
    Schedule body;
    while (!is("}")) body.push_back(host_stmt());
    expect("}");
    scopes_.pop_back();
    return body;
  }

  HostStmt host_stmt() {
    const Token& at = peek();
    if (is("launch") || is("comm")) {
      HostStmt s{next().text == "launch" ? HostStmt::Kind::launch : HostStmt::Kind::comm};
      s.name = identifier(s.kind == HostStmt::Kind::launch ? "a kernel name" : "a communication operation");
      s.args = names();
      return s;
    }
    if (is("break")) {
      next();
      return HostStmt{HostStmt::Kind::break_};
    }
    if (is("let") || is("var")) {
      HostStmt s{next().text == "var" ? HostStmt::Kind::decl : HostStmt::Kind::let};
      s.name = identifier("a variable name");
      expect(":");
      s.type = type();
      expect("=");
      s.value = expr();
      scopes_.back()[s.name] = s.type;
      return s;
    }
    if (is("for")) {
      next();
      HostStmt s{HostStmt::Kind::loop};
      s.name = identifier("a loop variable");
      expect("in");
      s.value = expr();
      expect("..");
      s.upper = expr();
      scopes_.emplace_back();
      scopes_.back()[s.name] = Type::i64;
      s.body = host_block();
      scopes_.pop_back();
      return s;
    }
    if (is("if")) {
      next();
      HostStmt s{HostStmt::Kind::if_};
      s.value = expr();
      s.body = host_block();
      if (is("else")) {
        next();
        s.else_body = host_block();
      }
      return s;
    }
    HostStmt s{HostStmt::Kind::assign};
    s.name = identifier("a schedule statement");
    if (!is("=")) fail("expected '=' after '" + s.name + "' (or launch, comm, let, var, for, if, break)", at);
    next();
    s.value = expr();
    return s;
  }

  Block block() {
    expect("{");
    scopes_.emplace_back();
    Block b;
    while (!is("}")) b.push_back(stmt());
    expect("}");
    scopes_.pop_back();
    return b;
  }

  Stmt stmt() {
    if (is("for")) return loop();
    if (is("let") || is("var")) {
      const bool mutable_ = next().text == "var";
      const std::string name = identifier("a variable name");
      expect(":");
      const Type declared = type();
      expect("=");
      ExprPtr value = expr();
      Stmt s = mutable_ ? make_decl(name, value) : make_let(name, value);
      s.type = declared;
      scopes_.back()[name] = declared;
      return s;
    }
    if (is("store")) {
      next();
      const Token& at = peek();
      const std::string buffer = identifier("a buffer name");
      if (!buffers_.count(buffer)) fail("unknown buffer '" + buffer + "'", at);
      std::vector<ExprPtr> indices = list("[", "]");
      expect("=");
      return make_store(buffer, std::move(indices), expr());
    }
    if (is("if")) {
      next();
      ExprPtr cond = expr();
      Block then_block = block();
      Block else_block;
      if (is("else")) {
        next();
        else_block = block();
      }
      return make_if(std::move(cond), std::move(then_block), std::move(else_block));
    }
    const std::string name = identifier("a statement");
    if (is("=")) {
      next();
      return make_assign(name, expr());
    }
    std::optional<ReduceOp> op;
    if (is("+=") || is("*=")) {
      op = parse_reduce_op(next().text.substr(0, 1));
    } else if ((is("min") || is("max")) && peek(1).text == "=") {
      op = parse_reduce_op(next().text);
      next();
    } else {
      fail("expected '=', '+=', '*=', 'min=' or 'max=' after '" + name + "'", peek());
    }
    return make_reduce(name, *op, expr());
  }

  Stmt loop() {
    expect("for");
    Loop l;
    l.var = identifier("a loop variable");
    expect("in");
    l.lower = expr();
    expect("..");
    l.upper = expr();
    expect("step");
    l.step = integer();
    const Token& kind_token = peek();
    auto kind = parse_loop_kind(identifier("a loop kind"));
    if (!kind) fail("unknown loop kind '" + kind_token.text + "'", kind_token);
    l.kind = *kind;
    if (l.kind == LoopKind::gpu_block || l.kind == LoopKind::gpu_thread) {
      expect("(");
      l.dim = static_cast<int>(integer());
      expect(")");
    }
    scopes_.emplace_back();
    scopes_.back()[l.var] = Type::i64;
    l.body = block();
    scopes_.pop_back();
    return make_loop(std::move(l));
  }

  std::vector<ExprPtr> list(std::string_view open, std::string_view close) {
    expect(open);
    std::vector<ExprPtr> items;
    comma_list(close, [&] { items.push_back(expr()); });
    return items;
  }

  std::optional<Type> lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (auto found = it->find(name); found != it->end()) return found->second;
    }
    return std::nullopt;
  }

  ExprPtr constant_token(const Token& t) {
    expect(":");
    const Type ty = type();
    const std::string& n = t.text;
    if (ty == Type::boolean) {
      if (n != "true" && n != "false") fail("expected true or false", t);
      return constant(ty, n == "true");
    }
    if (is_float(ty)) {
      double d = 0;
      if (ir::parse_number(n, d) != std::errc()) fail("malformed number '" + n + "'", t);
      return constant(ty, ir::round_to(ty == Type::f32 ? ir::FloatWidth::f32 : ir::FloatWidth::f64, d));
    }
    if (is_unsigned(ty)) {
      std::uint64_t u = 0;
      if (ir::parse_number(n, u) != std::errc()) fail("malformed unsigned integer '" + n + "'", t);
      return constant(ty, u);
    }
    std::int64_t i = 0;
    if (ir::parse_number(n, i) != std::errc()) fail("malformed integer '" + n + "'", t);
    return constant(ty, i);
  }

  ExprPtr expr() {
    const Token t = next();
    if (t.kind == Token::Kind::number || ((t.text == "true" || t.text == "false" || t.text == "inf" || t.text == "nan") && is(":"))) {
      return constant_token(t);
    }
    if (t.text == "(") {
      ExprPtr a = expr();
      const Token op = next();
      const std::optional<BinaryOp> known = parse_binary_op(op.text);
      if (!known) fail("expected a binary operator, found " + describe(op), op);
      ExprPtr b = expr();
      expect(")");
      return binary(*known, std::move(a), std::move(b));
    }
    if (t.kind != Token::Kind::ident) fail("expected an expression, found " + describe(t), t);
    if (is("[")) {
      auto element = buffers_.find(t.text);
      if (element == buffers_.end()) fail("unknown buffer '" + t.text + "'", t);
      return load(t.text, element->second, list("[", "]"));
    }
    if (is("(")) {
      std::vector<ExprPtr> args = list("(", ")");
      if (const std::optional<UnaryOp> op = parse_unary_op(t.text)) {
        if (args.size() != 1) fail(t.text + " takes one operand", t);
        return unary(*op, args[0]);
      }
      if (t.text == "select") {
        if (args.size() != 3) fail("select takes three operands", t);
        return select(args[0], args[1], args[2]);
      }
      ExprPtr result;
      if (auto to = parse_type(t.text)) {
        if (args.size() != 1) fail("a cast takes one operand", t);
        result = cast(*to, args[0]);
      } else {
        const std::optional<Intrinsic> f = parse_intrinsic(t.text);
        if (!f) fail("unknown function '" + t.text + "'", t);
        result = call(*f, std::move(args));
      }
      if (is("@")) {
        // The source line of a Python operation that may raise (Expr::raises).
        const Token at = next();
        const std::int64_t line = integer();
        if (line <= 0 || line > 0xFFFFFFFFll) fail("a source line is a positive 32-bit number", at);
        result = raising(result, static_cast<std::uint32_t>(line));
      }
      return result;
    }
    auto ty = lookup(t.text);
    if (!ty) fail("unknown variable '" + t.text + "'", t);
    return var(t.text, *ty);
  }

  unsigned version_;
  std::vector<Scope> scopes_;
  std::map<std::string, Type> buffers_;
};

}  // namespace text_detail

// Parses PSIR text (with its "asp-ir 1 psir" or "asp-ir 2 psir" header). Throws ParseError.
inline Module parse(std::string_view text) {
  auto header = ir::parse_header(text);
  if (!header) throw ParseError("missing the 'asp-ir <version> psir' header line", 1, 1);
  if (header->dialect != dialect) throw ParseError("expected dialect psir, found " + header->dialect, 1, 1);
  if (header->version < 1 || header->version > version) {
    throw ParseError("PSIR version " + std::to_string(header->version) + " is not read by this version (" +
                         std::to_string(version) + ")",
                     1, 1);
  }
  try {
    const ir::Place body{2, 1, text.size() - header->body.size()};
    return text_detail::Parser(ir::Lexer(header->body, text_detail::lex_rules, body).run(), header->version).module();
  } catch (const ir::SyntaxError& e) {
    throw ParseError(e.message(), e.line(), e.column());
  }
}

}  // namespace asp::psir
