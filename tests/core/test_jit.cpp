// Both JIT drivers turn C into callable code with Python's float64 semantics
// (no contraction, libm's functions), run OpenMP on several threads, report
// rejected sources with the saved source, and load what compile() produced
// in another driver instance (the code cache's hit path).
#include "asp/core/jit.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <stdlib.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <ostream>
#include <future>
#include <set>
#include <thread>
#include <vector>

namespace {

using asp::core::CompileError;
using asp::core::CompileRequest;
using asp::core::JitDriver;
using asp::core::LoadedCode;

std::unique_ptr<JitDriver> system_driver(std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"-O2", "-march=native", "-shared", "-fPIC"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return asp::core::make_system_driver("cc", std::move(flags));
}

struct DriverKind {
  std::string name;
  std::function<std::unique_ptr<JitDriver>()> make;
};

// Names the parameter in test listings (ctest shows it after the test name).
void PrintTo(const DriverKind& kind, std::ostream* out) { *out << kind.name; }

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }

// Inputs where a*b+c rounded twice differs from the fused a*b+c rounded once:
// a*b = 1 - 2^-60 rounds to 1, so the unfused sum is 0 and the fused one -2^-60.
struct MulAdd {
  double a = 1.0 + std::ldexp(1.0, -30);
  double b = 1.0 - std::ldexp(1.0, -30);
  double c = -1.0;
  double unfused() const {
    volatile double product = a * b;  // volatile: the test's own compiler must not fuse either
    return product + c;
  }
  double fused() const { return std::fma(a, b, c); }
};

const char* const kMulAdd = "double muladd(double a, double b, double c) { return a * b + c; }\n";

const char* const kOpenMp = R"(#include <omp.h>
double total(const double* x, long n) {
  double s = 0.0;
#pragma omp parallel for reduction(+:s)
  for (long i = 0; i < n; ++i) s += x[i];
  return s;
}
int team_size(void) {
  int n = 0;
#pragma omp parallel
  {
#pragma omp single
    n = omp_get_num_threads();
  }
  return n;
}
void thread_ids(int* ids, int n) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; ++i) ids[i] = omp_get_thread_num();
}
)";

using Total = double(const double*, long);
using TeamSize = int();
using ThreadIds = void(int*, int);

// A million values whose sum is exact in any order: i % 10 summed is 4.5e6.
std::vector<double> million() {
  std::vector<double> x(1'000'000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i % 10);
  return x;
}

class JitDriverTest : public ::testing::TestWithParam<DriverKind> {
 protected:
  CompileRequest request(std::string source, bool openmp = false, std::vector<std::string> flags = {}) const {
    return CompileRequest{std::move(source), "test_kernel", openmp, std::move(flags), dir.path() / "failed"};
  }
  std::shared_ptr<LoadedCode> build(std::string source, bool openmp = false, std::vector<std::string> flags = {}) const {
    return driver->load(driver->compile(request(std::move(source), openmp, std::move(flags))), {});
  }
  template <class F>
  static F* entry(const LoadedCode& code, const std::string& name) {
    return reinterpret_cast<F*>(code.symbol(name));
  }

  asp::test::TempDir dir;
  std::unique_ptr<JitDriver> driver = GetParam().make();
};

TEST_P(JitDriverTest, CompilesAndCallsFunctions) {
  EXPECT_EQ(driver->name(), GetParam().name);
  EXPECT_EQ(driver->artifact_kind(), GetParam().name == "orc" ? "object" : "shared-library");
  const auto code = build(R"(#include <stdint.h>
#include <stddef.h>
double add(double a, double b) { return a + b; }
int64_t twice(int64_t x) { return 2 * x; }
size_t width(void) { return sizeof(int32_t); }
static double hidden_helper(double x) { return x; }
double via_helper(double x) { return hidden_helper(x); }
)");
  auto* add = entry<double(double, double)>(*code, "add");
  auto* twice = entry<std::int64_t(std::int64_t)>(*code, "twice");
  auto* width = entry<std::size_t()>(*code, "width");
  ASSERT_NE(add, nullptr);
  ASSERT_NE(twice, nullptr);
  ASSERT_NE(width, nullptr);
  EXPECT_EQ(add(1.5, 2.25), 3.75);
  EXPECT_EQ(twice(std::int64_t{1} << 40), std::int64_t{1} << 41);
  EXPECT_EQ(width(), 4u);
  EXPECT_EQ(code->symbol("no_such_function"), nullptr);
  EXPECT_EQ(code->symbol("hidden_helper"), nullptr);
}

