// asp/tree.hpp — the Tree: a Python syntax tree as the binding hands it to a
// frontend, language neutral (DESIGN.md §5). Header-only parser and printer.
//
// Text form ("asp-ir 1 tree"): one value, an S-expression.
//
//   value  := node | list | int | float | string | true | false | none
//   node   := "(" KIND ["@" LINE ":" COL] { FIELD "=" value } ")"
//   list   := "[" { value } "]"
//   int    := -?[0-9]+                       (fits int64; larger is an error)
//   float  := -?digits "." digits [e±digits] | "inf" | "-inf" | "nan"
//             (Python's repr(), which round-trips; read back exactly, whatever the C locale)
//   string := '"' chars with \" \\ \n \t \r and \xHH escapes '"'
//
// KIND and FIELD are Python's ast class and field names (FunctionDef, For,
// Name, id, ...); LINE is 1-based and COL 0-based, as in Python's ast. A
// float is recognised by its '.', 'e', "inf" or "nan"; an int never has them.
//
// What the binding sends a frontend is one Specialize node:
//   (Specialize function=(FunctionDef ...) constants=[(Constant name="..." value=...) ...])
// where `constants` holds the values the function may read that are not in
// its text: numbers from globals and closures, domain data such as a grid's
// neighbour definition. A constant's value is a number, a bool, a string, or
// a list of values (tuples travel as lists).
#pragma once

#include <asp/ir_text.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace asp::tree {

inline constexpr unsigned version = 1;
inline constexpr std::string_view dialect = "tree";

struct Node;
struct Value;
using NodePtr = std::shared_ptr<const Node>;
using List = std::vector<Value>;
struct None {
  bool operator==(const None&) const { return true; }
};

struct Value {
  std::variant<None, bool, std::int64_t, double, std::string, NodePtr, List> v;

  bool is_none() const { return std::holds_alternative<None>(v); }
  const Node* node() const {
    auto* n = std::get_if<NodePtr>(&v);
    return n ? n->get() : nullptr;
  }
  const List* list() const { return std::get_if<List>(&v); }
  const std::string* string() const { return std::get_if<std::string>(&v); }
  const std::int64_t* integer() const { return std::get_if<std::int64_t>(&v); }
  const double* real() const { return std::get_if<double>(&v); }
  const bool* boolean() const { return std::get_if<bool>(&v); }
};

struct Node {
  std::string kind;
  unsigned line = 0;    // 1-based; 0 when unknown
  unsigned column = 0;  // 0-based, as in Python's ast
  std::vector<std::pair<std::string, Value>> fields;  // in the order they were given

  // The field's value, or nullptr when absent.
  const Value* field(std::string_view name) const {
    for (const auto& [n, v] : fields) {
      if (n == name) return &v;
    }
    return nullptr;
  }
};

// A malformed Tree text: where (1-based line and column, and the byte offset
// from the start of the text) and what was expected.
class ParseError : public std::runtime_error {
 public:
  explicit ParseError(const ir::SyntaxError& e)
      : std::runtime_error(std::string("tree text, ") + e.what()), line_(e.line()), column_(e.column()), offset_(e.offset()) {}
  unsigned line() const { return line_; }
  unsigned column() const { return column_; }
  std::size_t offset() const { return offset_; }

 private:
  unsigned line_, column_;
  std::size_t offset_;
};

namespace tree_detail {

inline constexpr ir::LexRules lex_rules{.signed_numbers = true, .strings = true, .punctuation = "()[]=@:"};

class Parser : ir::TokenCursor {
 public:
  using TokenCursor::TokenCursor;

  Value value() {
    const ir::Token& t = peek();
    if (t.kind == ir::Token::Kind::end) fail("expected a value, found the end of the text");
    if (accept("(")) return Value{std::make_shared<const Node>(node(t))};
    if (accept("[")) return Value{list()};
    if (t.kind == ir::Token::Kind::string) return Value{next().text};
    return atom();
  }

  void expect_end() {
    if (!at_end()) fail("unexpected text after the value");
  }

