// The GPU mapping: mapped kernels compute what the originals compute, on
// sizes that fill whole blocks and sizes that do not; the launch grid read
// from the gpu loops covers the nest; what cannot map is kept (or left out
// for a deeper variant) and says why; the optimizer component logs it.
#include "gpu_map.hpp"

#include "gpu_kernels.hpp"

#include <asp/psir_passes.hpp>
#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <tuple>

namespace {

using namespace asp::psir;
using asp::backends::GpuMapOptions;
using asp::backends::gpu_map_problem;
using asp::backends::map_to_gpu;
using asp::test::Buffers;
using asp::test::random_values;
using asp::test::n;
using asp::test::Scalars;
using testing::ElementsAre;
using testing::HasSubstr;

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (const Function& f : m.functions) out.push_back(f.name);
  return out;
}

// Loops of the given kind anywhere in `block`, outermost first.
std::vector<const Loop*> loops_of(const Block& block, LoopKind kind) {
  std::vector<const Loop*> out;
  std::function<void(const Block&)> walk = [&](const Block& b) {
    for (const Stmt& s : b) {
      if (s.loop && s.loop->kind == kind) out.push_back(s.loop.get());
      if (s.loop) walk(s.loop->body);
      walk(s.then_block);
      walk(s.else_block);
    }
  };
  walk(block);
  return out;
}

// Runs `original` and every function of `mapped` on the same inputs; each output must equal the original's bitwise.
void expect_same_results(const Function& original, const Module& mapped, const Buffers& inputs, const Scalars& scalars) {
  Buffers expected = inputs;
  asp::test::interpret(original, expected, scalars);
  ASSERT_FALSE(mapped.functions.empty());
  for (const Function& f : mapped.functions) {
    Buffers actual = inputs;
    asp::test::interpret(f, actual, scalars);
    EXPECT_EQ(actual, expected) << print(f);
  }
}

Buffers grid_buffers(std::int64_t n0, std::int64_t n1, std::int64_t n2) {
  const auto count = static_cast<std::size_t>(n0 * n1 * n2);
  return {{"in", random_values(count, 1)}, {"out", std::vector<double>(count, 0.0)}};
}

TEST(GpuMap, AThreeLoopNestMapsOntoEveryThreeDimensionalShape) {
  const Function f = asp::test::laplacian3d_parallel("lap");
  const Module mapped = map_to_gpu(Module{{f}});
  verify(mapped);
  EXPECT_THAT(names(mapped), ElementsAre("lap_b32x4x2", "lap_b64x4x1", "lap_b256x1x1"));
  // Interior 4 x 8 x 64 fills whole blocks of some shapes; 3 x 5 x 35 fills none.
  for (auto [n0, n1, n2] : {std::tuple{6, 10, 66}, {5, 7, 37}, {3, 3, 3}}) {
    const Scalars sizes{{"n0", n0}, {"n1", n1}, {"n2", n2}};
    expect_same_results(f, mapped, grid_buffers(n0, n1, n2), sizes);
  }
}

TEST(GpuMap, TheInnermostLoopIsDimensionXAndTheGridCoversTheNest) {
  const Module mapped = map_to_gpu(Module{{asp::test::laplacian3d_parallel("lap")}});
  const Function& f = *mapped.function("lap_b32x4x2");
  // x is the dimension consecutive threads share: it must walk the innermost (contiguous) axis.
  const auto blocks = loops_of(f.body, LoopKind::gpu_block), threads = loops_of(f.body, LoopKind::gpu_thread);
  ASSERT_EQ(blocks.size(), 3u);
  ASSERT_EQ(threads.size(), 3u);
  EXPECT_EQ(blocks[0]->dim, 2);
  EXPECT_EQ(blocks[2]->dim, 0);
  EXPECT_EQ(threads[2]->dim, 0);
  const asp::test::Grid grid = asp::test::launch_grid(f, {{"n0", 5}, {"n1", 7}, {"n2", 37}});
  EXPECT_THAT(grid.threads, ElementsAre(32, 4, 2));
  EXPECT_THAT(grid.blocks, ElementsAre(2, 2, 2));  // ceil(35 / 32), ceil(5 / 4), ceil(3 / 2)
}

