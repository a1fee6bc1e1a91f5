// The stencil DSIR: its text form round-trips exactly, malformed text is an
// error with its position, and the verifier keeps out what the passes rely on.
#include "stencil_support.hpp"

#include "stencil/dsir_text.hpp"
#include "stencil/dsir_verify.hpp"
#include "stencil/frontend.hpp"
#include "stencil/optimizers.hpp"

#include <asp/plugin.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace {

using namespace asp::stencil;
using testing::HasSubstr;

Kernel frontend(const std::string& name) {
  test::Args args(test::sample_grids(name));
  return translate(test::tree(name), args.get());
}

const char* header = "asp-ir 1 dsir.stencil\nkernel k\ngrid a: f64[6, 7] ghost 1\ngrid t: i32[5] ghost 0\n";

TEST(Dsir, EveryKernelRoundTripsThroughItsTextAtEveryStage) {
  for (const std::string& name : test::sample_kernels()) {
    Kernel k = frontend(name);
    for (int stage = 0; stage < 4; ++stage) {
      const std::string text = print(k);
      const Kernel back = parse(text);
      EXPECT_EQ(print(back), text) << name << ", stage " << stage;
      EXPECT_NO_THROW(verify(back)) << name << ", stage " << stage;
      k = stage == 0 ? unroll_neighbors(k) : stage == 1 ? fold_constants(k) : hoist_invariants(k);
    }
  }
}

TEST(Dsir, ParsesEveryConstruct) {
  const std::string text = std::string(header) +
                           "@3:4 let c: float = exp(-0.5:float)\n"
                           "let o: bool = ((((1:int // 2:int) % 3:int) == (2:int ** 2:int)) or "
                           "(((1.5:float / 2:float) <= (3:float - 1:float)) and (1:i32 >= 2:i32)))\n"
                           "@5:8 for x in interior(a) {\n"
                           "  var v: f64 = select((a[x(-1, 0)] < 0:f64), neg(a[x]), f64(c))\n"
                           "  v = (v + f64(lookup(t, (coord(x, 1) // 2:int))))\n"
                           "  if (not((v > 1:f64)) or (v != 0:f64)) {\n"
                           "    store a[x] = min(v, abs(f64(distance(x, x(1, 1)))))\n"
                           "  } else {\n"
                           "    @9:12 for y in neighbors(a, x, 1) [(1, 0), (0, -1)] {\n"
                           "      store a[x] = (a[x] ** a[y])\n"
                           "    }\n"
                           "  }\n"
                           "}\n"
                           "for x in border(a) {\n"
                           "  store a[x] = sqrt(f64(int(a[x])))\n"
                           "}\n";
  const Kernel k = parse(text);
  EXPECT_EQ(print(k), text);
  EXPECT_NO_THROW(verify(k));
  ASSERT_EQ(k.grids.size(), 2u);
  EXPECT_EQ(k.grids[1].dtype, Type::i32);
  EXPECT_EQ(k.grids[0].shape, (std::vector<std::int64_t>{6, 7}));
  ASSERT_EQ(k.body.size(), 4u);
  EXPECT_EQ(k.body[0].line, 3u);
  EXPECT_EQ(k.body[0].column, 4u);
  const Stmt& loop = k.body[2];
  EXPECT_EQ(loop.kind, Stmt::Kind::points);
  EXPECT_EQ(loop.region, Region::interior);
  const Stmt& neighbors = loop.body[2].orelse[0];
  EXPECT_EQ(neighbors.kind, Stmt::Kind::neighbors);
  EXPECT_EQ(neighbors.offsets, (std::vector<std::vector<std::int64_t>>{{1, 0}, {0, -1}}));
  EXPECT_EQ(k.body[3].region, Region::border);
}

