// PSIR to native code end to end: for both C backends and both JIT drivers,
// kernels compiled through the registry's backends give the same results as
// plain C++; generated C matches the golden files; the code cache serves a
// second compile and survives 8 processes compiling at once; run checks and
// the tuner choose variants.
#include "asp/core/kernel.hpp"

#include "../plugin_api/interpreter.hpp"
#include "../plugin_api/kernels.hpp"
#include "processes.hpp"
#include "support.hpp"
#include "../golden.hpp"

#include <asp/psir_passes.hpp>
#include <asp/psir_text.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

namespace {

using namespace asp::core;
using asp::psir::Module;
using testing::HasSubstr;

// A registry of the shipped backends, with the JIT driver of both C backends set to `jit`.
// `extra` is one more configuration layer above that.
std::unique_ptr<Registry> registry_with(const asp::test::TempDir& dir, const std::string& jit,
                                        const std::string& extra = "") {
  auto layer = dir.write("jit.yaml", "backends:\n  openmp:\n    jit: " + jit + "\n  pthreads:\n    jit: " + jit + "\n");
  auto more = dir.write("extra.yaml", extra);
  Diagnostics diagnostics;
  auto registry = Registry::load(asp::test::load_files({ASP_TEST_DEFAULT_CONFIG, layer, more}, diagnostics), diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << asp::test::only_message(diagnostics);
  return registry;
}

std::string text_of(const std::vector<asp::psir::Function>& functions) { return asp::psir::print(Module{functions}); }

// The same sum, in the same order, as the PSIR of asp::test::laplacian3d with centre coefficient `centre`.
std::vector<double> laplacian_reference(const std::vector<double>& in, long n0, long n1, long n2, double centre = -6.0) {
  std::vector<double> out(in.size(), 0.0);
  auto at = [&](long i, long j, long k) { return in[static_cast<size_t>((i * n1 + j) * n2 + k)]; };
  for (long i = 1; i < n0 - 1; ++i) {
    for (long j = 1; j < n1 - 1; ++j) {
      for (long k = 1; k < n2 - 1; ++k) {
        double s = centre * at(i, j, k);
        s = s + at(i - 1, j, k);
        s = s + at(i + 1, j, k);
        s = s + at(i, j - 1, k);
        s = s + at(i, j + 1, k);
        s = s + at(i, j, k - 1);
        s = s + at(i, j, k + 1);
        out[static_cast<size_t>((i * n1 + j) * n2 + k)] = s;
      }
    }
  }
  return out;
}

std::vector<double> random_values(size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> value(-1, 1);
  std::vector<double> v(n);
  for (double& x : v) x = value(random);
  return v;
}

// Runs a 3-D Laplacian kernel on a random grid and compares bitwise with the reference.
::testing::AssertionResult laplacian_matches(Kernel& kernel, long n0, long n1, long n2, double centre = -6.0) {
  const auto in = random_values(static_cast<size_t>(n0 * n1 * n2), 11);
  std::vector<double> out(in.size(), 0.0);
  std::int64_t s0 = n0, s1 = n1, s2 = n2;
  void* args[] = {const_cast<double*>(in.data()), out.data(), &s0, &s1, &s2};
  const auto run = kernel.run("f64[" + std::to_string(n0) + "," + std::to_string(n1) + "," + std::to_string(n2) + "]", args);
  if (run.status != ASP_C_OK) return ::testing::AssertionFailure() << kernel.describe_status(run.variant, run.status);
  if (out != laplacian_reference(in, n0, n1, n2, centre)) {
    return ::testing::AssertionFailure() << "variant " << kernel.variants()[run.variant].function.name << " differs";
  }
  return ::testing::AssertionSuccess();
}

struct Combination {
  const char* backend;
  const char* jit;
};

class CBackends : public testing::TestWithParam<Combination> {
 protected:
  void SetUp() override { registry_ = registry_with(dir_, GetParam().jit); }
  std::shared_ptr<Kernel> compile(const std::vector<asp::psir::Function>& functions, const CodeCache* cache = nullptr,
                                  KernelCompiler::Stats* stats = nullptr) {
    KernelCompiler compiler(*registry_, cache, nullptr);
    return compiler.compile(text_of(functions), GetParam().backend, stats);
  }
  asp::test::TempDir dir_;
  std::unique_ptr<Registry> registry_;
};

TEST_P(CBackends, SevenPointStencilEqualsCxxBitwise) {
  auto kernel = compile({asp::test::laplacian3d()});
  EXPECT_TRUE(laplacian_matches(*kernel, 9, 10, 11));
  EXPECT_TRUE(laplacian_matches(*kernel, 3, 3, 3));
  EXPECT_TRUE(laplacian_matches(*kernel, 34, 17, 65));
}

TEST_P(CBackends, AStreamingLoopEqualsCxxBitwiseAtEveryRowLengthAndAlignment) {
  auto kernel = compile({asp::test::streaming_laplacian3d()});
  // Rows shorter than a line, of a few lines, and of several 2 KiB chunks, starting at every alignment
  // (a row of n2 doubles moves the next row's start by n2 * 8 bytes); large enough to run in parallel.
  for (long n2 : {3L, 5L, 12L, 21L, 67L, 600L}) EXPECT_TRUE(laplacian_matches(*kernel, 4, 9, n2)) << n2;
  EXPECT_TRUE(laplacian_matches(*kernel, 34, 17, 65));
}

TEST_P(CBackends, ParallelReductionSums) {
  auto kernel = compile({asp::test::sum_reduction()});
  for (std::int64_t n : {0, 1, 7, 100000}) {
    std::vector<double> x(static_cast<size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = static_cast<double>(i % 1000);  // exact in any order
    double out = -1;
    void* args[] = {x.data(), &out, &n};
    ASSERT_EQ(kernel->run("n", args).status, ASP_C_OK);
    double expected = 0;
    for (double v : x) expected += v;
    EXPECT_EQ(out, expected) << n;
  }
}

TEST_P(CBackends, IndirectGatherEqualsCxxAndGuardsItsIndex) {
  auto kernel = compile({asp::test::gather()});
  std::vector<float> table(50);
  for (size_t i = 0; i < table.size(); ++i) table[i] = 0.5f * static_cast<float>(i) + 0.1f;
  std::vector<std::int32_t> index(1000);
  for (size_t i = 0; i < index.size(); ++i) index[i] = static_cast<std::int32_t>((i * 7) % table.size());
  std::vector<float> out(index.size());
  float scale = 1.5f;
  std::int64_t m = static_cast<std::int64_t>(table.size()), n = static_cast<std::int64_t>(index.size());
  void* args[] = {table.data(), index.data(), out.data(), &scale, &m, &n};
  ASSERT_EQ(kernel->run("g", args).status, ASP_C_OK);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], table[static_cast<size_t>(index[i])] * scale) << i;

  index[500] = 50;  // one past the end of the table
  index[600] = -3;
  const auto run = kernel->run("g", args);
  EXPECT_EQ(run.status, ASP_C_OUT_OF_BOUNDS + 0);
  EXPECT_EQ(kernel->describe_status(run.variant, run.status), "a data-dependent index fell outside 'table'");
}

// Every statement, expression, loop and constant kind of PSIR becomes C that
// compiles and runs, and the interpreter agrees with it on the result.
TEST_P(CBackends, EveryNodeKindCompilesAndRuns) {
  auto kernel = compile({asp::test::every_node()});
  std::int64_t n = 4, s = 4;
  float x = 0.25f;
  std::vector<double> a(16);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.1 * static_cast<double>(i);
  std::vector<std::uint8_t> b(8, 0);
  void* args[] = {a.data(), b.data(), &n, &s, &x};
  asp::test::Buffers expected{{"a", a}, {"b", std::vector<double>(8, 0.0)}};
  asp::test::interpret(asp::test::every_node(), expected, {{"n", 4}, {"s", 4}, {"x", 0.25}});
  ASSERT_TRUE(kernel->runnable(0, args));
  const auto run = kernel->run("e", args);
  EXPECT_EQ(run.status, ASP_C_OK) << kernel->describe_status(run.variant, run.status);
  EXPECT_EQ(a, expected["a"]);
  EXPECT_EQ(std::vector<double>(b.begin(), b.end()), expected["b"]);
  std::int64_t three = 3;
  void* not_multiple[] = {a.data(), b.data(), &three, &s, &x};
  EXPECT_FALSE(kernel->runnable(0, not_multiple));  // requires n % 4 == 0
}

TEST_P(CBackends, TheSecondCompileIsACacheHit) {
  CodeCache cache(dir_.path() / "cache");
  KernelCompiler::Stats first, second;
  compile({asp::test::laplacian3d()}, &cache, &first);
  auto kernel = compile({asp::test::laplacian3d()}, &cache, &second);
  EXPECT_FALSE(first.cache_hit);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.compile_seconds, 0.0);
  EXPECT_TRUE(laplacian_matches(*kernel, 6, 7, 8));
  EXPECT_EQ(cache.list().size(), 1u);
}