TEST_P(JitDriverTest, MathIsBitwiseEqualToTheCppLibrary) {
  const auto code = build(R"(#include <math.h>
double root(double x) { return __builtin_sqrt(x); }
double expo(double x) { return exp(x); }
double logarithm(double x) { return log(x); }
)");
  auto* root = entry<double(double)>(*code, "root");
  auto* expo = entry<double(double)>(*code, "expo");
  auto* logarithm = entry<double(double)>(*code, "logarithm");
  ASSERT_NE(root, nullptr);
  ASSERT_NE(expo, nullptr);
  ASSERT_NE(logarithm, nullptr);
  for (double x : {1e-300, 0.1, 0.5, 0.7071067811865476, 1.0, 1.7, 2.0, 3.3, 10.0, 123.456, 700.0, 1e300}) {
    const volatile double input = x;  // computed at run time on both sides, never constant-folded
    EXPECT_EQ(bits(root(input)), bits(std::sqrt(input))) << x;
    EXPECT_EQ(bits(expo(input)), bits(std::exp(input))) << x;
    EXPECT_EQ(bits(logarithm(input)), bits(std::log(input))) << x;
    EXPECT_EQ(bits(expo(-input)), bits(std::exp(-input))) << x;
  }
}

TEST_P(JitDriverTest, NoContraction) {
  const MulAdd m;
  ASSERT_NE(bits(m.fused()), bits(m.unfused()));  // the inputs tell fused from unfused
  const auto code = build(kMulAdd);
  auto* muladd = entry<double(double, double, double)>(*code, "muladd");
  ASSERT_NE(muladd, nullptr);
  EXPECT_EQ(bits(muladd(m.a, m.b, m.c)), bits(m.unfused()));
}

TEST_P(JitDriverTest, ContractionIsAnExplicitOptIn) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("fma")) GTEST_SKIP() << "this CPU has no FMA instruction";
  const MulAdd m;
  const auto code = build(kMulAdd, false, {"-ffp-contract=fast"});
  auto* muladd = entry<double(double, double, double)>(*code, "muladd");
  ASSERT_NE(muladd, nullptr);
  EXPECT_EQ(bits(muladd(m.a, m.b, m.c)), bits(m.fused()));
}

TEST_P(JitDriverTest, OpenMpReducesAMillionElements) {
  const auto code = build(kOpenMp, true);
  auto* total = entry<Total>(*code, "total");
  ASSERT_NE(total, nullptr);
  const auto x = million();
  EXPECT_EQ(total(x.data(), static_cast<long>(x.size())), 4.5e6);
}

TEST_P(JitDriverTest, OpenMpRunsOnSeveralThreads) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "fewer than 2 hardware threads";
  const auto code = build(kOpenMp, true);
  auto* team_size = entry<TeamSize>(*code, "team_size");
  auto* thread_ids = entry<ThreadIds>(*code, "thread_ids");
  ASSERT_NE(team_size, nullptr);
  ASSERT_NE(thread_ids, nullptr);
  EXPECT_GT(team_size(), 1);
  std::vector<int> ids(10'000, -1);
  thread_ids(ids.data(), static_cast<int>(ids.size()));
  EXPECT_GT(std::set<int>(ids.begin(), ids.end()).size(), 1u);
}