TEST(Dsir, LiteralsKeepEveryBit) {
  const std::vector<double> doubles = {0.1, -0.0, 5e-324, 1.7976931348623157e308, 1.0 / 3.0,
                                       std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (double d : doubles) {
    for (Type t : {Type::float_, Type::f64}) {
      const Kernel k = parse(std::string(header) + "let c: " + type_name(t) + " = " + print(float_literal(d, t)) + "\n");
      const double back = std::get<double>(k.body[0].value->value);
      EXPECT_EQ(std::memcmp(&back, &d, sizeof d), 0) << print(float_literal(d, t));
    }
  }
  const float single = 0.1f;
  const Kernel f = parse(std::string(header) + "let c: f32 = " + print(float_literal(single, Type::f32)) + "\n");
  EXPECT_EQ(static_cast<float>(std::get<double>(f.body[0].value->value)), single);
  const Kernel nan = parse(std::string(header) + "let c: float = nan:float\n");
  EXPECT_TRUE(std::isnan(std::get<double>(nan.body[0].value->value)));
  const auto lowest = std::numeric_limits<std::int64_t>::min();
  const Kernel i = parse(std::string(header) + "let c: int = " + print(int_literal(lowest)) + "\n");
  EXPECT_EQ(std::get<std::int64_t>(i.body[0].value->value), lowest);
}

void expect_parse_error(const std::string& body, const std::string& message) {
  try {
    parse(std::string(header) + body);
    ADD_FAILURE() << "parsed: " << body;
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr(message)) << body;
  }
}

TEST(Dsir, MalformedTextIsAnErrorWithItsPosition) {
  expect_parse_error("let c: complex = 1:int\n", "DSIR 5:8: unknown type 'complex'");
  expect_parse_error("for x in interior(b) {\n}\n", "unknown grid 'b'");
  expect_parse_error("for x in interior(a) {\n  v = 1:int\n}\n", "DSIR 6:3: assignment to 'v', which is not declared");
  expect_parse_error("for x in interior(a) {\n  store a[y] = 1:f64\n}\n", "'y' is not a point variable in scope");
  expect_parse_error("for x in interior(a) {\n", "unclosed block");
  expect_parse_error("let c: int = (1:int @ 2:int)\n", "unknown binary operator '@'");
  expect_parse_error("let c: int = frobnicate(1:int)\n", "unknown function 'frobnicate'");
  expect_parse_error("let c: int = 1.5:float\n", "'c' is declared int but given a float");
  expect_parse_error("let c: float = 1:bool\n", "a number cannot be a bool");
  expect_parse_error("let c: int = 1:int $\n", "DSIR 5:20: unexpected character '$'");
  expect_parse_error("let c: float = 1.5.5:float\n", "DSIR 5:16: malformed number '1.5.5'");
  expect_parse_error("let c: int = 99999999999999999999:int\n", "DSIR 5:14: malformed integer '99999999999999999999'");
  expect_parse_error("for x in interior(a) {\n  for y in neighbors(a, x, 1) [(1, 0) (0, 1)] {\n  }\n}\n",
                     "DSIR 6:39: expected ',' or ']', found '('");
  try {
    parse("asp-ir 2 dsir.stencil\nkernel k\n");
    ADD_FAILURE();
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_VERSION);
    EXPECT_THAT(e.what(), HasSubstr("DSIR version 2 is not read here"));
  }
  EXPECT_THROW(parse("asp-ir 1 psir\n"), asp::Error);
}

void expect_invalid(const std::string& body, const std::string& message) {
  try {
    verify(parse(std::string(header) + body));
    ADD_FAILURE() << "verified: " << body;
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr(message)) << body;
  }
}