TEST_P(CBackends, RunChecksKeepVariantsFromArgumentsTheyCannotHandle) {
  const auto plain = asp::test::laplacian3d("plain");
  // Unrolled by 4 without a remainder: only right when the k loop's trip count (n2 - 2) is a multiple of 4.
  auto unrolled = asp::psir::unroll(asp::test::laplacian3d("unrolled4"), "k", 4, false);
  unrolled.requires_ = asp::psir::binary(asp::psir::BinaryOp::eq, asp::psir::binary(asp::psir::BinaryOp::rem, asp::psir::sub(asp::test::n("n2"), asp::psir::i64(2)), asp::psir::i64(4)),
                                        asp::psir::i64(0));
  auto kernel = compile({plain, unrolled});
  ASSERT_EQ(kernel->variants().size(), 2u);
  for (int call = 0; call < 4; ++call) EXPECT_TRUE(laplacian_matches(*kernel, 5, 5, 9));  // 7 iterations: never unrolled4
  std::int64_t n0 = 5, n1 = 5, n2 = 9;
  void* args[] = {nullptr, nullptr, &n0, &n1, &n2};
  EXPECT_TRUE(kernel->runnable(0, args));
  EXPECT_FALSE(kernel->runnable(1, args));
  n2 = 10;
  EXPECT_TRUE(kernel->runnable(1, args));
  for (int call = 0; call < 4; ++call) EXPECT_TRUE(laplacian_matches(*kernel, 5, 5, 10));  // both variants are tried
}

