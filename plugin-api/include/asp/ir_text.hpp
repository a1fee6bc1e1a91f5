// asp/ir_text.hpp — the versioned text envelope every IR crosses the ABI in
// (rule R9), and the one text kit the Tree, PSIR and domain IR (DSIR) forms
// are read and written with: constant formatting that round-trips exactly,
// printer helpers, a lexer with line:column positions and a token cursor
// for recursive-descent parsers.
//
// The first line of an IR text is "asp-ir <version> <dialect>", e.g.
// "asp-ir 1 psir" or "asp-ir 1 dsir.stencil"; the body follows on the next line.
#pragma once

#include <asp/plugin.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace asp::ir {

struct Header {
  unsigned version = 0;
  std::string dialect;
  std::string_view body;  // the text after the header line (a view into the input)
};

inline std::string header_line(unsigned version, std::string_view dialect) {
  return "asp-ir " + std::to_string(version) + " " + std::string(dialect) + "\n";
}

// Parses the header line; std::nullopt when the text does not start with one.
inline std::optional<Header> parse_header(std::string_view text) {
  constexpr std::string_view magic = "asp-ir ";
  if (text.substr(0, magic.size()) != magic) return std::nullopt;
  const auto eol = text.find('\n');
  std::string_view line = text.substr(magic.size(), eol == std::string_view::npos ? std::string_view::npos
                                                                                   : eol - magic.size());
  Header header;
  const auto [rest, ec] = std::from_chars(line.data(), line.data() + line.size(), header.version);
  if (ec != std::errc() || rest == line.data() + line.size() || *rest != ' ') return std::nullopt;
  header.dialect.assign(rest + 1, line.data() + line.size());
  if (header.dialect.empty() || header.dialect.find(' ') != std::string::npos) return std::nullopt;
  header.body = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
  return header;
}

// ---- constants -------------------------------------------------------------------------
//
// A printed constant reads back as the same bits: integers in decimal, a
// double with 17 significant digits and a float32 with 9 (the fewest that
// round-trip every value of the type), "inf", "-inf" and "nan" for the
// non-finite ones, -0 keeps its sign.

enum class FloatWidth { f32, f64 };

// mark_float appends ".0" where the digits alone would read as an integer
// (the Tree, whose floats carry no type suffix).
inline std::string format_float(double d, FloatWidth width = FloatWidth::f64, bool mark_float = false) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, width == FloatWidth::f32 ? "%.9g" : "%.17g", d);
  std::string text = buffer;
  if (mark_float && text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

// One alternative of a constant's value variant (integers, bool, double).
template <class T>
std::string format_number(const T& value, FloatWidth width = FloatWidth::f64) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_floating_point_v<T>) {
    return format_float(static_cast<double>(value), width);
  } else {
    static_assert(std::is_integral_v<T>, "a constant is an integer, a bool or a floating-point number");
    return std::to_string(value);
  }
}

template <class... Ts>
std::string format_number(const std::variant<Ts...>& value, FloatWidth width = FloatWidth::f64) {
  return std::visit([&](const auto& v) { return format_number(v, width); }, value);
}

// Reads the whole of text as a number of type T: an integer in decimal with
// an optional '-', or a double ("inf", "-inf" and "nan" included). Gives
// std::errc::invalid_argument when text is not such a number and
// std::errc::result_out_of_range when the value does not fit in T. Unlike
// strtod it does not depend on the C locale.
template <class T>
std::errc parse_number(std::string_view text, T& value) {
  static_assert(std::is_same_v<T, double> || (std::is_integral_v<T> && !std::is_same_v<T, bool>));
  const char* const end = text.data() + text.size();
  // from_chars takes "-" for unsigned types as malformed, and nothing else needs a special case.
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc()) return ec;
  return stop == end ? std::errc() : std::errc::invalid_argument;
}

// A float32 constant holds a float32 value.
inline double round_to(FloatWidth width, double d) {
  return width == FloatWidth::f32 ? static_cast<double>(static_cast<float>(d)) : d;
}

// ---- printer helpers -------------------------------------------------------------------

// Two spaces per nesting level.
inline std::string indent(int depth) { return std::string(2 * static_cast<std::size_t>(depth), ' '); }

// How join() writes an item when no formatter is given: strings as they are, integers in decimal.
struct Plain {
  template <class T>
  std::string operator()(const T& item) const {
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      return std::string(std::string_view(item));
    } else {
      return format_number(item);
    }
  }
};

