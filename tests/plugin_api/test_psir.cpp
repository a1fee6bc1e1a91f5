// PSIR: the text form round-trips on every node kind, the verifier rejects
// malformed IR with a message, and every pass keeps the function's meaning.
#include <asp/psir.hpp>
#include <asp/psir_passes.hpp>
#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include "interpreter.hpp"
#include "kernels.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace {

using namespace asp::psir;
using testing::HasSubstr;

Module module_of(std::vector<Function> fs) { return Module{std::move(fs)}; }

std::vector<Function> all_kernels() {
  return {asp::test::laplacian3d(), asp::test::sum_reduction(), asp::test::gather(), asp::test::every_node()};
}

TEST(PsirText, EveryKernelRoundTripsExactly) {
  for (const Function& f : all_kernels()) {
    SCOPED_TRACE(f.name);
    verify(f);
    const std::string text = print(module_of({f}));
    const Module parsed = parse(text);
    ASSERT_EQ(parsed.functions.size(), 1u);
    verify(parsed.functions[0]);
    EXPECT_EQ(print(parsed), text);
  }
}

TEST(PsirText, TheTextIsReadable) {
  const std::string text = print(module_of({asp::test::sum_reduction()}));
  EXPECT_EQ(text,
            "asp-ir 1 psir\n"
            "func sum_reduction(x: buffer f64[n], out: buffer f64[1], n: i64) {\n"
            "  var acc: f64 = 0:f64\n"
            "  for i in 0:i64 .. n step 1 parallel {\n"
            "    acc += x[i]\n"
            "  }\n"
            "  store out[0:i64] = acc\n"
            "}\n");
}

TEST(PsirText, ConstantsKeepEveryBit) {
  std::mt19937_64 random(42);
  for (int trial = 0; trial < 1000; ++trial) {
    const std::uint64_t bits = random();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (std::isnan(d)) continue;
    const float f = static_cast<float>(d);
    Function fn;
    fn.name = "c";
    fn.params = {buffer_param("o", Type::f64, {1}), buffer_param("p", Type::f32, {1})};
    fn.body = {make_store("o", {i64(0)}, f64(d)), make_store("p", {i64(0)}, f32(f))};
    const Module back = parse(print(module_of({fn})));
    const auto value = [&](int s) { return std::get<double>(back.functions[0].body[s].value->value); };
    EXPECT_EQ(std::memcmp(&d, &std::get<double>(fn.body[0].value->value), sizeof d), 0);
    const double back_d = value(0);
    EXPECT_EQ(std::memcmp(&back_d, &d, sizeof d), 0) << print(module_of({fn}));
    EXPECT_EQ(static_cast<float>(value(1)), f);
  }
}

TEST(PsirText, SeveralFunctionsAndRunChecks) {
  Function a = asp::test::laplacian3d("plain");
  Function b = asp::test::laplacian3d("checked");
  b.requires_ = binary(BinaryOp::eq, binary(BinaryOp::rem, var("n2", Type::i64), i64(4)), i64(0));
  const std::string text = print(module_of({a, b}));
  EXPECT_THAT(text, HasSubstr("n2: i64) requires ((n2 % 4:i64) == 0:i64) {"));
  const Module back = parse(text);
  ASSERT_EQ(back.functions.size(), 2u);
  EXPECT_FALSE(back.function("plain")->requires_);
  EXPECT_TRUE(back.function("checked")->requires_);
  EXPECT_EQ(print(back), text);
}

struct BadText {
  const char* text;
  const char* message;
};

