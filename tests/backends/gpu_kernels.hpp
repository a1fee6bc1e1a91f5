// Kernels for the GPU mapping and device code tests, beside those of
// tests/plugin_api/kernels.hpp; the launch grid a function's GPU loops ask
// for, computed as the core does (<asp/plugin.h>, the device entry
// convention); and random input data.
#pragma once

#include "../plugin_api/interpreter.hpp"
#include "../plugin_api/kernels.hpp"

#include <asp/psir_text.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <random>
#include <stdexcept>

namespace asp::test {

// laplacian3d with every loop marked independent, as the stencil lowering marks an independent nest.
inline Function laplacian3d_parallel(const std::string& name = "laplacian3d_parallel") {
  Function f = laplacian3d(name);
  f.body[0].loop->body[0].loop->kind = LoopKind::parallel;
  return f;
}

// Operations that raise as Python does (Expr::raises): math.sqrt (line 12),
// math.exp (13) and math.floor's conversion to int (14), in an independent
// nest whose inner loop is vectorized, as the stencil lowering writes it.
inline Function python_errors(const std::string& name = "python_errors") {
  return parse(R"(asp-ir 1 psir
func )" + name + R"((x: buffer f64[n, m], out: buffer f64[n, m], k: buffer i64[n, m], n: i64, m: i64) {
  for i in 0:i64 .. n step 1 parallel {
    for j in 0:i64 .. m step 1 vectorized {
      let v: f64 = x[i, j]
      store out[i, j] = (sqrt(v)@12 + exp(v)@13)
      store k[i, j] = i64(floor(v))@14
    }
  }
}
)").functions.at(0);
}

inline ExprPtr at2(const char* buffer, const char* i, const char* j) { return load(buffer, Type::f64, {n(i), n(j)}); }

// out[i] = x[i, 0] + x[i, 1] + ..., each row summed by one thread.
inline Function row_sums(const std::string& name = "row_sums") {
  Function f;
  f.name = name;
  f.params = {buffer_param("x", Type::f64, {"n", "m"}), buffer_param("out", Type::f64, {"n"}), scalar_param("n", Type::i64),
              scalar_param("m", Type::i64)};
  Loop j{"j", i64(0), n("m"), 1, LoopKind::serial, 0, {make_reduce("acc", ReduceOp::add, at2("x", "i", "j"))}};
  Loop i{"i", i64(0), n("n"), 1, LoopKind::parallel, 0,
         {make_decl("acc", f64(0.0)), make_loop(j), make_store("out", {n("i")}, var("acc", Type::f64))}};
  f.body = {make_loop(i)};
  return f;
}

// The lower triangle of out = 2 * in: the inner loop's bound depends on the outer loop.
inline Function triangle(const std::string& name = "triangle") {
  Function f;
  f.name = name;
  f.params = {buffer_param("in", Type::f64, {"n", "n"}), buffer_param("out", Type::f64, {"n", "n"}), scalar_param("n", Type::i64)};
  Loop j{"j", i64(0), add(n("i"), i64(1)), 1, LoopKind::parallel, 0,
         {make_store("out", {n("i"), n("j")}, mul(f64(2.0), at2("in", "i", "j")))}};
  Loop i{"i", i64(0), n("n"), 1, LoopKind::parallel, 0, {make_loop(j)}};
  f.body = {make_loop(i)};
  return f;
}

// Two independent loops one after the other: a = x + 1, then b = a * a.
inline Function two_nests(const std::string& name = "two_nests") {
  Function f;
  f.name = name;
  f.params = {buffer_param("x", Type::f64, {"n"}), buffer_param("a", Type::f64, {"n"}), buffer_param("b", Type::f64, {"n"}),
              scalar_param("n", Type::i64)};
  auto x = [](const char* buffer, const char* i) { return load(buffer, Type::f64, {n(i)}); };
  Loop first{"i", i64(0), n("n"), 1, LoopKind::parallel, 0, {make_store("a", {n("i")}, add(x("x", "i"), f64(1.0)))}};
  Loop second{"k", i64(0), n("n"), 1, LoopKind::parallel, 0, {make_store("b", {n("k")}, mul(x("a", "k"), x("a", "k")))}};
  f.body = {make_loop(first), make_loop(second)};
  return f;
}

// out[index[i]] = x[i]: a store through a data-dependent index (out is buffer parameter 2).
inline Function scatter(const std::string& name = "scatter") {
  Function f;
  f.name = name;
  f.params = {buffer_param("x", Type::f64, {"n"}), buffer_param("index", Type::i64, {"n"}), buffer_param("out", Type::f64, {"m"}),
              scalar_param("n", Type::i64), scalar_param("m", Type::i64)};
  Loop i{"i", i64(0), n("n"), 1, LoopKind::parallel, 0,
         {make_store("out", {load("index", Type::i64, {n("i")})}, load("x", Type::f64, {n("i")}))}};
  f.body = {make_loop(i)};
  return f;
}

// q[i] = a[i] / b[i] on integers: the divisor comes from memory and may be 0.
inline Function quotients(const std::string& name = "quotients") {
  Function f;
  f.name = name;
  f.params = {buffer_param("a", Type::i64, {"n"}), buffer_param("b", Type::i64, {"n"}), buffer_param("q", Type::i64, {"n"}),
              scalar_param("n", Type::i64)};
  Loop i{"i", i64(0), n("n"), 1, LoopKind::parallel, 0,
         {make_store("q", {n("i")}, binary(BinaryOp::div, load("a", Type::i64, {n("i")}), load("b", Type::i64, {n("i")})))}};
  f.body = {make_loop(i)};
  return f;
}

// out[i] = flip ? -x[i] : x[i], with a bool scalar parameter.
inline Function negate_if(const std::string& name = "negate_if") {
  Function f;
  f.name = name;
  f.params = {buffer_param("x", Type::f64, {"n"}), buffer_param("out", Type::f64, {"n"}), scalar_param("flip", Type::boolean),
              scalar_param("n", Type::i64)};
  const ExprPtr x = load("x", Type::f64, {n("i")});
  Loop i{"i", i64(0), n("n"), 1, LoopKind::parallel, 0,
         {make_store("out", {n("i")}, select(var("flip", Type::boolean), unary(UnaryOp::neg, x), x))}};
  f.body = {make_loop(i)};
  return f;
}

// `count` values in [-1, 1), the same for the same seed.
inline std::vector<double> random_values(std::size_t count, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> value(-1, 1);
  std::vector<double> out(count);
  for (double& v : out) v = value(random);
  return out;
}

// out[i] = the sum of every intrinsic on every type it takes, applied to x[i]:
// code that every helper and math function appears in.
inline Function every_intrinsic(const std::string& name = "every_intrinsic") {
  Function f;
  f.name = name;
  f.params = {buffer_param("x", Type::f64, {"n"}), buffer_param("out", Type::f64, {"n"}), scalar_param("n", Type::i64)};
  const ExprPtr x = load("x", Type::f64, {n("i")});
  ExprPtr sum = f64(0.0);
  for (Type t : all_types) {
    if (t == Type::boolean) continue;
    const ExprPtr a = cast(t, mul(x, f64(100.0))), b = cast(t, add(x, f64(3.0)));
    for (const IntrinsicInfo& intrinsic : intrinsics) {
      if (intrinsic.float_only && !is_float(t)) continue;
      sum = add(sum, cast(Type::f64, call(intrinsic.id, intrinsic.arity == 1 ? std::vector{a} : std::vector{a, b})));
    }
  }
  f.body = {make_loop({"i", i64(0), n("n"), 1, LoopKind::parallel, 0, {make_store("out", {n("i")}, sum)}})};
  return f;
}

// The grid of a launch: blocks per dimension and threads per block.
struct Grid {
  std::array<std::int64_t, 3> blocks{1, 1, 1};
  std::array<std::int64_t, 3> threads{1, 1, 1};
};

// Bounds of GPU loops use scalar parameters and constants only.
inline std::int64_t evaluate_bound(const ExprPtr& e, const Scalars& scalars) {
  switch (e->kind) {
    case Expr::Kind::constant: return std::get<std::int64_t>(e->value);
    case Expr::Kind::var: return static_cast<std::int64_t>(scalars.at(e->name));
    case Expr::Kind::binary: {
      const std::int64_t a = evaluate_bound(e->args[0], scalars), b = evaluate_bound(e->args[1], scalars);
      if (e->binary_op == BinaryOp::add) return a + b;
      if (e->binary_op == BinaryOp::sub) return a - b;
      if (e->binary_op == BinaryOp::mul) return a * b;
      if (e->binary_op == BinaryOp::div) return a / b;
      break;
    }
    default: break;
  }
  throw std::logic_error("a GPU loop bound the test cannot evaluate");
}

// Each gpu_block loop sets its dimension's blocks, each gpu_thread loop its threads per block.
inline Grid launch_grid(const Function& f, const Scalars& scalars) {
  Grid grid;
  std::function<void(const Block&)> walk = [&](const Block& b) {
    for (const Stmt& s : b) {
      if (!s.loop || (s.loop->kind != LoopKind::gpu_block && s.loop->kind != LoopKind::gpu_thread)) continue;
      const Loop& l = *s.loop;
      const std::int64_t width = evaluate_bound(l.upper, scalars) - evaluate_bound(l.lower, scalars);
      const std::int64_t trip = std::max<std::int64_t>(0, (width + l.step - 1) / l.step);
      (l.kind == LoopKind::gpu_block ? grid.blocks : grid.threads)[static_cast<std::size_t>(l.dim)] = trip;
      walk(l.body);
    }
  };
  walk(f.body);
  return grid;
}

}  // namespace asp::test