// OpenMP runtimes keep worker threads after a parallel region; unloading the
// kernel must not unload the runtime those threads live in.
// The ORC driver loads a parallel region's captured variables once when nothing
// can write them while it runs; a variable the region writes, directly or
// through a pointer, must still be read afresh.
TEST_P(JitDriverTest, OpenMpRegionsSeeTheirOwnWrites) {
  const auto code = build(R"(
long through_pointer(long n) {
  long v = 1, out = 0, step = n;
  long* p = &v;
#pragma omp parallel num_threads(1)
  {
    *p = 5 + step;
    out = v;
  }
  return out;
}
long counted(long n) {
  long count = 0;
  const long step = 3;
#pragma omp parallel num_threads(2)
  {
#pragma omp atomic
    count += step;
  }
  return count + n - n;
}
double scaled_sum(const double* x, long n, double scale) {
  double s = 0.0;
#pragma omp parallel for reduction(+:s)
  for (long i = 0; i < n; ++i) s += scale * x[i];
  return s;
}
)", true);
  EXPECT_EQ(entry<long(long)>(*code, "through_pointer")(2), 7);
  const long count = entry<long(long)>(*code, "counted")(0);
  EXPECT_TRUE(count == 3 || count == 6) << count;  // one or two threads, each adds once
  const auto x = million();
  EXPECT_EQ(entry<double(const double*, long, double)>(*code, "scaled_sum")(x.data(), static_cast<long>(x.size()), 2.0),
            9e6);
}

TEST_P(JitDriverTest, OpenMpKernelsUnloadSafely) {
  const auto x = million();
  for (int round = 0; round < 3; ++round) {
    const auto code = build(kOpenMp + std::string(round, ' '), true);
    auto* total = entry<Total>(*code, "total");
    ASSERT_NE(total, nullptr);
    EXPECT_EQ(total(x.data(), static_cast<long>(x.size())), 4.5e6);
  }
  const auto code = build(kOpenMp, true);
  auto* team_size = entry<TeamSize>(*code, "team_size");
  ASSERT_NE(team_size, nullptr);
  EXPECT_GE(team_size(), 1);
}

TEST_P(JitDriverTest, RejectedSourceIsACompileErrorWithTheSavedSource) {
  const std::string source = "double broken(double x) { return x + ; }\n";
  try {
    driver->compile(request(source));
    FAIL() << "compiled a syntax error";
  } catch (const CompileError& e) {
    EXPECT_NE(e.log().find("error"), std::string::npos) << e.log();
    EXPECT_NE(e.log().find("expected expression"), std::string::npos) << e.log();
    EXPECT_NE(std::string(e.what()).find("expected expression"), std::string::npos) << e.what();
    ASSERT_TRUE(std::filesystem::is_regular_file(e.source_path())) << e.source_path();
    EXPECT_EQ(e.source_path().parent_path(), dir.path() / "failed");
    EXPECT_NE(e.source_path().filename().string().find("test_kernel"), std::string::npos);
    std::ifstream saved(e.source_path());
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(saved), {}), source);
    EXPECT_NE(std::string(e.what()).find(e.source_path().string()), std::string::npos) << e.what();
  }
}

// Kernel names become file names the compiler sees; none can pass for a flag or a path.
TEST_P(JitDriverTest, KernelNamesAreNotFlagsOrPaths) {
  for (std::string name : {"-O0", "../escape", "a b/c", ""}) {
    auto r = request("int f(void) { return 1 }\n");
    r.name = name;
    try {
      driver->compile(r);
      FAIL() << "compiled a syntax error";
    } catch (const CompileError& e) {
      EXPECT_EQ(e.source_path().parent_path(), dir.path() / "failed") << name;
      EXPECT_NE(e.log().find("expected"), std::string::npos) << name << ": " << e.log();
    }
  }
}