 private:
  unsigned number() {
    unsigned n = 0;
    if (peek().kind != ir::Token::Kind::number || ir::parse_number(peek().text, n) != std::errc()) {
      fail("expected a number, found " + describe(peek()));
    }
    next();
    return n;
  }

  Node node(const ir::Token& open) {
    Node n;
    n.kind = identifier("a node kind");
    if (accept("@")) {
      n.line = number();
      expect(":");
      n.column = number();
    }
    while (!accept(")")) {
      if (at_end()) fail("unclosed node " + n.kind, open);
      std::string name = identifier("a field name or ')'");
      if (!accept("=")) fail("expected '=' after field " + name);
      n.fields.emplace_back(std::move(name), value());
    }
    return n;
  }

  List list() {
    const ir::Token& open = previous();
    List items;
    while (!accept("]")) {
      if (at_end()) fail("unclosed list", open);
      items.push_back(value());
    }
    return items;
  }

  Value atom() {
    const ir::Token& t = next();
    if (t.kind == ir::Token::Kind::ident) {
      if (t.text == "true") return Value{true};
      if (t.text == "false") return Value{false};
      if (t.text == "none") return Value{None{}};
      if (t.text == "inf" || t.text == "nan") return Value{t.text == "inf" ? HUGE_VAL : std::nan("")};
    }
    if (t.kind != ir::Token::Kind::number) fail("expected a value, found " + describe(t), t);
    // A float has a '.', an exponent, or is "-inf" / "-nan"; an int has none of them.
    if (t.text.find_first_of(".eEin") != std::string::npos) {
      double d = 0;
      if (ir::parse_number(t.text, d) != std::errc()) fail("malformed float '" + t.text + "'", t);
      return Value{d};
    }
    std::int64_t i = 0;
    const std::errc ec = ir::parse_number(t.text, i);
    if (ec == std::errc::result_out_of_range) fail("integer " + t.text + " does not fit in 64 bits", t);
    if (ec != std::errc()) fail("malformed value '" + t.text + "'", t);
    return Value{i};
  }
};

inline void print_value(std::string& out, const Value& v) {
  if (v.is_none()) {
    out += "none";
  } else if (auto* b = v.boolean()) {
    out += ir::format_number(*b);
  } else if (auto* i = v.integer()) {
    out += ir::format_number(*i);
  } else if (auto* d = v.real()) {
    out += ir::format_float(*d, ir::FloatWidth::f64, /*mark_float=*/true);
  } else if (auto* s = v.string()) {
    ir::append_quoted(out, *s);
  } else if (auto* l = v.list()) {
    out += '[';
    for (std::size_t k = 0; k < l->size(); ++k) {
      if (k) out += ' ';
      print_value(out, (*l)[k]);
    }
    out += ']';
  } else if (const Node* n = v.node()) {
    out += '(' + n->kind;
    if (n->line) out += " @" + std::to_string(n->line) + ":" + std::to_string(n->column);
    for (const auto& [name, field] : n->fields) {
      out += ' ' + name + '=';
      print_value(out, field);
    }
    out += ')';
  }
}

}  // namespace tree_detail

// Parses a Tree text with its "asp-ir 1 tree" header. Throws ParseError.
inline Value parse(std::string_view text) {
  auto header = ir::parse_header(text);
  if (!header || header->dialect != dialect) throw ParseError(ir::SyntaxError("missing the 'asp-ir 1 tree' header line", 1, 1, 0));
  if (header->version != version) {
    throw ParseError(ir::SyntaxError("Tree version " + std::to_string(header->version) + " is not read here", 1, 1, 0));
  }
  try {
    const ir::Place body{2, 1, text.size() - header->body.size()};
    tree_detail::Parser parser(ir::Lexer(header->body, tree_detail::lex_rules, body).run());
    Value v = parser.value();
    parser.expect_end();
    return v;
  } catch (const ir::SyntaxError& e) {
    throw ParseError(e);
  }
}

// The text form of a value, with its header.
inline std::string print(const Value& v) {
  std::string out = ir::header_line(version, dialect);
  tree_detail::print_value(out, v);
  return out + "\n";
}

}  // namespace asp::tree
