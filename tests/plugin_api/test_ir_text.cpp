// The text kit the Tree, PSIR and DSIR forms share: tokens and their
// positions, constants that read back as the same bits, errors that say where.
#include <asp/ir_text.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace {

using namespace asp::ir;
using testing::HasSubstr;
using Kind = Token::Kind;

constexpr std::string_view two_char[] = {"..", "==", "+="};
constexpr LexRules signed_rules{.signed_numbers = true, .strings = true, .operators = two_char};
constexpr LexRules strict_rules{.dotted_identifiers = true, .punctuation = "()-:", .operators = two_char};

std::vector<Token> lex(std::string_view text, const LexRules& rules = signed_rules, Place start = {}) {
  return Lexer(text, rules, start).run();
}

SyntaxError lex_error(std::string_view text, const LexRules& rules = signed_rules) {
  try {
    lex(text, rules);
  } catch (const SyntaxError& e) {
    return e;
  }
  ADD_FAILURE() << "lexed: " << text;
  return SyntaxError("", 0, 0, 0);
}

TEST(IrLexer, YieldsEachKindOfTokenWithItsPlace) {
  const auto tokens = lex("for i_2 in 0:i64 .. (n - 1.5e-3:f64)\n  x += \"a\\n\" -7 -inf", signed_rules, {2, 1, 14});
  struct Expected {
    Kind kind;
    const char* text;
    unsigned line, column;
  };
  const std::vector<Expected> expected = {
      {Kind::ident, "for", 2, 1},   {Kind::ident, "i_2", 2, 5},  {Kind::ident, "in", 2, 9},    {Kind::number, "0", 2, 12},
      {Kind::punct, ":", 2, 13},    {Kind::ident, "i64", 2, 14}, {Kind::punct, "..", 2, 18},   {Kind::punct, "(", 2, 21},
      {Kind::ident, "n", 2, 22},    {Kind::punct, "-", 2, 24},   {Kind::number, "1.5e-3", 2, 26}, {Kind::punct, ":", 2, 32},
      {Kind::ident, "f64", 2, 33},  {Kind::punct, ")", 2, 36},   {Kind::ident, "x", 3, 3},     {Kind::punct, "+=", 3, 5},
      {Kind::string, "a\n", 3, 8}, {Kind::number, "-7", 3, 14}, {Kind::number, "-inf", 3, 17}, {Kind::end, "", 3, 21},
  };
  ASSERT_EQ(tokens.size(), expected.size());
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    EXPECT_EQ(tokens[k].kind, expected[k].kind) << k;
    EXPECT_EQ(tokens[k].text, expected[k].text) << k;
    EXPECT_EQ(tokens[k].line, expected[k].line) << tokens[k].text;
    EXPECT_EQ(tokens[k].column, expected[k].column) << tokens[k].text;
  }
  EXPECT_EQ(tokens[0].offset, 14u);  // counted from the start of the whole text
  EXPECT_EQ(tokens[14].offset, 14u + 39u);
}

TEST(IrLexer, TheRulesDecideSignsDotsAndStrings) {
  // Without signed numbers a minus is punctuation; with dotted identifiers a '.' continues a name.
  const auto tokens = lex("-1 a.b -inf", strict_rules);
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens[0].text, "-");
  EXPECT_EQ(tokens[1].kind, Kind::number);
  EXPECT_EQ(tokens[2].text, "a.b");
  EXPECT_EQ(tokens[3].text, "-");
  EXPECT_EQ(tokens[4].kind, Kind::ident);
  // With signed numbers "- 1" (a binary minus, spaced) stays two tokens.
  const auto spaced = lex("- 1");
  EXPECT_EQ(spaced[0].kind, Kind::punct);
  EXPECT_EQ(spaced[1].text, "1");
  // A malformed number is one token, for the parser to report whole.
  EXPECT_EQ(lex("1.5x:f64")[0].text, "1.5x");
  EXPECT_EQ(lex("1e+5")[0].text, "1e+5");
  // Operators are matched before single characters.
  EXPECT_EQ(lex("a==b")[1].text, "==");
  EXPECT_EQ(lex("a=b")[1].text, "=");
}

