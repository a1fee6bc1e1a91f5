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
//             (Python's repr(), which round-trips: strtod gives the same double)
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

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
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

class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& message, std::size_t offset)
      : std::runtime_error("tree text, offset " + std::to_string(offset) + ": " + message), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

namespace tree_detail {

class Parser {
 public:
  explicit Parser(std::string_view text, std::size_t base) : text_(text), base_(base) {}

  Value value() {
    skip();
    if (at_end()) fail("expected a value, found the end of the text");
    const char c = text_[pos_];
    if (c == '(') return Value{std::make_shared<const Node>(node())};
    if (c == '[') return Value{list()};
    if (c == '"') return Value{string()};
    return atom();
  }

  void expect_end() {
    skip();
    if (!at_end()) fail("unexpected text after the value");
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { throw ParseError(message, base_ + pos_); }
  bool at_end() const { return pos_ >= text_.size(); }
  void skip() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' || text_[pos_] == '\r')) ++pos_;
  }
  static bool word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-' || c == '+';
  }
  std::string_view word() {
    const std::size_t start = pos_;
    while (!at_end() && word_char(text_[pos_])) ++pos_;
    if (start == pos_) fail(std::string("unexpected character '") + text_[pos_] + "'");
    return text_.substr(start, pos_ - start);
  }
  unsigned number() {
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), n);
    if (ec != std::errc()) fail("expected a number");
    pos_ = static_cast<std::size_t>(end - text_.data());
    return n;
  }

  Node node() {
    ++pos_;  // (
    skip();
    Node n;
    n.kind = std::string(word());
    skip();
    if (!at_end() && text_[pos_] == '@') {
      ++pos_;
      n.line = number();
      if (at_end() || text_[pos_] != ':') fail("expected ':' in a position");
      ++pos_;
      n.column = number();
    }
    while (true) {
      skip();
      if (at_end()) fail("unclosed node " + n.kind);
      if (text_[pos_] == ')') {
        ++pos_;
        return n;
      }
      std::string name(word());
      skip();
      if (at_end() || text_[pos_] != '=') fail("expected '=' after field " + name);
      ++pos_;
      n.fields.emplace_back(std::move(name), value());
    }
  }

  List list() {
    ++pos_;  // [
    List items;
    while (true) {
      skip();
      if (at_end()) fail("unclosed list");
      if (text_[pos_] == ']') {
        ++pos_;
        return items;
      }
      items.push_back(value());
    }
  }

  std::string string() {
    ++pos_;  // "
    std::string out;
    while (true) {
      if (at_end()) fail("unclosed string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) fail("unclosed string");
      const char e = text_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'x': {
          if (pos_ + 2 > text_.size()) fail("short \\x escape");
          unsigned byte = 0;
          const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 2, byte, 16);
          if (ec != std::errc() || end != text_.data() + pos_ + 2) fail("bad \\x escape");
          out += static_cast<char>(byte);
          pos_ += 2;
          break;
        }
        default: fail(std::string("unknown escape \\") + e);
      }
    }
  }

  Value atom() {
    const std::string text(word());
    if (text == "true") return Value{true};
    if (text == "false") return Value{false};
    if (text == "none") return Value{None{}};
    if (text == "inf") return Value{HUGE_VAL};
    if (text == "-inf") return Value{-HUGE_VAL};
    if (text == "nan") return Value{std::nan("")};
    if (text.find_first_of(".eE") != std::string::npos) {
      char* end = nullptr;
      const double d = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size()) fail("malformed float '" + text + "'");
      return Value{d};
    }
    std::int64_t i = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
    if (ec == std::errc::result_out_of_range) fail("integer " + text + " does not fit in 64 bits");
    if (ec != std::errc() || end != text.data() + text.size()) fail("malformed value '" + text + "'");
    return Value{i};
  }

  std::string_view text_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

inline void print_value(std::string& out, const Value& v);

inline void print_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

inline void print_value(std::string& out, const Value& v) {
  if (v.is_none()) {
    out += "none";
  } else if (auto* b = v.boolean()) {
    out += *b ? "true" : "false";
  } else if (auto* i = v.integer()) {
    out += std::to_string(*i);
  } else if (auto* d = v.real()) {
    if (std::isnan(*d)) {
      out += "nan";
    } else if (std::isinf(*d)) {
      out += *d < 0 ? "-inf" : "inf";
    } else {
      char buffer[40];
      std::snprintf(buffer, sizeof buffer, "%.17g", *d);
      std::string text = buffer;
      if (text.find_first_of(".eE") == std::string::npos) text += ".0";  // keep it a float
      out += text;
    }
  } else if (auto* s = v.string()) {
    print_string(out, *s);
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
  if (!header || header->dialect != dialect) throw ParseError("missing the 'asp-ir 1 tree' header line", 0);
  if (header->version != version) throw ParseError("Tree version " + std::to_string(header->version) + " is not read here", 0);
  tree_detail::Parser parser(header->body, text.size() - header->body.size());
  Value v = parser.value();
  parser.expect_end();
  return v;
}

// The text form of a value, with its header.
inline std::string print(const Value& v) {
  std::string out = ir::header_line(version, dialect);
  tree_detail::print_value(out, v);
  return out + "\n";
}

}  // namespace asp::tree
