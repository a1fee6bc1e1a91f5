// Lowering stencil DSIR to PSIR: verified variants with one signature, the
// loop kinds, the run checks of the exact unrollings, cache blocking, and
// constant indices checked against the arrays.
#include "stencil_support.hpp"

#include "asp/core/kernel.hpp"

#include "stencil/dsir_text.hpp"
#include "stencil/frontend.hpp"
#include "stencil/lowering.hpp"
#include "stencil/passes.hpp"

#include <asp/plugin.hpp>
#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using namespace asp::stencil;
namespace P = asp::psir;
using testing::ElementsAre;
using testing::HasSubstr;

P::Module lowered(const std::string& name) {
  test::Args args(test::sample_grids(name));
  return lower(optimize(translate(test::tree(name), args.get())));
}

const P::Loop& only_loop(const P::Block& block) {
  EXPECT_EQ(block.size(), 1u);
  EXPECT_EQ(block.at(0).kind, P::Stmt::Kind::loop);
  return *block.at(0).loop;
}

std::vector<std::string> names(const P::Module& m) {
  std::vector<std::string> out;
  for (const P::Function& f : m.functions) out.push_back(f.name);
  return out;
}

TEST(Lowering, EveryKernelLowersToVerifiedVariantsOfOneSignature) {
  for (const std::string& name : test::sample_kernels()) {
    const P::Module m = lowered(name);
    ASSERT_FALSE(m.functions.empty()) << name;
    EXPECT_NO_THROW(P::verify(m)) << name;
    for (const P::Function& f : m.functions) {
      ASSERT_EQ(f.params.size(), m.functions[0].params.size()) << name << " " << f.name;
      for (std::size_t i = 0; i < f.params.size(); ++i) {
        EXPECT_EQ(f.params[i].name, m.functions[0].params[i].name) << name << " " << f.name;
        EXPECT_EQ(f.params[i].shape, m.functions[0].params[i].shape) << name << " " << f.name;
      }
    }
    const std::string text = P::print(m);
    EXPECT_EQ(P::print(P::parse(text)), text) << name;
  }
  EXPECT_THAT(names(lowered("laplacian_2d")), ElementsAre("kernel", "kernel_unroll2", "kernel_unroll4", "kernel_unroll4_rem", "kernel_tiled"));
  EXPECT_THAT(names(lowered("derivative_1d")), ElementsAre("kernel", "kernel_unroll2", "kernel_unroll4", "kernel_unroll4_rem"));
  EXPECT_THAT(names(lowered("periodic_border")), ElementsAre("kernel"));
}

TEST(Lowering, BuffersAreTheGridsAndGridsOfOneShapeShareExtents) {
  const P::Module m = lowered("bilateral_3d");
  const P::Function& f = m.functions.at(0);
  std::vector<std::string> params;
  for (const P::Param& p : f.params) params.push_back(p.name + (p.kind == P::Param::Kind::buffer ? "[]" : ""));
  EXPECT_THAT(params, ElementsAre("in_img[]", "filter_d[]", "filter_s[]", "out_img[]", "in_img_n0", "in_img_n1", "in_img_n2",
                                  "filter_d_n0", "filter_s_n0"));
  EXPECT_EQ(f.params[3].shape, (std::vector<P::Extent>{"in_img_n0", "in_img_n1", "in_img_n2"}));
  EXPECT_EQ(f.params[1].type, P::Type::f64);
  EXPECT_EQ(lowered("life").functions.at(0).params[0].type, P::Type::i64);
}

TEST(Lowering, InteriorLoopsAreParallelAndVectorizedInnermost) {
  const P::Module laplacian = lowered("laplacian_2d"), constant_laplacian = lowered("constant_laplacian_3d");
  const P::Function& plane = laplacian.functions.at(0);
  const P::Loop& rows = only_loop(plane.body);
  EXPECT_EQ(rows.kind, P::LoopKind::parallel);
  EXPECT_EQ(P::print(rows.lower), "1:i64");
  EXPECT_EQ(P::print(rows.upper), "(in_grid_n0 + -1:i64)");
  EXPECT_EQ(only_loop(rows.body).kind, P::LoopKind::vectorized);
  const P::Loop& cube = only_loop(constant_laplacian.functions.at(0).body);
  EXPECT_EQ(cube.kind, P::LoopKind::parallel);
  EXPECT_EQ(only_loop(cube.body).kind, P::LoopKind::parallel);  // a device maps the whole nest
  EXPECT_EQ(only_loop(only_loop(cube.body).body).kind, P::LoopKind::vectorized);
  // Each point's value is kept in a local and stored once.
  EXPECT_THAT(P::print(plane), HasSubstr("store out_grid[x_0, x_1] = v0_store_out_grid\n"));
}

TEST(Lowering, TheExactUnrollingsRunOnlyWhenTheTripCountIsAMultiple) {
  const P::Module m = lowered("laplacian_2d");
  for (auto [n1, runnable] : {std::pair{14, "11111"}, {12, "11011"}, {11, "10011"}}) {
    std::int64_t n0 = 10, columns = n1;
    void* args[] = {nullptr, nullptr, &n0, &columns};
    std::string got;
    for (const P::Function& f : m.functions) got += asp::core::evaluate_run_check(f, args) ? "1" : "0";
    EXPECT_EQ(got, runnable) << n1 << " columns";
  }
}

