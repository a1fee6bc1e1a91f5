// The 3-D 7-point stencil through the whole PSIR pipeline (issue: Kernel IR):
//   - cold specialization (empty code cache) for each JIT driver;
//   - warm start: a new process that finds the kernel in the disk cache;
//   - kernel time per sweep of each backend/driver next to hand-written C
//     (bench/yardsticks.c: gcc -O3 -march=native -fopenmp -ffp-contract=off).
// Run: build/bin/asp_kernel_bench   (ASP_BENCH_N sets the grid edge, default 256)
#include "asp/core/config.hpp"
#include "asp/core/kernel.hpp"

#include "../tests/plugin_api/kernels.hpp"

#include <asp/psir_text.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" void laplacian3d(const double* in, double* out, int64_t n0, int64_t n1, int64_t n2);  // yardsticks.c
extern char** environ;

namespace {

using namespace asp::core;

std::unique_ptr<Registry> registry_with_jit(const std::string& jit) {
  const Environment env = process_environment();
  Diagnostics diagnostics;
  Config config = Config::load(Config::standard_layers(env), env, diagnostics);
  auto dir = std::filesystem::temp_directory_path() / ("asp-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto layer = dir / ("jit-" + jit + ".yaml");
  FILE* f = std::fopen(layer.c_str(), "w");
  std::fprintf(f, "backends:\n  openmp:\n    jit: %s\n  pthreads:\n    jit: %s\n", jit.c_str(), jit.c_str());
  std::fclose(f);
  auto layers = Config::standard_layers(env);
  layers.push_back({layer, true});
  return Registry::load(Config::load(layers, env, diagnostics), diagnostics);
}

std::string laplacian_psir() { return asp::psir::print(asp::psir::Module{{asp::test::laplacian3d()}}); }

std::filesystem::path fresh_dir(const std::string& name) {
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("asp-bench-" + std::to_string(getpid()) + "-" + name + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  return dir;
}

void cold_specialization(benchmark::State& state, const std::string& jit) {
  auto registry = registry_with_jit(jit);
  const std::string psir = laplacian_psir();
  for (auto _ : state) {
    state.PauseTiming();
    CodeCache cache(fresh_dir("cold"));
    KernelCompiler compiler(*registry, &cache, nullptr);
    state.ResumeTiming();
    benchmark::DoNotOptimize(compiler.compile(psir, "openmp"));
    state.PauseTiming();
    std::filesystem::remove_all(cache.dir());
    state.ResumeTiming();
  }
}
BENCHMARK_CAPTURE(cold_specialization, orc, std::string("orc"))->Unit(benchmark::kMillisecond)->Iterations(10);
BENCHMARK_CAPTURE(cold_specialization, system, std::string("system"))->Unit(benchmark::kMillisecond)->Iterations(5);

// The child process of the warm-start benchmark: load the registry, find the
// kernel in the cache, bind it; prints the microseconds that took.
int warm_child(const char* jit, const char* cache_dir) {
  const auto start = std::chrono::steady_clock::now();
  auto registry = registry_with_jit(jit);
  CodeCache cache(cache_dir);
  KernelCompiler compiler(*registry, &cache, nullptr);
  KernelCompiler::Stats stats;
  compiler.compile(laplacian_psir(), "openmp", &stats);
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  std::printf("%f %d\n", us, stats.cache_hit ? 1 : 0);
  return stats.cache_hit ? 0 : 1;
}

std::string self_path() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

void warm_start(benchmark::State& state, const std::string& jit) {
  const auto dir = fresh_dir("warm");
  {
    auto registry = registry_with_jit(jit);
    CodeCache cache(dir);
    KernelCompiler(*registry, &cache, nullptr).compile(laplacian_psir(), "openmp");
  }
  double inside = 0;
  for (auto _ : state) {
    int out[2];
    if (pipe(out) != 0) state.SkipWithError("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    const std::string exe = self_path();
    std::vector<std::string> words{exe, "--warm-child", jit, dir.string()};
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
    close(out[1]);
    char text[128] = {};
    const ssize_t n = read(out[0], text, sizeof text - 1);
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    posix_spawn_file_actions_destroy(&actions);
    double us = 0;
    int hit = 0;
    if (n <= 0 || std::sscanf(text, "%lf %d", &us, &hit) != 2 || !hit || status != 0) {
      state.SkipWithError("the child did not hit the cache");
      break;
    }
    inside += us;
  }
  state.counters["in_process_ms"] = benchmark::Counter(inside / 1000.0 / static_cast<double>(state.iterations()));
  std::filesystem::remove_all(dir);
}
BENCHMARK_CAPTURE(warm_start, orc, std::string("orc"))->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(10);
BENCHMARK_CAPTURE(warm_start, system, std::string("system"))->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(10);

std::int64_t grid_edge() {
  const char* n = std::getenv("ASP_BENCH_N");
  return n ? std::atoll(n) : 256;
}

struct Grid {
  std::int64_t n = grid_edge();
  std::vector<double> in, out;
  Grid() : in(static_cast<size_t>(n * n * n)), out(in.size()) {
    std::mt19937 random(1);
    std::uniform_real_distribution<double> value(-1, 1);
    for (double& x : in) x = value(random);
  }
  void count(benchmark::State& state) const {
    // Compulsory traffic: read in, write out (plus the write-allocate read of out): 24 bytes per point.
    state.counters["GB/s"] = benchmark::Counter(24.0 * static_cast<double>(n * n * n), benchmark::Counter::kIsIterationInvariantRate);
  }
};

Grid& grid() {
  static Grid g;
  return g;
}

void kernel_time(benchmark::State& state, const std::string& backend, const std::string& jit) {
  Grid& g = grid();
  auto registry = registry_with_jit(jit);
  auto kernel = KernelCompiler(*registry, nullptr, nullptr).compile(laplacian_psir(), backend);
  std::int64_t n = g.n;
  void* args[] = {g.in.data(), g.out.data(), &n, &n, &n};
  for (auto _ : state) benchmark::DoNotOptimize(kernel->variants()[0].entry(args));
  g.count(state);
}
BENCHMARK_CAPTURE(kernel_time, openmp_orc, std::string("openmp"), std::string("orc"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(kernel_time, openmp_system, std::string("openmp"), std::string("system"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(kernel_time, pthreads_orc, std::string("pthreads"), std::string("orc"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(kernel_time, pthreads_system, std::string("pthreads"), std::string("system"))->Unit(benchmark::kMillisecond)->UseRealTime();

void hand_written_c(benchmark::State& state) {
  Grid& g = grid();
  for (auto _ : state) laplacian3d(g.in.data(), g.out.data(), g.n, g.n, g.n);
  g.count(state);
}
BENCHMARK(hand_written_c)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--warm-child") return warm_child(argv[2], argv[3]);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