TEST(GpuMap, OneDimensionalKernelsKeepTheirResultsAndRunChecks) {
  Function f = asp::test::gather("g");
  f.requires_ = binary(BinaryOp::gt, n("m"), i64(0));
  const Module mapped = map_to_gpu(Module{{f}});
  EXPECT_THAT(names(mapped), ElementsAre("g_b64x1x1", "g_b256x1x1"));
  for (const Function& g : mapped.functions) EXPECT_EQ(print(g.requires_), print(f.requires_));
  for (std::int64_t count : {256, 100, 1}) {
    std::vector<double> index(static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < index.size(); ++i) index[i] = static_cast<double>((i * 7) % 10);
    Buffers buffers{{"table", random_values(10, 2)}, {"index", index}, {"out", std::vector<double>(index.size(), 0.0)}};
    for (double& v : buffers["table"]) v = static_cast<float>(v);
    expect_same_results(f, mapped, buffers, {{"scale", 0.5}, {"m", 10}, {"n", static_cast<double>(count)}});
  }
}

TEST(GpuMap, StepsAndLowerBoundsCarryOver) {
  // Unrolled by 2 without a remainder, the innermost loop steps by 2 from 1.
  const Function f = unroll(asp::test::laplacian3d_parallel("lap"), "k", 2, false);
  const Module mapped = map_to_gpu(Module{{f}});
  ASSERT_EQ(mapped.functions.size(), 3u);
  for (auto [n0, n1, n2] : {std::tuple{4, 5, 68}, {5, 9, 4}}) {
    expect_same_results(f, mapped, grid_buffers(n0, n1, n2), {{"n0", n0}, {"n1", n1}, {"n2", n2}});
  }
}

TEST(GpuMap, OnlyIndependentLoopsMap) {
  // laplacian3d's middle loop is serial: only the outer loop maps, the rest runs in each thread.
  const Function f = asp::test::laplacian3d("lap");
  EXPECT_EQ(gpu_map_problem(f), "");
  const Module mapped = map_to_gpu(Module{{f}});
  EXPECT_THAT(names(mapped), ElementsAre("lap_b64x1x1", "lap_b256x1x1"));
  EXPECT_EQ(loops_of(mapped.functions[0].body, LoopKind::gpu_block).size(), 1u);
  expect_same_results(f, mapped, grid_buffers(5, 6, 7), {{"n0", 5}, {"n1", 6}, {"n2", 7}});
}

TEST(GpuMap, ABoundOnAnOuterLoopVariableEndsTheMappedNest) {
  const Function f = asp::test::triangle();
  const Module mapped = map_to_gpu(Module{{f}});
  ASSERT_EQ(mapped.functions.size(), 2u);
  const Function& g = mapped.functions[0];
  EXPECT_EQ(loops_of(g.body, LoopKind::gpu_block).size(), 1u);
  EXPECT_EQ(loops_of(g.body, LoopKind::parallel).size(), 1u);  // j, now inside each thread
  for (std::int64_t size : {64, 70}) {
    const auto count = static_cast<std::size_t>(size * size);
    expect_same_results(f, mapped, {{"in", random_values(count, 3)}, {"out", std::vector<double>(count, 0.0)}},
                        {{"n", static_cast<double>(size)}});
  }
}