TEST_P(JitDriverTest, AFreshDriverLoadsCompiledBytes) {
  const auto artifact = driver->compile(request("double add(double a, double b) { return a + b; }\n"));
  const auto fresh = GetParam().make();
  EXPECT_EQ(fresh->identity(), driver->identity());
  EXPECT_FALSE(fresh->identity().empty());
  const auto code = fresh->load(artifact, {});
  auto* add = entry<double(double, double)>(*code, "add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add(0.5, 0.25), 0.75);
}

TEST_P(JitDriverTest, LoadsFromACacheFile) {
  const auto artifact = driver->compile(request("double add(double a, double b) { return a + b; }\n"));
  // A code cache entry: the artifact followed by a trailer that loaders ignore.
  const auto file = dir.write("entry.bin", artifact + std::string("ASP-TRAILER checksum 0123456789abcdef\n"));
  const auto code = GetParam().make()->load(artifact, file);
  auto* add = entry<double(double, double)>(*code, "add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add(2.0, 3.0), 5.0);
}

TEST_P(JitDriverTest, KernelsWithTheSameNamesStayApart) {
  const auto one = build("int value(void) { return 1; }\n");
  const auto two = build("int value(void) { return 2; }\n");
  auto* first = entry<int()>(*one, "value");
  auto* second = entry<int()>(*two, "value");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first(), 1);
  EXPECT_EQ(second(), 2);
}

// A reference nothing defines fails load(), naming the symbol, before any call.
TEST_P(JitDriverTest, UnresolvedSymbolFailsLoad) {
  const auto artifact = driver->compile(request(R"(double asp_test_undefined_function(double);
double calls_it(double x) { return asp_test_undefined_function(x); }
)"));
  try {
    driver->load(artifact, {});
    FAIL() << "loaded code with an unresolved symbol";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("asp_test_undefined_function"), std::string::npos) << e.what();
  }
}

TEST_P(JitDriverTest, GarbageIsNotLoaded) {
  EXPECT_THROW(driver->load("this is not an object file", {}), std::exception);
}

// Kernels are specialized from several Python threads at once.
TEST_P(JitDriverTest, CompilesAndLoadsFromSeveralThreads) {
  std::vector<std::future<int>> results;
  for (int i = 0; i < 4; ++i)
    results.push_back(std::async(std::launch::async, [this, i] {
      const auto code = build("int value(void) { return " + std::to_string(i) + "; }\n");
      auto* value = entry<int()>(*code, "value");
      return value != nullptr ? value() : -1;
    }));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(results[i].get(), i);
}

INSTANTIATE_TEST_SUITE_P(Drivers, JitDriverTest,
                         ::testing::Values(DriverKind{"orc", [] { return asp::core::make_orc_driver(); }},
                                           DriverKind{"system", [] { return system_driver(); }}),
                         [](const auto& info) { return info.param.name; });

// An internal error of the in-process clang ends that compile, not the process:
// it comes back as a CompileError with what clang said, and the next compile works.
class OrcCrashTest : public ::testing::Test {
 protected:
  CompileRequest request(std::string source) const {
    return CompileRequest{std::move(source), "crashing_kernel", false, {}, dir.path() / "failed"};
  }
  // A normal compile, load and call after the crash: clang and the JIT still work.
  void expect_a_normal_compile_works() const {
    const auto code = driver->load(driver->compile(request("double twice(double x) { return 2.0 * x; }\n")), {});
    auto* twice = reinterpret_cast<double (*)(double)>(code->symbol("twice"));
    ASSERT_NE(twice, nullptr);
    EXPECT_EQ(twice(21.0), 42.0);
  }

  asp::test::TempDir dir;
  std::unique_ptr<JitDriver> driver = asp::core::make_orc_driver();
};

TEST_F(OrcCrashTest, ACrashInClangIsACompileError) {
  // A warning first, so that the log shows clang's output up to the crash.
  const std::string source =
      "int unused_result(int x) { x == 1; return x; }\n#pragma clang __debug parser_crash\nint after(void);\n";
  try {
    driver->compile(request(source));
    FAIL() << "clang did not crash";
  } catch (const CompileError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("clang crashed with signal"), std::string::npos) << what;
    EXPECT_NE(e.log().find("equality comparison result unused"), std::string::npos) << e.log();
    EXPECT_NE(e.log().find("internal error of clang"), std::string::npos) << e.log();
    ASSERT_TRUE(std::filesystem::is_regular_file(e.source_path())) << e.source_path();
    std::ifstream saved(e.source_path());
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(saved), {}), source);
  }
  expect_a_normal_compile_works();
  // And a second crash is caught as well as the first.
  EXPECT_THROW(driver->compile(request("#pragma clang __debug parser_crash\n")), CompileError);
  expect_a_normal_compile_works();
}

