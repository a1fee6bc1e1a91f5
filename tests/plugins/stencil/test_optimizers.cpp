// The stencil DSIR optimizers: neighbour loops unrolled in definition order,
// constants folded exactly as the generated code would compute them, and
// invariant coefficients hoisted out of the point loops.
#include "stencil_support.hpp"

#include "stencil/dsir_text.hpp"
#include "stencil/frontend.hpp"
#include "stencil/optimizers.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

namespace {

using namespace asp::stencil;
using testing::HasSubstr;

const char* header = "asp-ir 1 dsir.stencil\nkernel k\ngrid a: f64[6, 7] ghost 1\n";

// The text of `value` (an expression of type `type`) after folding. The
// local it initializes is assigned again, so it is not propagated away.
std::string folded(const std::string& value, const std::string& type) {
  const Kernel k = fold_constants(parse(std::string(header) + "for x in interior(a) {\n  var v: " + type + " = " + value +
                                        "\n  v = v\n  store a[x] = f64(v)\n}\n"));
  return print(k.body.at(0).body.at(0).value);
}

TEST(Optimizers, UnrollingFollowsTheNeighbourDefinition) {
  test::Args args(test::sample_grids("laplacian_2d"));
  const Kernel k = unroll_neighbors(translate(test::tree("laplacian_2d"), args.get()));
  const std::string text = std::regex_replace(print(k), std::regex("@[0-9]+:[0-9]+ "), "");
  EXPECT_THAT(text, HasSubstr("  store out_grid[x] = (out_grid[x] + in_grid[x(1, 0)])\n"
                              "  store out_grid[x] = (out_grid[x] + in_grid[x(-1, 0)])\n"
                              "  store out_grid[x] = (out_grid[x] + in_grid[x(0, 1)])\n"
                              "  store out_grid[x] = (out_grid[x] + in_grid[x(0, -1)])\n"));
  EXPECT_THAT(text, testing::Not(HasSubstr("neighbors")));
  // Nested neighbour loops add up their offsets; distances follow the points.
  const Kernel nested = unroll_neighbors(parse(std::string(header) +
                                               "for x in interior(a) {\n"
                                               "  for y in neighbors(a, x, 1) [(1, 0), (0, 1)] {\n"
                                               "    for z in neighbors(a, y, 1) [(-1, 0)] {\n"
                                               "      store a[x] = (a[z] + f64(distance(x, z)))\n"
                                               "    }\n"
                                               "  }\n"
                                               "}\n"));
  EXPECT_EQ(print(nested.body[0].body),
            "store a[x] = (a[x] + f64(distance(x, x)))\nstore a[x] = (a[x(-1, 1)] + f64(distance(x, x(-1, 1))))\n");
}

TEST(Optimizers, FoldingComputesWhatTheGeneratedCodeWould) {
  EXPECT_EQ(folded("(0.1:float + 0.2:float)", "float"), "0.30000000000000004:float");
  EXPECT_EQ(folded("(0.1:f32 + 0.2:f32)", "f32"), "0.300000012:f32");  // float32 arithmetic, not a rounded double sum
  EXPECT_EQ(folded("(7:int // -2:int)", "int"), "-4:int");
  EXPECT_EQ(folded("(-7:int % 3:int)", "int"), "2:int");
  EXPECT_EQ(folded("(-7.5:float % 2:float)", "float"), "0.5:float");
  EXPECT_EQ(folded("(-7.5:f64 // 2:f64)", "f64"), "-4:f64");
  EXPECT_EQ(folded("(2:int ** 10:int)", "int"), "1024:int");
  EXPECT_EQ(folded("int(-2.5:float)", "int"), "-2:int");
  EXPECT_EQ(folded("i32(3000000000:int)", "i32"), "-1294967296:i32");
  EXPECT_EQ(folded("f32(16777217:int)", "f32"), "16777216:f32");
  EXPECT_EQ(folded("sqrt(2:float)", "float"), "1.4142135623730951:float");
  EXPECT_EQ(folded("min(nan:float, 1:float)", "float"), "nan:float");  // Python keeps the first unless the second is smaller
  EXPECT_EQ(folded("max(-0:f64, 0:f64)", "f64"), "-0:f64");
  EXPECT_EQ(folded("abs(-3:i32)", "i32"), "3:i32");
  EXPECT_EQ(folded("floor(-0.5:float)", "float"), "-1:float");
  EXPECT_EQ(folded("select((2:int < 3:int), 1:f64, a[x])", "f64"), "1:f64");
  EXPECT_EQ(folded("distance(x(1, -1), x)", "float"), "1.4142135623730951:float");
  // Left to run time: overflow, division by zero, libm's functions, ** of floats, undefined conversions.
  EXPECT_EQ(folded("(9223372036854775807:int + 1:int)", "int"), "(9223372036854775807:int + 1:int)");
  EXPECT_EQ(folded("(1:float / 0:float)", "float"), "(1:float / 0:float)");
  EXPECT_EQ(folded("(1:int // 0:int)", "int"), "(1:int // 0:int)");
  EXPECT_EQ(folded("exp(1:float)", "float"), "exp(1:float)");
  EXPECT_EQ(folded("(2:float ** 0.5:float)", "float"), "(2:float ** 0.5:float)");
  EXPECT_EQ(folded("int(1e300:float)", "int"), "int(1.0000000000000001e+300:float)");
  EXPECT_EQ(folded("abs(-9223372036854775808:int)", "int"), "abs(-9223372036854775808:int)");
}

TEST(Optimizers, FoldingDecidesBranchesAndPropagatesLiteralLocals) {
  const Kernel k = fold_constants(parse(std::string(header) +
                                        "let n: int = (2:int * 3:int)\n"
                                        "for x in interior(a) {\n"
                                        "  var v: f64 = f64(n)\n"
                                        "  if ((n > 5:int) or (a[x] > 0:f64)) {\n"
                                        "    store a[x] = (a[x] * v)\n"
                                        "  } else {\n"
                                        "    store a[x] = 0:f64\n"
                                        "  }\n"
                                        "  if ((a[x] > 0:f64) and false:bool) {\n"
                                        "    store a[x] = 1:f64\n"
                                        "  }\n"
                                        "}\n"));
  // `e and false` still evaluates e (which could fail): only the left operand decides.
  EXPECT_EQ(print(k.body[0].body), "store a[x] = (a[x] * 6:f64)\nif ((a[x] > 0:f64) and false:bool) {\n  store a[x] = 1:f64\n}\n");
}

TEST(Optimizers, HoistingMovesCoefficientsOutOfTheLoop) {
  const Kernel k = hoist_invariants(parse(std::string(header) +
                                          "let s: float = 1.5:float\n"
                                          "for x in interior(a) {\n"
                                          "  store a[x] = (a[x] * f64(exp(neg(s))))\n"
                                          "  store a[x] = (a[x] + f64(exp(neg(s))))\n"
                                          "  store a[x] = (a[x] + f64((1:float / s)))\n"
                                          "  store a[x] = (a[x] + f64(coord(x, 0)))\n"
                                          "}\n"));
  EXPECT_EQ(print(k),
            std::string(header) +
                "let s: float = 1.5:float\n"
                "let inv.0: f64 = f64(exp(neg(s)))\n"
                "for x in interior(a) {\n"
                "  store a[x] = (a[x] * inv.0)\n"
                "  store a[x] = (a[x] + inv.0)\n"
                "  store a[x] = (a[x] + f64((1:float / s)))\n"  // a Python division by a variable may raise: it stays
                "  store a[x] = (a[x] + f64(coord(x, 0)))\n"
                "}\n");
}

}  // namespace