INSTANTIATE_TEST_SUITE_P(All, CBackends,
                         testing::Values(Combination{"openmp", "orc"}, Combination{"openmp", "system"},
                                         Combination{"pthreads", "orc"}, Combination{"pthreads", "system"}),
                         [](const auto& info) { return std::string(info.param.backend) + "_" + info.param.jit; });

// Generated C is checked in: a change to code generation shows in review.
// ASP_UPDATE_GOLDEN=1 rewrites the files.
TEST(GeneratedC, MatchesTheGoldenFiles) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "orc");
  for (const char* backend : {"openmp", "pthreads"}) {
    const BackendState* state = registry->backend(backend);
    ASSERT_TRUE(state && state->vtable && state->vtable->generate) << backend;
    for (const auto& f : {asp::test::laplacian3d(), asp::test::sum_reduction(), asp::test::gather(), asp::test::streaming_laplacian3d()}) {
      std::string source;
      const asp_text_sink sink{sizeof sink, &source, [](void* c, const char* d, size_t n) { static_cast<std::string*>(c)->append(d, n); }};
      const std::string psir = text_of({f});
      ASSERT_FALSE(call_plugin("test", [&](asp_host_context* ctx) {
        return state->vtable->generate(state->vtable->self, ctx, psir.c_str(), &sink);
      }));
      const std::string golden = std::string(ASP_TEST_GOLDEN_DIR) + "/" + f.name + "." + backend + ".c";
      asp::test::expect_golden(source, golden);
    }
  }
}