TEST(GpuMap, TwoNestsInSequenceMapAsTwoLaunches) {
  const Function f = asp::test::two_nests();
  EXPECT_EQ(gpu_map_problem(f), "");
  const Module mapped = map_to_gpu(Module{{f}});
  EXPECT_THAT(names(mapped), ElementsAre("two_nests_b64x1x1", "two_nests_b256x1x1"));
  for (const Function& g : mapped.functions) {
    ASSERT_EQ(g.body.size(), 2u);
    for (const Stmt& s : g.body) EXPECT_EQ(s.loop->kind, LoopKind::gpu_block);
    const std::vector<Function> launches = device_launches(g);
    ASSERT_EQ(launches.size(), 2u);
    EXPECT_EQ(launches[1].name, g.name + "_launch1");
    EXPECT_EQ(asp::test::launch_grid(launches[1], {{"n", 300}}).blocks[0], g.name == "two_nests_b64x1x1" ? 5 : 2);
  }
  for (std::int64_t size : {300, 1}) {
    const auto count = static_cast<std::size_t>(size);
    expect_same_results(f, mapped,
                        {{"x", random_values(count, 4)}, {"a", std::vector<double>(count)}, {"b", std::vector<double>(count)}},
                        {{"n", static_cast<double>(size)}});
  }
}

// An in-place sweep (a[i] += a[i - 1]: each point reads the one before it) is
// serial: between two mapped nests it stays a loop, run as one thread, and
// the launches keep Python's order.
Function nests_around_a_sweep() {
  Function f = asp::test::two_nests("around");
  Loop sweep{"j", i64(1), n("n"), 1, LoopKind::serial, 0,
             {make_store("a", {n("j")}, add(load("a", Type::f64, {n("j")}), load("a", Type::f64, {sub(n("j"), i64(1))})))}};
  f.body.insert(f.body.begin() + 1, make_loop(sweep));
  f.body.insert(f.body.begin() + 2, make_store("a", {i64(0)}, f64(-1.0)));
  return f;
}

TEST(GpuMap, ASerialSweepBetweenNestsRunsAsOneThreadInOrder) {
  const Function f = nests_around_a_sweep();
  const Module mapped = map_to_gpu(Module{{f}});
  EXPECT_THAT(names(mapped), ElementsAre("around_b64x1x1", "around_b256x1x1"));
  const Function& g = mapped.functions[0];
  EXPECT_EQ(loops_of(g.body, LoopKind::gpu_block).size(), 2u);
  EXPECT_EQ(loops_of(g.body, LoopKind::serial).size(), 1u);
  const std::vector<Function> launches = device_launches(g);
  ASSERT_EQ(launches.size(), 3u);  // nest, then the sweep and the store as one thread, then nest
  EXPECT_EQ(launches[1].body.size(), 2u);
  EXPECT_TRUE(loops_of(launches[1].body, LoopKind::gpu_block).empty());
  for (std::int64_t size : {300, 2}) {
    const auto count = static_cast<std::size_t>(size);
    expect_same_results(f, mapped,
                        {{"x", random_values(count, 6)}, {"a", std::vector<double>(count)}, {"b", std::vector<double>(count)}},
                        {{"n", static_cast<double>(size)}});
  }
}

TEST(GpuMap, PartsThatShareALocalStayOneThread) {
  // var s = 0; s += x[i] over a loop; store s: a launch would lose s.
  const Function f = asp::test::sum_reduction();
  EXPECT_THAT(gpu_map_problem(f), HasSubstr("cannot run as several launches: the var declaration"));
  EXPECT_EQ(print(map_to_gpu(Module{{f}})), print(Module{{f}}));
  Function unread = f;
  unread.body.pop_back();  // the reduction alone still needs its var in its launch
  EXPECT_THAT(gpu_map_problem(unread), HasSubstr("the var declaration 'acc' of one launch"));
  // A leading let that reads memory would be read again by the second launch, after the first wrote.
  Function g = asp::test::two_nests();
  g.body.insert(g.body.begin(), make_let("first", load("a", Type::f64, {i64(0)})));
  EXPECT_THAT(gpu_map_problem(g), HasSubstr("leading let 'first' reads memory"));
}