TEST(IrLexer, BadInputIsAnErrorAtItsLineAndColumn) {
  SyntaxError e = lex_error("a\n  b $", strict_rules);
  EXPECT_STREQ(e.what(), "2:5: unexpected character '$'");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.column(), 5u);
  EXPECT_EQ(e.offset(), 6u);
  EXPECT_EQ(e.message(), "unexpected character '$'");
  EXPECT_STREQ(lex_error("\x01", strict_rules).what(), "1:1: unexpected character '\\x01'");
  EXPECT_STREQ(lex_error("x \"abc").what(), "1:3: unclosed string");
  EXPECT_STREQ(lex_error("\"ab\\q\"").what(), "1:4: unknown escape \\q");
  EXPECT_THAT(lex_error("\n \"\\x4\"").what(), HasSubstr("2:3: bad \\x escape"));
  EXPECT_STREQ(lex_error("\"ab\\").what(), "1:1: unclosed string");
}

TEST(IrLexer, StringsRoundTripEveryByte) {
  std::string all;
  for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
  std::string quoted;
  append_quoted(quoted, all);
  EXPECT_EQ(quoted.find('\n'), std::string::npos);
  const auto tokens = lex(quoted);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].kind, Kind::string);
  EXPECT_EQ(tokens[0].text, all);
  std::string small;
  append_quoted(small, "a\"b\\\x01\t");
  EXPECT_EQ(small, "\"a\\\"b\\\\\\x01\\t\"");
}

