// PSIR kernels shared by the IR tests and the backend tests: a 3-D 7-point
// stencil, a sum reduction, an indirect gather, and one function that uses
// every node kind.
#pragma once

#include <asp/psir.hpp>

#include <limits>

namespace asp::test {

using namespace asp::psir;

inline ExprPtr n(const char* name) { return var(name, Type::i64); }

// out[i,j,k] = centre*in[i,j,k] + the six neighbours, on the interior of an n0 x n1 x n2 grid.
inline Function laplacian3d(const std::string& name = "laplacian3d", double centre = -6.0) {
  Function f;
  f.name = name;
  f.params = {buffer_param("in", Type::f64, {"n0", "n1", "n2"}), buffer_param("out", Type::f64, {"n0", "n1", "n2"}),
              scalar_param("n0", Type::i64), scalar_param("n1", Type::i64), scalar_param("n2", Type::i64)};
  auto at = [](int di, int dj, int dk) {
    auto off = [](const char* v, int d) { return d == 0 ? n(v) : add(n(v), i64(d)); };
    return load("in", Type::f64, {off("i", di), off("j", dj), off("k", dk)});
  };
  ExprPtr sum = mul(f64(centre), at(0, 0, 0));
  for (auto [di, dj, dk] : {std::tuple{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}}) {
    sum = add(sum, at(di, dj, dk));
  }
  Loop k{"k", i64(1), sub(n("n2"), i64(1)), 1, LoopKind::vectorized, 0, {make_store("out", {n("i"), n("j"), n("k")}, sum)}};
  Loop j{"j", i64(1), sub(n("n1"), i64(1)), 1, LoopKind::serial, 0, {make_loop(k)}};
  Loop i{"i", i64(1), sub(n("n0"), i64(1)), 1, LoopKind::parallel, 0, {make_loop(j)}};
  f.body = {make_loop(i)};
  return f;
}

// laplacian3d with its rows written by non-temporal stores (the innermost loop streaming).
inline Function streaming_laplacian3d(const std::string& name = "streaming_laplacian3d") {
  Function f = laplacian3d(name);
  Loop i = *f.body[0].loop, j = *i.body[0].loop, k = *j.body[0].loop;
  k.kind = LoopKind::streaming;
  j.body = {make_loop(k)};
  i.body = {make_loop(j)};
  f.body = {make_loop(i)};
  return f;
}

// out[0] = sum of x[0..n), as a parallel reduction.
inline Function sum_reduction(const std::string& name = "sum_reduction") {
  Function f;
  f.name = name;
  f.params = {buffer_param("x", Type::f64, {"n"}), buffer_param("out", Type::f64, {1}), scalar_param("n", Type::i64)};
  Loop i{"i", i64(0), n("n"), 1, LoopKind::parallel, 0, {make_reduce("acc", ReduceOp::add, load("x", Type::f64, {n("i")}))}};
  f.body = {make_decl("acc", f64(0.0)), make_loop(i), make_store("out", {i64(0)}, var("acc", Type::f64))};
  return f;
}

// out[i] = table[index[i]] * scale, the index read from memory (indirect, so guarded).
inline Function gather(const std::string& name = "gather") {
  Function f;
  f.name = name;
  f.params = {buffer_param("table", Type::f32, {"m"}), buffer_param("index", Type::i32, {"n"}),
              buffer_param("out", Type::f32, {"n"}), scalar_param("scale", Type::f32), scalar_param("m", Type::i64),
              scalar_param("n", Type::i64)};
  ExprPtr idx = cast(Type::i64, load("index", Type::i32, {n("i")}));
  Loop i{"i", i64(0), n("n"), 1, LoopKind::parallel, 0,
         {make_let("t", load("table", Type::f32, {idx})), make_store("out", {n("i")}, mul(var("t", Type::f32), var("scale", Type::f32)))}};
  f.body = {make_loop(i)};
  return f;
}

// Uses every statement kind, expression kind, loop kind and constant kind.
inline Function every_node(const std::string& name = "every_node") {
  Function f;
  f.name = name;
  f.params = {buffer_param("a", Type::f64, {"n", 4}, {"s", 1}), buffer_param("b", Type::u8, {8}), scalar_param("n", Type::i64),
              scalar_param("s", Type::i64), scalar_param("x", Type::f32)};
  f.requires_ = binary(BinaryOp::eq, binary(BinaryOp::rem, n("n"), i64(4)), i64(0));
  ExprPtr a_ij = load("a", Type::f64, {n("i"), n("j")});
  Block inner = {
      make_let("c", select(binary(BinaryOp::lt, a_ij, f64(0.5)), unary(UnaryOp::neg, a_ij), call(Intrinsic::sqrt, {a_ij}))),
      make_let("d", add(var("c", Type::f64), cast(Type::f64, var("x", Type::f32)))),
      make_decl("e", call(Intrinsic::max, {var("d", Type::f64), f64(-1.25e-300)})),
      make_assign("e", call(Intrinsic::pow, {var("e", Type::f64), f64(2.0)})),
      make_if(binary(BinaryOp::and_, unary(UnaryOp::not_, boolean(false)), binary(BinaryOp::ge, var("e", Type::f64), f64(1.0 / 3.0))),
              {make_store("a", {n("i"), n("j")}, var("e", Type::f64))},
              {make_store("b", {binary(BinaryOp::rem, n("j"), i64(8))}, cast(Type::u8, constant(Type::u64, std::uint64_t{255})))}),
      make_reduce("total", ReduceOp::max, var("e", Type::f64)),
      make_let("bits", binary(BinaryOp::bit_xor, unary(UnaryOp::bitnot, constant(Type::i32, std::int64_t{-7})), constant(Type::i32, std::int64_t{3}))),
      make_let("f", call(Intrinsic::floordiv, {constant(Type::i16, std::int64_t{-7}), constant(Type::i16, std::int64_t{2})})),
      make_let("g", binary(BinaryOp::shl, constant(Type::i8, std::int64_t{1}), constant(Type::i8, std::int64_t{3}))),
      make_let("h", call(Intrinsic::abs, {constant(Type::u32, std::uint64_t{1})})),
      make_let("inf_", f64(-std::numeric_limits<double>::infinity())),
      make_let("tiny", f32(1.17549435e-38f)),
      make_let("big", constant(Type::u16, std::uint64_t{65535})),
  };
  Loop j{"j", i64(0), i64(4), 1, LoopKind::unrolled, 0, inner};
  Loop i{"i", i64(0), n("n"), 2, LoopKind::parallel, 0, {make_loop(j)}};
  Loop gy{"gy", i64(0), i64(1), 1, LoopKind::gpu_block, 1, {}};
  Loop gx{"gx", i64(0), i64(1), 1, LoopKind::gpu_thread, 2, {}};
  Loop v{"v", i64(0), i64(3), 1, LoopKind::vectorized, 0, {}};
  f.body = {make_decl("total", f64(0.0)), make_loop(i), make_loop(gy), make_loop(gx), make_loop(v),
            make_store("a", {i64(0), i64(0)}, var("total", Type::f64))};
  return f;
}

}  // namespace asp::test