TEST(KernelCompiler, ACompilerErrorCarriesTheLog) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "system", "backends:\n  openmp:\n    flags: [-shared, -fPIC, -fno-such-flag-anywhere]\n");
  KernelCompiler compiler(*registry, nullptr, nullptr);
  try {
    compiler.compile(text_of({asp::test::laplacian3d()}), "openmp");
    FAIL() << "compiled with a bad flag";
  } catch (const CompileError& e) {
    EXPECT_THAT(e.log(), HasSubstr("no-such-flag-anywhere"));
    EXPECT_TRUE(std::filesystem::exists(e.source_path())) << e.source_path();
  }
}

TEST(KernelCompiler, RefusesUnknownAndUnavailableBackendsAndBadIr) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "orc", "backends:\n  pthreads:\n    enabled: false\n");
  KernelCompiler compiler(*registry, nullptr, nullptr);
  const std::string psir = text_of({asp::test::laplacian3d()});
  EXPECT_THROW(compiler.compile(psir, "fortran"), std::runtime_error);
  try {
    compiler.compile(psir, "pthreads");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("backend 'pthreads' is unavailable: disabled in config"));
  }
  EXPECT_THROW(compiler.compile("asp-ir 1 psir\nfunc f( {\n", "openmp"), asp::psir::ParseError);
}

// The tuner behind Kernel::run: each runnable variant tried (twice, round robin), then the fastest,
// remembered in the tuning database for the next process.
TEST(KernelCompiler, TheNextProcessStartsOnTheBestVariant) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "orc");
  auto unrolled = asp::psir::unroll(asp::test::laplacian3d("unrolled2"), "k", 2);
  const std::string psir = text_of({asp::test::laplacian3d("plain"), unrolled});
  std::vector<double> in(8 * 8 * 8, 1.0), out(in.size());
  std::int64_t n = 8;
  void* args[] = {in.data(), out.data(), &n, &n, &n};
  {
    TuningDatabase db(dir.path() / "tuning.sqlite");
    auto kernel = KernelCompiler(*registry, nullptr, &db).compile(psir, "openmp");
    for (std::int64_t round = 0; round < Tuner::runs_to_settle; ++round) {
      EXPECT_EQ(kernel->run("8x8x8", args).variant, 0u);
      EXPECT_EQ(kernel->run("8x8x8", args).variant, 1u);
    }
  }
  TuningDatabase db(dir.path() / "tuning.sqlite");
  auto kernel = KernelCompiler(*registry, nullptr, &db).compile(psir, "openmp");
  const auto stats = db.stats({kernel->key(), "8x8x8", tuning_platform()});
  ASSERT_EQ(stats.size(), 2u);
  const std::string best = stats.at("plain").best <= stats.at("unrolled2").best ? "plain" : "unrolled2";
  // Both variants were measured by the first "process": the second starts on the faster one.
  EXPECT_EQ(kernel->variants()[kernel->run("8x8x8", args).variant].function.name, best);
}

// Built on demand, a kernel compiles only the variant it runs first, the others
// when the tuner first chooses them, each in a binary of its own; a new process
// whose tuning record has settled builds (and loads from the cache) only the best.
TEST(KernelCompiler, OnDemandBuildsOnlyWhatRuns) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "orc");
  CodeCache cache(dir.path() / "cache");
  auto unrolled = asp::psir::unroll(asp::test::laplacian3d("unrolled2"), "k", 2);
  const std::string psir = text_of({asp::test::laplacian3d("plain"), unrolled});
  std::vector<double> in(8 * 8 * 8, 1.0), out(in.size());
  std::int64_t n = 8;
  void* args[] = {in.data(), out.data(), &n, &n, &n};
  {
    TuningDatabase db(dir.path() / "tuning.sqlite");
    KernelCompiler compiler(*registry, &cache, &db);
    auto kernel = compiler.compile(psir, "openmp", nullptr, true);
    EXPECT_FALSE(kernel->built(0) || kernel->built(1));
    const Kernel::Built first = kernel->build_first("f64[8,8,8]", args);
    EXPECT_FALSE(first.cache_hit);
    EXPECT_TRUE(kernel->built(0));
    EXPECT_FALSE(kernel->built(1));
    EXPECT_EQ(cache.list().size(), 1u);
    for (std::int64_t round = 0; round < Tuner::runs_to_settle; ++round) {
      EXPECT_TRUE(laplacian_matches(*kernel, 8, 8, 8, -6.0));
      EXPECT_TRUE(laplacian_matches(*kernel, 8, 8, 8, -6.0));
    }
    EXPECT_TRUE(kernel->built(1));
    EXPECT_EQ(cache.list().size(), 2u);
  }
  TuningDatabase db(dir.path() / "tuning.sqlite");
  KernelCompiler compiler(*registry, &cache, &db);
  auto kernel = compiler.compile(psir, "openmp", nullptr, true);
  const auto stats = db.stats({kernel->key(), "f64[8,8,8]", tuning_platform()});
  ASSERT_EQ(stats.size(), 2u);
  const std::size_t best = stats.at("plain").best <= stats.at("unrolled2").best ? 0 : 1;
  EXPECT_TRUE(kernel->build_first("f64[8,8,8]", args).cache_hit);
  EXPECT_TRUE(kernel->built(best));
  EXPECT_FALSE(kernel->built(1 - best));
  EXPECT_TRUE(laplacian_matches(*kernel, 8, 8, 8, -6.0));
  EXPECT_FALSE(kernel->built(1 - best));
}