// The items, each written by format, with separator between them.
template <class Range, class Format = Plain>
std::string join(const Range& items, Format format = {}, std::string_view separator = ", ") {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += separator;
    out += format(item);
    first = false;
  }
  return out;
}

// A string literal: "..." with \" \\ \n \t \r and \xHH for other control bytes.
inline void append_quoted(std::string& out, std::string_view s) {
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

// ---- lexer -----------------------------------------------------------------------------

// A syntax error at a place in the text: line and column are 1-based, offset
// counts bytes from the start of the whole text (header included). what()
// is "line:column: message".
class SyntaxError : public std::runtime_error {
 public:
  SyntaxError(const std::string& message, unsigned line, unsigned column, std::size_t offset)
      : std::runtime_error(std::to_string(line) + ":" + std::to_string(column) + ": " + message),
        message_(message),
        line_(line),
        column_(column),
        offset_(offset) {}
  const std::string& message() const { return message_; }
  unsigned line() const { return line_; }
  unsigned column() const { return column_; }
  std::size_t offset() const { return offset_; }

 private:
  std::string message_;
  unsigned line_, column_;
  std::size_t offset_;
};

struct Token {
  enum class Kind { ident, number, string, punct, end };
  Kind kind;
  std::string text;  // as written; a string token holds its decoded contents
  unsigned line, column;
  std::size_t offset;
};

// What one text form's tokens look like. Identifiers are [A-Za-z_][A-Za-z0-9_]*;
// a number starts with a digit and runs over letters, digits, '.' and a sign
// right after an exponent's 'e' (so a malformed number such as 1.5x is one
// token, reported whole by whoever converts it).
struct LexRules {
  // A '-' right before a digit, "inf" or "nan" is the number's sign. The form
  // then writes a binary minus with a space after it.
  bool signed_numbers = false;
  // '.' continues an identifier.
  bool dotted_identifiers = false;
  // "..." is a string literal with the escapes append_quoted() writes.
  bool strings = false;
  // The one-character punctuation; empty: any other character is one.
  std::string_view punctuation{};
  // Punctuation of several characters, each matched before a single character.
  std::span<const std::string_view> operators{};
};

// Where a text's first character stands: the body of an envelope starts on line 2.
struct Place {
  unsigned line = 1;
  unsigned column = 1;
  std::size_t offset = 0;
};

class Lexer {
 public:
  Lexer(std::string_view text, const LexRules& rules, Place start = {})
      : text_(text), rules_(rules), line_(start.line), column_(start.column), base_(start.offset) {}

  // All tokens, ending with one of Kind::end. Throws SyntaxError.
  std::vector<Token> run() {
    std::vector<Token> tokens;
    while (true) {
      while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) advance(1);
      Token t{Token::Kind::end, "", line_, column_, base_ + pos_};
      if (pos_ >= text_.size()) {
        tokens.push_back(std::move(t));
        return tokens;
      }
      const char c = text_[pos_];
      if (ident_start(c)) {
        t.kind = Token::Kind::ident;
        t.text = take_identifier();
      } else if (number_start()) {
        t.kind = Token::Kind::number;
        t.text = take_number();
      } else if (rules_.strings && c == '"') {
        t.kind = Token::Kind::string;
        t.text = take_string(t);
      } else {
        t.kind = Token::Kind::punct;
        t.text = take_punct(t);
      }
      tokens.push_back(std::move(t));
    }
  }

 private:
  static bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  char at(std::size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
  bool ident_char(char c) const {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (rules_.dotted_identifiers && c == '.');
  }

  bool number_start() const {
    if (digit(text_[pos_])) return true;
    if (!rules_.signed_numbers || text_[pos_] != '-') return false;
    const std::string_view rest = text_.substr(pos_ + 1);
    return digit(at(pos_ + 1)) || rest.starts_with("inf") || rest.starts_with("nan");
  }

  void advance(std::size_t n) {
    for (std::size_t i = 0; i < n && pos_ < text_.size(); ++i, ++pos_) {
      if (text_[pos_] == '\n') {
        ++line_;
        column_ = 1;
      } else {
        ++column_;
      }
    }
  }

  std::string take(std::size_t n) {
    const std::size_t start = pos_;
    advance(n);
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string take_identifier() {
    std::size_t n = 1;
    while (ident_char(at(pos_ + n))) ++n;
    return take(n);
  }

  std::string take_number() {
    std::size_t n = 1;
    while (true) {
      const char c = at(pos_ + n);
      const char before = text_[pos_ + n - 1];
      const bool exponent_sign = (c == '+' || c == '-') && (before == 'e' || before == 'E');
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || exponent_sign)) break;
      ++n;
    }
    return take(n);
  }

  [[noreturn]] void fail(const std::string& message, unsigned line, unsigned column, std::size_t pos) const {
    throw SyntaxError(message, line, column, base_ + pos);
  }

  std::string take_string(const Token& start) {
    advance(1);  // "
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("unclosed string", start.line, start.column, start.offset - base_);
      const char c = text_[pos_];
      if (c == '"') {
        advance(1);
        return out;
      }
      if (c != '\\') {
        out += c;
        advance(1);
        continue;
      }
      const unsigned line = line_, column = column_;
      const std::size_t escape = pos_;
      if (pos_ + 1 >= text_.size()) fail("unclosed string", start.line, start.column, start.offset - base_);
      const char e = text_[pos_ + 1];
      advance(2);
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'x': {
          unsigned byte = 0;
          const std::string_view hex = text_.substr(pos_, 2);
          const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), byte, 16);
          if (hex.size() != 2 || ec != std::errc() || end != hex.data() + 2) {
            fail("bad \\x escape: two hexadecimal digits expected", line, column, escape);
          }
          out += static_cast<char>(byte);
          advance(2);
          break;
        }
        default: fail(std::string("unknown escape \\") + e, line, column, escape);
      }
    }
  }

  std::string take_punct(const Token& t) {
    std::size_t n = 0;
    for (std::string_view op : rules_.operators) {
      if (op.size() > n && text_.substr(pos_, op.size()) == op) n = op.size();
    }
    if (n == 0) {
      const char c = text_[pos_];
      if (!rules_.punctuation.empty() && rules_.punctuation.find(c) == std::string_view::npos) {
        const unsigned char u = static_cast<unsigned char>(c);
        char shown[8];
        if (u < 0x20 || u >= 0x7f) {
          std::snprintf(shown, sizeof shown, "\\x%02x", u);
        } else {
          shown[0] = c;
          shown[1] = '\0';
        }
        fail(std::string("unexpected character '") + shown + "'", t.line, t.column, pos_);
      }
      n = 1;
    }
    return take(n);
  }

  std::string_view text_;
  LexRules rules_;
  std::size_t pos_ = 0;
  unsigned line_, column_;
  std::size_t base_;
};