TEST(Dsir, TheVerifierKeepsOutWhatThePassesRelyOn) {
  expect_invalid("let c: f64 = (1:f64 + 2:int)\n", "differ in type (f64 and int)");
  expect_invalid("let c: int = (1:int / 2:int)\n", "divides integers");
  expect_invalid("let n: int = 2:int\nlet c: int = (3:int ** n)\n", "not a literal >= 0");
  expect_invalid("for x in interior(a) {\n  for y in neighbors(a, x, 1) [(1, 0)] {\n    store a[y] = 1:f64\n  }\n}\n",
                 "a store writes the point of its loop, 'x', not 'y'");
  expect_invalid("for x in interior(a) {\n  for y in neighbors(a, x, 1) [(1, 0)] {\n    var v: f64 = a[y]\n  }\n}\n",
                 "a neighbour loop's body declares no locals");
  expect_invalid("for x in interior(a) {\n  if true:bool {\n    var v: f64 = 1:f64\n  }\n  store a[x] = v\n}\n",
                 "local 'v' is not declared here");
  expect_invalid("for x in interior(a) {\n  store a[x] = f64(lookup(t, 1.5:float))\n}\n", "indices of");
  expect_invalid("for x in interior(a) {\n  for y in neighbors(a, x, 1) [(1, 0, 0)] {\n  }\n}\n", "must have 2 entries");
  expect_invalid("for x in interior(a) {\n  store a[x] = f64(coord(x, 2))\n}\n", "has no such axis");
  expect_invalid("for x in interior(t) {\n  store a[x] = 1:f64\n}\n", "at a point of another rank");
  expect_invalid("let c: int = 1:int\nc = 2:int\n", "only lets and point loops");
  expect_invalid("for x in interior(a) {\n  let c: int = 1:int\n}\n", "no lets or point loops");
}

}  // namespace

// The DSIR on the IR toolkit (<asp/ir_visit.hpp>): rewriting shares what it
// leaves alone, and the walker that decides which grids a loop writes (and
// so whether it may run in parallel) fails loudly on a kind it does not know.
namespace {

TEST(DsirToolkit, RewritingSharesUnchangedSubtrees) {
  const ExprPtr left = binary(BinaryOp::mul, local("x", Type::float_), float_literal(2.0));
  const ExprPtr e = binary(BinaryOp::add, left, local("y", Type::float_));
  const ExprPtr out = rewrite_expr(e, [](ExprPtr x) {
    return x->kind == Expr::Kind::local && x->name == "y" ? float_literal(1.0) : x;
  });
  EXPECT_EQ(out->args[0], left);
  EXPECT_NE(out->args[1], e->args[1]);
  EXPECT_EQ(rewrite_expr(e, [](ExprPtr x) { return x; }), e);
}

TEST(DsirToolkit, StoredGridsSeesNestedStoresAndRejectsUnknownKinds) {
  Stmt loop{Stmt::Kind::points};
  loop.name = "p";
  loop.grid = "a";
  loop.body = {make_if(bool_literal(true), {make_store("b", Point{"p", {}}, float_literal(1.0))},
                       {make_store("a", Point{"p", {}}, float_literal(2.0))}),
               make_store("b", Point{"p", {}}, float_literal(3.0))};
  EXPECT_EQ(stored_grids({loop}), (std::vector<std::string>{"b", "a"}));
  Stmt odd = make_store("a", Point{"p", {}}, float_literal(1.0));
  odd.kind = static_cast<Stmt::Kind>(77);
  loop.body.push_back(odd);
  EXPECT_THROW(stored_grids({loop}), std::logic_error);
}

TEST(DsirToolkit, OperatorsAndFunctionsAreEnumsWithOneSpellingEach) {
  for (const auto& s : binary_ops) EXPECT_EQ(parse_binary_op(spelling(s.value)), s.value) << s.text;
  for (const auto& s : unary_ops) EXPECT_EQ(parse_unary_op(spelling(s.value)), s.value) << s.text;
  for (const auto& s : functions) EXPECT_EQ(parse_function(spelling(s.value)), s.value) << s.text;
  EXPECT_FALSE(parse_binary_op("@"));
  EXPECT_FALSE(parse_function("frobnicate"));
  // The builders derive the result type from the enum: comparisons and and/or give a bool.
  const ExprPtr x = local("x", Type::float_);
  EXPECT_EQ(binary(BinaryOp::lt, x, x)->type, Type::bool_);
  EXPECT_EQ(binary(BinaryOp::floordiv, x, x)->type, Type::float_);
  EXPECT_EQ(unary(UnaryOp::not_, binary(BinaryOp::eq, x, x))->type, Type::bool_);
  EXPECT_EQ(print(call(Function::max, {x, x})), "max(x, x)");
  // An operator value outside its enum has no spelling (what the verifier checks for an unknown operator).
  Expr bad = *binary(BinaryOp::add, x, x);
  bad.binary_op = static_cast<BinaryOp>(99);
  EXPECT_EQ(spelling(bad.binary_op), "?");
}

}  // namespace