TEST_F(OrcCrashTest, AFatalLlvmErrorIsACompileError) {
  try {
    driver->compile(request("#pragma clang __debug llvm_fatal_error\nint f(void) { return 1; }\n"));
    FAIL() << "clang did not stop";
  } catch (const CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("LLVM ERROR: #pragma clang __debug llvm_fatal_error"), std::string::npos)
        << e.what();
    EXPECT_NE(e.log().find("LLVM ERROR"), std::string::npos) << e.log();
  }
  expect_a_normal_compile_works();
}

// The test-only switch that Python's tests use to crash clang in a kernel's compile.
TEST_F(OrcCrashTest, TheTestSwitchCrashesEveryCompileWhileSet) {
  setenv("ASP_TEST_CRASH_CLANG", "parser_crash", 1);
  try {
    driver->compile(request("double twice(double x) { return 2.0 * x; }\n"));
    unsetenv("ASP_TEST_CRASH_CLANG");
    FAIL() << "clang did not crash";
  } catch (const CompileError& e) {
    unsetenv("ASP_TEST_CRASH_CLANG");
    EXPECT_NE(std::string(e.what()).find("clang crashed"), std::string::npos) << e.what();
    EXPECT_NE(e.log().find("ASP_TEST_CRASH_CLANG"), std::string::npos) << e.log();
  }
  setenv("ASP_TEST_CRASH_CLANG", "anything else", 1);
  expect_a_normal_compile_works();
  unsetenv("ASP_TEST_CRASH_CLANG");
}

// Work on several threads while one of them crashes clang: only that compile fails.
TEST_F(OrcCrashTest, ACrashOnOneThreadLeavesTheOthersAlone) {
  std::vector<std::future<bool>> results;
  for (int i = 0; i < 4; ++i) {
    results.push_back(std::async(std::launch::async, [this, i] {
      const std::string source = i == 0 ? "#pragma clang __debug parser_crash\n"
                                        : "double add" + std::to_string(i) + "(double a) { return a + 1.0; }\n";
      try {
        driver->load(driver->compile(request(source)), {});
        return true;
      } catch (const CompileError&) {
        return false;
      }
    }));
  }
  EXPECT_FALSE(results[0].get());
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(results[i].get()) << i;
}

TEST(JitDriverIdentity, NamesCompilerTargetAndFlags) {
  const auto orc = asp::core::make_orc_driver()->identity();
  EXPECT_EQ(orc.rfind("clang 16.", 0), 0u) << orc;
  EXPECT_NE(orc.find("-ffp-contract=off"), std::string::npos) << orc;
  const auto system = system_driver()->identity();
  EXPECT_NE(system.find("/cc | "), std::string::npos) << system;
  EXPECT_NE(system.find("-march=native"), std::string::npos) << system;
  EXPECT_NE(system.find("-ffp-contract=off"), std::string::npos) << system;
}

TEST(SystemDriver, KeepsAConfiguredContractionFlag) {
  const auto identity = system_driver({"-ffp-contract=fast"})->identity();
  EXPECT_NE(identity.find("-ffp-contract=fast"), std::string::npos) << identity;
  EXPECT_EQ(identity.find("-ffp-contract=off"), std::string::npos) << identity;
}

TEST(SystemDriver, MissingCompilerIsAClearCompileError) {
  const auto driver = asp::core::make_system_driver("asp-no-such-compiler", {"-shared", "-fPIC"});
  try {
    driver->compile(CompileRequest{"int f(void) { return 0; }\n", "f", false, {}, {}});
    FAIL() << "compiled without a compiler";
  } catch (const CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("'asp-no-such-compiler' not found"), std::string::npos) << e.what();
  }
  EXPECT_THROW(driver->identity(), CompileError);
}