// ---- token cursor ----------------------------------------------------------------------

// The reading end of a recursive-descent parser over a lexed text. Every
// failure is a SyntaxError at a token, saying what was expected.
class TokenCursor {
 public:
  explicit TokenCursor(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

 protected:
  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  // The next token, consumed; the end token stays.
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  // The token next() gave last.
  const Token& previous() const { return tokens_[pos_ == 0 ? 0 : pos_ - 1]; }
  bool at_end() const { return peek().kind == Token::Kind::end; }

  // Whether the token `ahead` is an identifier or punctuation spelled text.
  bool is(std::string_view text, std::size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return (t.kind == Token::Kind::ident || t.kind == Token::Kind::punct) && t.text == text;
  }
  bool accept(std::string_view text) {
    if (!is(text)) return false;
    next();
    return true;
  }
  void expect(std::string_view text) {
    if (!accept(text)) fail("expected '" + std::string(text) + "', found " + describe(peek()));
  }
  std::string identifier(const char* what) {
    if (peek().kind != Token::Kind::ident) fail(std::string("expected ") + what + ", found " + describe(peek()));
    return next().text;
  }

  // After an opening bracket: [item {"," item}] close, reading each item with item().
  template <class Item>
  void comma_list(std::string_view close, Item&& item) {
    if (accept(close)) return;
    while (true) {
      item();
      if (accept(close)) return;
      if (!accept(",")) fail("expected ',' or '" + std::string(close) + "', found " + describe(peek()));
    }
  }

  static std::string describe(const Token& t) {
    if (t.kind == Token::Kind::end) return "the end of the text";
    if (t.kind == Token::Kind::string) {
      std::string quoted;
      append_quoted(quoted, t.text);
      return "the string " + quoted;
    }
    return "'" + t.text + "'";
  }

  // At the next token.
  [[noreturn]] void fail(const std::string& message) const { fail(message, peek()); }
  [[noreturn]] static void fail(const std::string& message, const Token& at) {
    throw SyntaxError(message, at.line, at.column, at.offset);
  }
  // At the token just read.
  [[noreturn]] void fail_back(const std::string& message) const { fail(message, previous()); }

 private:
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
};

}  // namespace asp::ir