TEST(PsirText, SyntaxErrorsNameTheirPosition) {
  const BadText cases[] = {
      {"func f() {\n  store x[0:i64] = 1:f64\n}\n", "3:9: unknown buffer 'x'"},
      {"func f(a: buffer f64[2]) {\n  let y: f64 = z\n}\n", "3:16: unknown variable 'z'"},
      {"func f(a: buffer f64[2]) {\n  let y: f65 = 1:f64\n}\n", "3:10: unknown type 'f65'"},
      {"func f(a: buffer f64[2]) {\n  for i in 0:i64 .. 2:i64 step 1 sideways {\n  }\n}\n", "3:34: unknown loop kind 'sideways'"},
      {"func f(a: buffer f64[2]) {\n  store a[0:i64] = (1:f64 ? 2:f64)\n}\n", "3:27: expected a binary operator, found '?'"},
      {"func f(a: buffer f64[2]) {\n  store a[0:i64] = frobnicate(1:f64)\n}\n", "3:20: unknown function 'frobnicate'"},
      {"func f(a: buffer f64[2]) {\n  store a[0:i64] = 1.5x:f64\n}\n", "3:20: malformed number '1.5x'"},
      {"func f(a: buffer f64[2]) {\n", "3:1: expected a statement, found the end of the text"},
      {"func f(a: buffer f64[2] n: i64) {\n}\n", "2:25: expected ',' or ')', found 'n'"},
      {"func f(a: buffer f64[2]) {\n  store a[0:i64] = \"s\"\n}\n", "3:20: expected an expression, found '\"'"},
      {"func f(a: buffer f64[2]) {\n  store a[0:i64] = 1e999:f64\n}\n", "3:20: malformed number '1e999'"},
  };
  for (const BadText& c : cases) {
    try {
      parse(std::string("asp-ir 1 psir\n") + c.text);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const ParseError& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.message)) << c.text;
    }
  }
}

TEST(PsirText, TheHeaderIsChecked) {
  EXPECT_THROW(parse("func f() {}\n"), ParseError);
  EXPECT_THROW(parse("asp-ir 1 dsir.stencil\n"), ParseError);
  EXPECT_THROW(parse("asp-ir 3 psir\n"), ParseError);
  EXPECT_THROW(parse("asp-ir 1 psir\nkernel k(a: buffer f64[2])\n"), ParseError);  // programs are version 2
}

// Each case breaks one invariant of a valid function; the verifier must say which.
TEST(PsirVerify, RejectsMalformedIrWithAMessage) {
  struct Case {
    const char* message;
    std::function<void(Function&)> ruin;
  };
  const Case cases[] = {
      {"operands of '+' differ in type (f64 and i64)",
       [](Function& f) { f.body[0].loop->body[0].loop->body[0].loop->body[0].value = add(f64(1), i64(1)); }},
      {"load from 'in' with 2 indices; it has 3 dimensions",
       [](Function& f) { f.body[0].loop->body[0].loop->body[0].loop->body[0].value = load("in", Type::f64, {i64(0), i64(0)}); }},
      {"indices of 'out' must be i64",
       [](Function& f) { f.body[0].loop->body[0].loop->body[0].loop->body[0].indices[0] = constant(Type::i32, std::int64_t{0}); }},
      {"variable 'q' is not defined here",
       [](Function& f) { f.body[0].loop->body[0].loop->body[0].loop->body[0].value = var("q", Type::f64); }},
      {"store to 'out' as i64; its elements are f64",
       [](Function& f) { f.body[0].loop->body[0].loop->body[0].loop->body[0].value = i64(3); }},
      {"loop variable 'i' shadows a name already in scope",
       [](Function& f) { f.body[0].loop->body[0].loop->var = "i"; }},
      {"must step by a positive constant", [](Function& f) { f.body[0].loop->step = 0; }},
      {"extent 'nope' is not an i64 scalar parameter", [](Function& f) { f.params[0].shape[0] = std::string("nope"); }},
      {"parameter 'in' is declared twice", [](Function& f) { f.params[1].name = "in"; }},
      {"parameter name 'for' is reserved", [](Function& f) { f.params[2].name = "for"; }},
      {"the run check must be a bool expression", [](Function& f) { f.requires_ = i64(1); }},
      {"the run check may use scalar parameters only",
       [](Function& f) { f.requires_ = binary(BinaryOp::lt, load("in", Type::f64, {i64(0), i64(0), i64(0)}), f64(1)); }},
      {"names a GPU dimension but is parallel", [](Function& f) { f.body[0].loop->dim = 1; }},
      {"gpu_block loop 'j' is nested in another gpu_block loop of dimension 1",
       [](Function& f) {
         f.body[0].loop->kind = f.body[0].loop->body[0].loop->kind = LoopKind::gpu_block;
         f.body[0].loop->dim = f.body[0].loop->body[0].loop->dim = 1;
       }},
      {"the bounds of GPU loop 'j' use 'i', which is not an integer scalar parameter",
       [](Function& f) {
         f.body[0].loop->body[0].loop->kind = LoopKind::gpu_thread;
         f.body[0].loop->body[0].loop->upper = var("i", Type::i64);
       }},
      {"intrinsic 'sqrt' needs a floating-point operand",
       [](Function& f) { f.body[0].loop->body.insert(f.body[0].loop->body.begin(), make_let("r", call(Intrinsic::sqrt, {i64(4)}))); }},
      {"assignment to 'k', which is not a var",
       [](Function& f) { f.body[0].loop->body[0].loop->body[0].loop->body.push_back(make_assign("k", i64(0))); }},
  };
  for (const Case& c : cases) {
    Function f = asp::test::laplacian3d();
    c.ruin(f);
    try {
      verify(f);
      ADD_FAILURE() << "accepted a function that should fail with: " << c.message;
    } catch (const VerifyError& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.message));
      EXPECT_THAT(e.what(), HasSubstr("function 'laplacian3d'"));
    }
  }
}