// The system driver's own temporary files (the source, the library, the copy
// load() makes when there is no cache file) are gone once it returns.
TEST(SystemDriver, LeavesNoTemporaryFiles) {
  asp::test::TempDir tmp;
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old != nullptr ? old : "";
  setenv("TMPDIR", tmp.path().c_str(), 1);
  const auto driver = system_driver();
  const auto code = driver->load(driver->compile(CompileRequest{"int f(void) { return 7; }\n", "f", false, {}, {}}), {});
  if (old != nullptr)
    setenv("TMPDIR", saved.c_str(), 1);
  else
    unsetenv("TMPDIR");
  auto* f = reinterpret_cast<int (*)()>(code->symbol("f"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f(), 7);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

// gcc's code runs on libgomp, clang's on libomp: both runtimes in one process,
// kernels of both running at the same time. The system kernel loads first, so
// its GOMP_* calls bind to libgomp before libomp is in the process.
TEST(JitDrivers, LibompAndLibgompCoexist) {
  const CompileRequest request{kOpenMp, "coexist", true, {}, {}};
  const auto gcc = system_driver();
  const auto gcc_code = gcc->load(gcc->compile(request), {});
  const auto orc = asp::core::make_orc_driver();
  const auto orc_code = orc->load(orc->compile(request), {});

  for (const char* runtime : {"libgomp.so.1", "libomp.so.5"}) {
    void* handle = dlopen(runtime, RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(handle, nullptr) << runtime << " is not loaded";
    if (handle != nullptr) dlclose(handle);
  }

  const auto x = million();
  const auto run = [&x](const LoadedCode& code) {
    auto* total = reinterpret_cast<Total*>(code.symbol("total"));
    auto* team_size = reinterpret_cast<TeamSize*>(code.symbol("team_size"));
    if (total == nullptr || team_size == nullptr) return std::make_pair(-1.0, -1);
    double sum = 0;
    for (int i = 0; i < 20; ++i) sum += total(x.data(), static_cast<long>(x.size()));
    return std::make_pair(sum, team_size());
  };
  auto gcc_run = std::async(std::launch::async, run, std::cref(*gcc_code));
  auto orc_run = std::async(std::launch::async, run, std::cref(*orc_code));
  const auto [gcc_sum, gcc_team] = gcc_run.get();
  const auto [orc_sum, orc_team] = orc_run.get();
  EXPECT_EQ(gcc_sum, 20 * 4.5e6);
  EXPECT_EQ(orc_sum, 20 * 4.5e6);
  if (std::thread::hardware_concurrency() >= 2) {
    EXPECT_GT(gcc_team, 1);
    EXPECT_GT(orc_team, 1);
  }
}

// PoCL, the OpenCL CPU platform the OpenCL backend probes, brings its own
// clang and LLVM (15 on Debian 12). Neither may bind to the other's symbols:
// when they did, both freed the same objects at exit and the process crashed.
TEST(JitDrivers, CoexistWithPoclsClang) {
  void* opencl = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
  if (opencl == nullptr) GTEST_SKIP() << "no OpenCL ICD loader";
  using GetPlatformIds = std::int32_t(std::uint32_t, void**, std::uint32_t*);
  auto* get_platform_ids = reinterpret_cast<GetPlatformIds*>(dlsym(opencl, "clGetPlatformIDs"));
  ASSERT_NE(get_platform_ids, nullptr);
  std::uint32_t platforms = 0;
  get_platform_ids(0, nullptr, &platforms);  // loads every installed platform; none is fine too
  const auto driver = asp::core::make_orc_driver();
  const auto code =
      driver->load(driver->compile(CompileRequest{"double add(double a, double b) { return a + b; }\n", "pocl", false, {}, {}}), {});
  auto* add = reinterpret_cast<double (*)(double, double)>(code->symbol("add"));
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add(1.0, 2.0), 3.0);
  // The ICD loader stays: OpenCL platforms are not made to be unloaded.
}

}  // namespace