// Prints d, lexes the text and reads it back.
double round_trip(double d, FloatWidth width) {
  const std::string text = format_float(d, width);
  const auto tokens = lex(text);
  EXPECT_EQ(tokens.size(), 2u) << text;
  double back = 0;
  EXPECT_EQ(parse_number(tokens[0].text, back), std::errc()) << text;
  return round_to(width, back);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(IrConstants, DoublesAndFloatsReadBackAsTheSameBits) {
  using limits = std::numeric_limits<double>;
  using flimits = std::numeric_limits<float>;
  const std::vector<double> doubles = {0.0,          -0.0,          0.1,           1.0 / 3.0,           -2.5,
                                       limits::max(), -limits::max(), limits::min(), limits::denorm_min(), -limits::denorm_min(),
                                       limits::min() / 3, limits::infinity(), -limits::infinity(), 1e16, 123456789012345678.0};
  for (double d : doubles) {
    EXPECT_TRUE(same_bits(round_trip(d, FloatWidth::f64), d)) << format_float(d);
  }
  const std::vector<float> floats = {0.0f, -0.0f, 0.1f, 1.0f / 3.0f, flimits::max(), flimits::min(), flimits::denorm_min(),
                                     -flimits::denorm_min(), 16777217.0f, flimits::infinity()};
  for (float f : floats) {
    EXPECT_TRUE(same_bits(round_trip(f, FloatWidth::f32), static_cast<double>(f))) << format_float(f, FloatWidth::f32);
  }
  EXPECT_TRUE(std::isnan(round_trip(std::nan(""), FloatWidth::f64)));
  EXPECT_TRUE(std::isnan(round_trip(std::nan(""), FloatWidth::f32)));
  // A pseudo-random walk over bit patterns, both widths.
  std::uint64_t state = 0x2545F4914F6CDD1Dull;
  for (int i = 0; i < 20000; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    double d;
    std::memcpy(&d, &state, sizeof d);
    float f;
    const auto low = static_cast<std::uint32_t>(state);
    std::memcpy(&f, &low, sizeof f);
    if (!std::isnan(d)) {
      ASSERT_TRUE(same_bits(round_trip(d, FloatWidth::f64), d)) << format_float(d);
    }
    if (!std::isnan(f)) {
      ASSERT_TRUE(same_bits(round_trip(f, FloatWidth::f32), static_cast<double>(f))) << format_float(f);
    }
  }
}

TEST(IrConstants, TheSpellingEachFormUses) {
  EXPECT_EQ(format_float(-0.0), "-0");
  EXPECT_EQ(format_float(-0.0, FloatWidth::f64, /*mark_float=*/true), "-0.0");
  EXPECT_EQ(format_float(3.0, FloatWidth::f64, true), "3.0");
  EXPECT_EQ(format_float(1e300, FloatWidth::f64, true), "1.0000000000000001e+300");
  EXPECT_EQ(format_float(0.1), "0.10000000000000001");
  EXPECT_EQ(format_float(0.1f, FloatWidth::f32), "0.100000001");
  EXPECT_EQ(format_float(-HUGE_VAL, FloatWidth::f64, true), "-inf");
  EXPECT_EQ(format_float(std::nan(""), FloatWidth::f64, true), "nan");
  EXPECT_EQ(format_number(std::variant<std::int64_t, std::uint64_t, double, bool>{std::uint64_t{18446744073709551615ull}}),
            "18446744073709551615");
  EXPECT_EQ(format_number(std::variant<std::int64_t, double, bool>{std::numeric_limits<std::int64_t>::min()}),
            "-9223372036854775808");
  EXPECT_EQ(format_number(std::variant<std::int64_t, double, bool>{true}), "true");
  EXPECT_EQ(format_number(std::variant<std::int64_t, double, bool>{0.5}, FloatWidth::f32), "0.5");
}

TEST(IrConstants, ReadingANumberSaysWhyItFailed) {
  std::int64_t i = 0;
  EXPECT_EQ(parse_number("-9223372036854775808", i), std::errc());
  EXPECT_EQ(i, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(parse_number("9223372036854775808", i), std::errc::result_out_of_range);
  EXPECT_EQ(parse_number("12x", i), std::errc::invalid_argument);
  EXPECT_EQ(parse_number("", i), std::errc::invalid_argument);
  std::uint64_t u = 0;
  EXPECT_EQ(parse_number("18446744073709551615", u), std::errc());
  EXPECT_EQ(parse_number("-1", u), std::errc::invalid_argument);
  double d = 0;
  EXPECT_EQ(parse_number("1.5.5", d), std::errc::invalid_argument);
  EXPECT_EQ(parse_number("-inf", d), std::errc());
  EXPECT_EQ(d, -HUGE_VAL);
  EXPECT_EQ(parse_number("1e400", d), std::errc::result_out_of_range);
  EXPECT_EQ(parse_number("4.9406564584124654e-324", d), std::errc());
  EXPECT_EQ(d, std::numeric_limits<double>::denorm_min());
}

TEST(IrPrinter, JoinAndIndent) {
  EXPECT_EQ(indent(0), "");
  EXPECT_EQ(indent(2), "    ");
  EXPECT_EQ(join(std::vector<std::string>{"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(join(std::vector<std::int64_t>{-1, 0, 2}), "-1, 0, 2");
  EXPECT_EQ(join(std::vector<int>{}), "");
  EXPECT_EQ(join(std::vector<int>{1, 2}, [](int v) { return "<" + std::to_string(v) + ">"; }, " "), "<1> <2>");
}

// A parser on the cursor: "(" name { "," name } ")".
class Names : TokenCursor {
 public:
  using TokenCursor::TokenCursor;
  std::vector<std::string> run() {
    std::vector<std::string> out;
    expect("(");
    do out.push_back(identifier("a name")); while (accept(","));
    expect(")");
    if (!at_end()) fail("expected the end, found " + describe(peek()));
    return out;
  }
};

std::string cursor_error(std::string_view text) {
  try {
    Names(lex(text)).run();
  } catch (const SyntaxError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(IrCursor, ExpectsAndSaysWhatItFound) {
  EXPECT_EQ(Names(lex("(a, b)")).run(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cursor_error("(a, 1)"), "1:5: expected a name, found '1'");
  EXPECT_EQ(cursor_error("(a\n  b)"), "2:3: expected ')', found 'b'");
  EXPECT_EQ(cursor_error("(a,"), "1:4: expected a name, found the end of the text");
  EXPECT_EQ(cursor_error("(a) \"s\""), "1:5: expected the end, found the string \"s\"");
  // A string spelled like punctuation is not punctuation.
  EXPECT_EQ(cursor_error("\"(\" a)"), "1:1: expected '(', found the string \"(\"");
}

}  // namespace