TEST(PsirVerify, AssignmentAcrossAParallelLoopIsARace) {
  Function f = asp::test::sum_reduction();
  f.body[1].loop->body[0] = make_assign("acc", load("x", Type::f64, {var("i", Type::i64)}));
  EXPECT_THROW(verify(f), VerifyError);
  f.body[1].loop->kind = LoopKind::serial;
  EXPECT_NO_THROW(verify(f));
}

// ---- passes keep the meaning -----------------------------------------------------

asp::test::Buffers random_grid(std::int64_t n0, std::int64_t n1, std::int64_t n2) {
  std::mt19937 random(7);
  std::uniform_real_distribution<double> value(-1, 1);
  std::vector<double> in(static_cast<size_t>(n0 * n1 * n2));
  for (double& v : in) v = value(random);
  return {{"in", in}, {"out", std::vector<double>(in.size(), 0.0)}};
}

// Runs `before` and `after` on the same random 3-D grid; the outputs must be bitwise equal.
void expect_same_laplacian(const Function& before, const Function& after, std::int64_t n0, std::int64_t n1, std::int64_t n2) {
  verify(after);
  const asp::test::Scalars sizes{{"n0", n0}, {"n1", n1}, {"n2", n2}};
  auto a = random_grid(n0, n1, n2), b = random_grid(n0, n1, n2);
  asp::test::interpret(before, a, sizes);
  asp::test::interpret(after, b, sizes);
  EXPECT_EQ(a["out"], b["out"]) << print(Module{{after}});
}

TEST(PsirPasses, UnrollWithRemainderKeepsTheMeaning) {
  const Function f = asp::test::laplacian3d();
  for (int factor : {2, 3, 4, 8}) {
    const Function u = run_pass(f, [&](const Function& g) { return unroll(g, "k", factor); });
    expect_same_laplacian(f, u, 5, 6, 13);  // 11 interior points: never a multiple of the factor
    expect_same_laplacian(f, u, 4, 4, 3);   // one interior point: only the remainder runs
  }
}

TEST(PsirPasses, UnrollWithoutRemainderNeedsADivisibleTripCount) {
  const Function f = asp::test::laplacian3d();
  const Function u = run_pass(f, [&](const Function& g) { return unroll(g, "k", 4, false); });
  expect_same_laplacian(f, u, 4, 5, 10);  // 8 interior points
  // The main loop alone misses the tail when the count is not a multiple: that is what run checks are for.
  const asp::test::Scalars sizes{{"n0", 4}, {"n1", 4}, {"n2", 9}};
  auto a = random_grid(4, 4, 9), b = random_grid(4, 4, 9);
  asp::test::interpret(f, a, sizes);
  asp::test::interpret(u, b, sizes);
  EXPECT_NE(a["out"], b["out"]);
}

TEST(PsirPasses, UnrollRenamesLocalsOfEachCopy) {
  const Function g = asp::test::gather();
  const Function u = run_pass(g, [&](const Function& f) { return unroll(f, "i", 3); });
  const std::string text = print(Module{{u}});
  EXPECT_THAT(text, HasSubstr("let t: f32"));
  EXPECT_THAT(text, HasSubstr("let t_u1: f32"));
  EXPECT_THAT(text, HasSubstr("let t_u2: f32"));
}

TEST(PsirPasses, ReductionsSurviveUnrolling) {
  const Function f = asp::test::sum_reduction();
  const Function u = run_pass(f, [&](const Function& g) { return unroll(g, "i", 4); });
  for (std::int64_t n : {0, 1, 5, 8, 17}) {
    asp::test::Buffers a{{"x", {}}, {"out", {0.0}}};
    for (std::int64_t i = 0; i < n; ++i) a["x"].push_back(0.1 * static_cast<double>(i) + 1e-3);
    asp::test::Buffers b = a;
    asp::test::interpret(f, a, {{"n", static_cast<double>(n)}});
    asp::test::interpret(u, b, {{"n", static_cast<double>(n)}});
    EXPECT_EQ(a["out"], b["out"]) << n;
  }
}