TEST(GpuMap, WhatCannotMapSaysWhy) {
  EXPECT_THAT(gpu_map_problem(asp::test::sum_reduction()), HasSubstr("var declaration"));
  EXPECT_THAT(gpu_map_problem(Function{"empty", {}, nullptr, {}, ""}), HasSubstr("no loop"));
  Function serial = asp::test::gather();
  serial.body[0].loop->kind = LoopKind::serial;
  EXPECT_THAT(gpu_map_problem(serial), HasSubstr("loop 'i' is serial"));
  Function let_bound = asp::test::gather();
  let_bound.body.insert(let_bound.body.begin(), make_let("half", binary(BinaryOp::div, n("n"), i64(2))));
  let_bound.body[1].loop->upper = var("half", Type::i64);
  EXPECT_THAT(gpu_map_problem(let_bound), HasSubstr("use 'half', which is not an integer scalar parameter"));
  Function lets_first = asp::test::gather();
  lets_first.body.insert(lets_first.body.begin(), make_let("half", binary(BinaryOp::div, n("n"), i64(2))));
  EXPECT_EQ(gpu_map_problem(lets_first), "");
}

TEST(GpuMap, ShallowerVariantsGiveWayToADeeperOneThatAlwaysRuns) {
  const Function deep = asp::test::laplacian3d_parallel("deep");
  const Function shallow = asp::test::laplacian3d("shallow");
  const Function single = asp::test::sum_reduction();
  EXPECT_THAT(names(map_to_gpu(Module{{shallow, deep, single}})), ElementsAre("deep_b32x4x2", "deep_b64x4x1", "deep_b256x1x1"));
  // When the deepest has a run check, a call it refuses still needs the others.
  Function checked = deep;
  checked.requires_ = binary(BinaryOp::eq, binary(BinaryOp::rem, n("n2"), i64(2)), i64(0));
  EXPECT_THAT(names(map_to_gpu(Module{{shallow, checked, single}})),
              ElementsAre("shallow_b64x1x1", "shallow_b256x1x1", "deep_b32x4x2", "deep_b64x4x1", "deep_b256x1x1", "sum_reduction"));
}

TEST(GpuMap, ShapesComeFromTheOptions) {
  GpuMapOptions options;
  options.shapes_1d = {{{8, 1, 1}}};
  EXPECT_THAT(names(map_to_gpu(Module{{asp::test::gather()}}, options)), ElementsAre("gather_b8x1x1"));
  options.shapes_1d.clear();
  EXPECT_THROW(map_to_gpu(Module{{asp::test::gather()}}, options), asp::Error);
}

// ---- the optimizer component ---------------------------------------------------------

struct LogRecorder {
  std::vector<std::pair<asp_log_level, std::string>> lines;
  asp_host host = [] {
    asp_host h{};
    h.struct_size = sizeof h;
    h.abi_version = ASP_ABI_VERSION;
    h.core_version = "test";
    h.log = [](asp_host_context* ctx, asp_log_level level, const char* message) {
      reinterpret_cast<LogRecorder*>(ctx)->lines.emplace_back(level, message);
    };
    return h;
  }();
  asp::Call call() { return asp::Call(&host, reinterpret_cast<asp_host_context*>(this)); }
};

TEST(GpuMapOptimizer, MapsPsirTextAndLogsWhatRunsAsOneThread) {
  LogRecorder log;
  asp::Call call = log.call();
  asp::backends::GpuMapOptimizer optimizer;
  const Module out = parse(optimizer.run(call, print(Module{{asp::test::gather()}})));
  EXPECT_THAT(names(out), ElementsAre("gather_b64x1x1", "gather_b256x1x1"));
  EXPECT_TRUE(log.lines.empty());

  const Module unmapped{{asp::test::sum_reduction()}};
  EXPECT_EQ(optimizer.run(call, print(unmapped)), print(unmapped));
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0].first, ASP_LOG_INFO);
  EXPECT_THAT(log.lines[0].second, HasSubstr("'sum_reduction' runs as a single device thread"));
}

TEST(GpuMapOptimizer, RejectsMalformedText) {
  LogRecorder log;
  asp::Call call = log.call();
  asp::backends::GpuMapOptimizer optimizer;
  try {
    optimizer.run(call, "asp-ir 1 psir\nfunc f( {\n");
    FAIL() << "accepted malformed PSIR";
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_INVALID_ARGUMENT);
  }
}

}  // namespace