TEST(Lowering, TheTiledVariantBlocksTheTwoOuterAxes) {
  const P::Module m = lowered("constant_laplacian_3d");
  const P::Function& tiled = m.functions.back();
  ASSERT_EQ(tiled.name, "kernel_tiled");
  std::vector<std::string> loops;
  const P::Block* block = &tiled.body;
  while (block->size() == 1 && block->front().kind == P::Stmt::Kind::loop) {
    const P::Loop& l = *block->front().loop;
    loops.push_back(l.var + " step " + std::to_string(l.step) + " " + P::loop_kind_name(l.kind));
    block = &l.body;
  }
  EXPECT_THAT(loops, ElementsAre("x_0_t step 64 parallel", "x_1_t step 64 serial", "x_0 step 1 serial", "x_1 step 1 serial",
                                 "x_2 step 1 vectorized"));
}

TEST(Lowering, TheStreamingVariantIsOfferedOnlyForOutputsLargerThanTheLastLevelCache) {
  const auto lowered_with = [](const std::string& name, std::uint64_t llc) {
    test::Args args(test::sample_grids(name));
    return lower(optimize(translate(test::tree(name), args.get())), llc);
  };
  const std::uint64_t plane_bytes = 10 * 14 * 8;  // the sample 2-D output grid, float64
  EXPECT_EQ(names(lowered_with("laplacian_2d", plane_bytes - 1)).back(), "kernel_stream");
  for (std::uint64_t llc : {plane_bytes, std::uint64_t{1} << 30, std::uint64_t{0}}) {  // 0: the cache size is unknown
    EXPECT_EQ(names(lowered_with("laplacian_2d", llc)).back(), "kernel_tiled") << llc;
  }
  // The innermost interior loop streams; the outer ones are as in the plain variant.
  const P::Module cube = lowered_with("constant_laplacian_3d", 1);
  const P::Function& streamed = cube.functions.back();
  ASSERT_EQ(streamed.name, "kernel_stream");
  const P::Loop& outer = only_loop(streamed.body);
  EXPECT_EQ(outer.kind, P::LoopKind::parallel);
  EXPECT_EQ(only_loop(only_loop(outer.body).body).kind, P::LoopKind::streaming);
  EXPECT_NO_THROW(P::verify(cube));
  // Not for a 1-D sweep (its one loop is the parallel one), nor where points depend on each other.
  EXPECT_EQ(names(lowered_with("derivative_1d", 1)).back(), "kernel_unroll4_rem");
  EXPECT_EQ(names(lowered_with("jacobi", 1)).back(), names(lowered("jacobi")).back());
}

TEST(Lowering, ConstantIndicesAreCheckedNowAndOnEveryCall) {
  auto kernel = [](const std::string& extent, const std::string& index) {
    return parse("asp-ir 1 dsir.stencil\nkernel k\ngrid a: f64[6, 7] ghost 1\ngrid t: f64[" + extent + "] ghost 0\n"
                 "for x in interior(a) {\n  store a[x] = (lookup(t, " + index + ") + lookup(t, 2:int))\n}\n");
  };
  try {
    lower(kernel("3", "5:int"));
    ADD_FAILURE();
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_INVALID_ARGUMENT);
    EXPECT_THAT(e.what(), HasSubstr("grid 't' is read at index 5 along axis 0, outside its extent 3"));
  }
  // Negative indices count from the end; the run check asks for an extent that has every index read.
  const P::Function from_end = lower(kernel("8", "-3:int")).functions.at(0);
  EXPECT_EQ(P::print(from_end.requires_), "(t_n0 >= 3:i64)");
  EXPECT_THAT(P::print(from_end), HasSubstr("t[(t_n0 + -3:i64)]"));
  EXPECT_EQ(P::print(lower(kernel("8", "(2:int * 2:int)")).functions.at(0).requires_), "(t_n0 >= 5:i64)");
}

TEST(Lowering, BorderLoopsNeedAGhostZone) {
  const std::string text = "asp-ir 1 dsir.stencil\nkernel k\ngrid a: f64[6, 7] ghost 0\n"
                           "for x in border(a) {\n  store a[x] = 1:f64\n}\n";
  EXPECT_TRUE(lower(parse(text)).functions.at(0).body.empty());
}

// The lowering runs no pass itself: DSIR that skipped the unrolling the
// pipeline declares before it is refused, saying so, instead of lowered.
TEST(Lowering, RefusesDsirThatDidNotGoThroughTheDeclaredPipeline) {
  const Kernel looped = parse("asp-ir 1 dsir.stencil\nkernel k\ngrid a: f64[6, 7] ghost 1\ngrid b: f64[6, 7] ghost 1\n"
                              "for x in interior(b) {\n  var s: f64 = 0:f64\n"
                              "  @4:8 for y in neighbors(a, x, 1) [(1, 0), (0, -1)] {\n    s = (s + a[y])\n  }\n"
                              "  store b[x] = s\n}\n");
  try {
    lower(looped);
    ADD_FAILURE() << "a neighbour loop was lowered";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("neighbour loop (line 4)"));
    EXPECT_THAT(e.what(), HasSubstr("stencil-unroll-neighbors"));
  }
  EXPECT_EQ(dsir_passes.front().name, std::string("stencil-unroll-neighbors"));
  EXPECT_FALSE(lower(dsir_passes.front().run(looped)).functions.empty());
}

TEST(Lowering, AGridNamedLikeAKernelIrWordIsRefused) {
  try {
    lower(parse("asp-ir 1 dsir.stencil\nkernel k\ngrid min: f64[6] ghost 1\n"));
    ADD_FAILURE();
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_UNSUPPORTED);
    EXPECT_THAT(e.what(), HasSubstr("the grid parameter name 'min' is reserved"));
  }
}

}  // namespace