TEST(KernelCompiler, AspDumpWritesThePsirAndTheSource) {
  asp::test::TempDir dir;
  const auto dump = dir.path() / "dump";
  auto registry = registry_with(dir, "orc", "dump: " + dump.string() + "\n");
  KernelCompiler(*registry, nullptr, nullptr).compile(text_of({asp::test::sum_reduction()}), "pthreads");
  std::ifstream psir(dump / "sum_reduction.pthreads.psir"), source(dump / "sum_reduction.pthreads.c");
  std::stringstream psir_text, source_text;
  psir_text << psir.rdbuf();
  source_text << source.rdbuf();
  EXPECT_EQ(psir_text.str(), text_of({asp::test::sum_reduction()}));
  EXPECT_THAT(source_text.str(), HasSubstr("int asp_entry_sum_reduction(void* const* args)"));
}

TEST(KernelCompiler, NoVariantRunnableIsAnError) {
  asp::test::TempDir dir;
  auto registry = registry_with(dir, "orc");
  KernelCompiler compiler(*registry, nullptr, nullptr);
  auto f = asp::test::laplacian3d();
  f.requires_ = asp::psir::binary(asp::psir::BinaryOp::gt, asp::test::n("n0"), asp::psir::i64(1000));
  auto kernel = compiler.compile(text_of({f}), "openmp");
  std::int64_t n = 4;
  std::vector<double> in(64), out(64);
  void* args[] = {in.data(), out.data(), &n, &n, &n};
  EXPECT_THROW(kernel->run("s", args), std::runtime_error);
}

// DESIGN.md §6: several processes specializing the same kernels into one empty
// cache at the same time all get correct results, and the cache ends with
// exactly one valid entry per kernel.
TEST(KernelCompiler, EightProcessesShareOneCache) {
  asp::test::TempDir dir;
  const auto cache_dir = dir.path() / "cache";
  auto layer = dir.write("jit.yaml", "backends:\n  openmp:\n    jit: orc\n");
  constexpr int kernels = 20;
  const int failed = asp::test::run_processes(8, [&](int) {
    Diagnostics diagnostics;
    auto registry = Registry::load(asp::test::load_files({ASP_TEST_DEFAULT_CONFIG, layer}, diagnostics), diagnostics);
    CodeCache cache(cache_dir);
    KernelCompiler compiler(*registry, &cache, nullptr);
    for (int k = 0; k < kernels; ++k) {
      const double centre = -6.0 + 0.25 * k;
      const auto f = asp::test::laplacian3d("laplacian3d", centre);
      auto kernel = compiler.compile(text_of({f}), "openmp");
      if (!laplacian_matches(*kernel, 6, 7, 8, centre)) return false;
    }
    return true;
  });
  EXPECT_EQ(failed, 0);
  CodeCache cache(cache_dir);
  const auto entries = cache.list();
  EXPECT_EQ(entries.size(), static_cast<size_t>(kernels));
  for (const auto& e : entries) EXPECT_EQ(e.problem, "") << e.key;
}

}  // namespace