TEST(PsirPasses, TilingKeepsTheMeaningAndOrdersTheLoops) {
  const Function f = asp::test::laplacian3d();
  const Function t = run_pass(f, [&](const Function& g) { return tile(g, {"i", "j", "k"}, {2, 3, 4}); });
  expect_same_laplacian(f, t, 7, 9, 11);
  std::vector<std::string> order;
  const Block* b = &t.body;
  while (!b->empty() && (*b)[0].kind == Stmt::Kind::loop) {
    order.push_back((*b)[0].loop->var);
    b = &(*b)[0].loop->body;
  }
  EXPECT_EQ(order, (std::vector<std::string>{"i_t", "j_t", "k_t", "i", "j", "k"}));
  EXPECT_EQ(t.body[0].loop->kind, LoopKind::parallel);  // the tile loop keeps the parallel kind
}

TEST(PsirPasses, InterchangeKeepsTheMeaningAndChecksLegality) {
  const Function f = asp::test::laplacian3d();
  const Function x = run_pass(f, [&](const Function& g) { return interchange(g, "j"); });
  EXPECT_EQ(x.body[0].loop->body[0].loop->var, "k");
  expect_same_laplacian(f, x, 5, 6, 7);
  EXPECT_THROW(interchange(asp::test::sum_reduction(), "i"), PassError);  // not a perfect nest
  const Function tiled = strip_mine(f, "j", 2);
  EXPECT_THROW(interchange(tiled, "j_t"), PassError);  // j's bounds use j_t
  EXPECT_THROW(interchange(f, "nosuch"), PassError);
}

TEST(PsirPasses, ConstantFoldingIsExact) {
  Function f;
  f.name = "fold";
  f.params = {buffer_param("o", Type::f64, {4}), buffer_param("p", Type::f32, {1}), buffer_param("q", Type::i64, {2}),
              scalar_param("n", Type::i64)};
  f.body = {
      make_store("o", {i64(0)}, add(f64(0.1), f64(0.2))),
      make_store("o", {add(i64(1), i64(0))}, mul(f64(3.0), f64(1.0 / 3.0))),
      make_store("o", {i64(2)}, add(cast(Type::f64, var("n", Type::i64)), f64(0.0))),  // x + 0.0 must stay
      make_store("p", {i64(0)}, add(f32(0.1f), f32(0.2f))),
      make_store("q", {mul(i64(1), var("n", Type::i64))}, binary(BinaryOp::div, i64(7), i64(0))),  // division by zero stays
      make_if(binary(BinaryOp::gt, i64(2), i64(1)), {make_store("o", {i64(3)}, f64(1))}, {make_store("o", {i64(3)}, f64(2))}),
      make_loop(Loop{"z", i64(5), i64(5), 1, LoopKind::serial, 0, {make_store("o", {i64(3)}, f64(9))}}),
  };
  const Function g = run_pass(f, fold_constants);
  ASSERT_EQ(g.body.size(), 6u);  // the empty loop is gone
  EXPECT_EQ(std::get<double>(g.body[0].value->value), 0.1 + 0.2);
  EXPECT_EQ(std::get<double>(g.body[1].value->value), 3.0 * (1.0 / 3.0));
  EXPECT_EQ(g.body[1].indices[0]->kind, Expr::Kind::constant);
  EXPECT_EQ(g.body[2].value->kind, Expr::Kind::binary);
  EXPECT_EQ(static_cast<float>(std::get<double>(g.body[3].value->value)), 0.1f + 0.2f);
  EXPECT_EQ(g.body[4].indices[0]->kind, Expr::Kind::var);  // 1 * n is n
  EXPECT_EQ(g.body[4].value->kind, Expr::Kind::binary);
  EXPECT_EQ(g.body[5].kind, Stmt::Kind::store);  // the decided if became its branch
  EXPECT_EQ(std::get<double>(g.body[5].value->value), 1.0);
}

TEST(PsirPasses, PassesRejectWhatTheyCannotDo) {
  const Function f = asp::test::laplacian3d();
  EXPECT_THROW(unroll(f, "k", 1), PassError);
  EXPECT_THROW(strip_mine(f, "k", 0), PassError);
  EXPECT_THROW(tile(f, {"i", "j"}, {4}), PassError);
}

}  // namespace
