// The CUDA backend plugin through its C ABI alone, with hand-written kernels
// of the device entry convention (no dependence on the code generator).
//
// Compiling needs only NVRTC, so those tests run everywhere the toolkit is.
// Tests that need a GPU skip with "no CUDA device" where the probe finds none;
// they are written to pass on an H100.
//
// With ASP_TEST_FAKE_CUDA set (ctest runs the suite so, as fake_device.*,
// fake_no_device.* and fake_old_driver.*), the test first loads
// fake_libcuda.cpp, a stand-in driver whose soname is libcuda.so.1, so that
// the plugin's dlopen("libcuda.so.1") finds it: then the device tests run on
// any machine, against host memory and C++ twins of the kernels. The modes:
//   device      one sm_90 device, driver 13.0
//   no-device   cuInit fails with CUDA_ERROR_NO_DEVICE
//   old-driver  driver 11.8: older than any NVRTC this builds with
#include "plugin_host.hpp"

#include <cuda.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <numeric>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef ASP_TEST_CUDA_PLUGIN
#error "ASP_TEST_CUDA_PLUGIN must name the built CUDA backend plugin"
#endif
#ifndef ASP_TEST_FAKE_CUDA_LIBRARY
#error "ASP_TEST_FAKE_CUDA_LIBRARY must name the built stand-in driver"
#endif

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Two kernels of the device entry convention in one source.
constexpr const char* kTwoKernels = R"(
extern "C" __global__ void asp_entry_scale(double* x, double factor, long long n, int* asp_status) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = x[i] * factor;
}

extern "C" __global__ void asp_entry_add(const double* a, const double* b, double* out, long long n, int* asp_status) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a[i] + b[i];
}
)";

// a*b+c must stay a multiply and an add (Python rounds twice).
constexpr const char* kMultiplyAdd = R"(
extern "C" __global__ void asp_entry_muladd(double* d, const double* a, const double* b, const double* c,
                                            float* f, const float* x, const float* y, const float* z, int* asp_status) {
  unsigned i = threadIdx.x;
  d[i] = a[i] * b[i] + c[i];
  f[i] = x[i] * y[i] + z[i];
}
)";

// Reports through the status word: the out-of-bounds code for buffer parameter `which`.
constexpr const char* kStatusKernels = R"(
extern "C" __global__ void asp_entry_fail(double* x, int which, int* asp_status) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *asp_status = 2 + which;
}

extern "C" __global__ void asp_entry_fill(double* x, double value, int* asp_status) {
  x[threadIdx.x] = value;
}
)";

// Scalars of every size, and a two-dimensional grid.
constexpr const char* kScalarsAndGrid = R"(
extern "C" __global__ void asp_entry_scalars(double* out, unsigned char flag, int k, float f, long long big,
                                             double d, int* asp_status) {
  out[0] = flag;
  out[1] = k;
  out[2] = f;
  out[3] = (double)big;
  out[4] = d;
}

extern "C" __global__ void asp_entry_grid2d(int* out, int width, int* asp_status) {
  int x = blockIdx.x * blockDim.x + threadIdx.x;
  int y = blockIdx.y * blockDim.y + threadIdx.y;
  out[y * width + x] = y * 1000 + x;
}
)";

std::string run_sink(const std::function<asp_status(const asp_text_sink*)>& body, asp_status* status) {
  std::string out;
  const asp_text_sink sink = asp::test::PluginHost::sink(out);
  *status = body(&sink);
  return out;
}

// The stand-in driver's mode, or "" for the real driver (or none).
std::string fake_mode() {
  const char* mode = std::getenv("ASP_TEST_FAKE_CUDA");
  return mode ? mode : "";
}

// The stand-in driver's own counters; null without it.
struct FakeDriver {
  long (*live_allocations)() = nullptr;
  long (*launches)() = nullptr;
  long (*context_errors)() = nullptr;
};

const FakeDriver& fake_driver() {
  static const FakeDriver fake = [] {
    FakeDriver f;
    if (fake_mode().empty()) return f;
    void* library = dlopen(ASP_TEST_FAKE_CUDA_LIBRARY, RTLD_NOW | RTLD_GLOBAL);  // before the plugin asks for it
    if (library == nullptr) throw std::runtime_error(std::string("the stand-in driver: ") + dlerror());
    f.live_allocations = reinterpret_cast<long (*)()>(dlsym(library, "fake_cuda_live_allocations"));
    f.launches = reinterpret_cast<long (*)()>(dlsym(library, "fake_cuda_launches"));
    f.context_errors = reinterpret_cast<long (*)()>(dlsym(library, "fake_cuda_context_errors"));
    return f;
  }();
  return fake;
}

bool driver_library_present() {
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  return handle != nullptr;  // left open: the plugin holds it open too
}

// The plugin keeps the host table of the first host that loads it for the
// life of the process, so that host lives as long (as the core's does).
asp::test::PluginHost& shared_host() {
  static auto* host = new asp::test::PluginHost;
  return *host;
}

class CudaBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = &fake_driver();
    backend_ = host_.load_backend(ASP_TEST_CUDA_PLUGIN, "cuda");
    host_.last_status = ASP_OK;
    host_.last_error.clear();
    ASSERT_NE(backend_, nullptr);
    ASSERT_TRUE(ASP_HAS_FIELD(backend_, asp_backend, launch));
    std::string reason;
    const asp_text_sink sink = asp::test::PluginHost::sink(reason);
    asp_probe_result result{sizeof(asp_probe_result), 0, &sink};
    ASSERT_EQ(backend_->probe(backend_->self, ctx(), nullptr, &result), ASP_OK) << host_.last_error;
    available_ = result.available != 0;
    reason_ = reason;
    if (fake_mode() == "device") {
      ASSERT_TRUE(available_) << "the stand-in driver was not used: " << reason_;
      allocations_before_ = fake_->live_allocations();
    }
  }

  void TearDown() override {
    if (fake_->context_errors) {
      EXPECT_EQ(fake_->context_errors(), 0) << "a driver call ran without the primary context current";
    }
  }

  // Device memory allocated since SetUp must be freed again (only the stand-in driver counts).
  void expect_nothing_leaked() {
    if (fake_->live_allocations) {
      EXPECT_EQ(fake_->live_allocations() - allocations_before_, 0)
          << "release() and unload() free what allocate() and load() took";
    }
  }

  asp_host_context* ctx() { return host_.context(); }

  std::string target() {
    asp_status status = ASP_OK;
    std::string out = run_sink([&](const asp_text_sink* s) { return backend_->target(backend_->self, ctx(), s); }, &status);
    EXPECT_EQ(status, ASP_OK) << host_.last_error;
    return out;
  }

  // The architecture compile() targets, read from target(): "compute_90 (PTX), ..." or "sm_90 (CUBIN), ...".
  std::string architecture() {
    std::smatch match;
    const std::string text = target();
    if (!std::regex_search(text, match, std::regex(R"(^(?:compute|sm)_(\d+))"))) return "";
    return match[1];
  }
  bool compiles_ptx() { return target().find("(PTX)") != std::string::npos; }

  asp_status compile(const std::string& source, std::string& binary) {
    asp_status status = ASP_OK;
    binary = run_sink([&](const asp_text_sink* s) { return backend_->compile(backend_->self, ctx(), source.c_str(), s); },
                      &status);
    return status;
  }

  std::string compile_ok(const std::string& source) {
    std::string binary;
    EXPECT_EQ(compile(source, binary), ASP_OK) << host_.last_error;
    return binary;
  }

  std::vector<std::string> compile_every_cuda_source(const char* plugin);

  asp_device_module* load(const std::string& source) {
    const std::string binary = compile_ok(source);
    asp_device_module* module = nullptr;
    EXPECT_EQ(backend_->load(backend_->self, ctx(), binary.data(), binary.size(), &module), ASP_OK) << host_.last_error;
    return module;
  }

  asp_device_buffer* allocate(std::size_t bytes) {
    asp_device_buffer* buffer = nullptr;
    EXPECT_EQ(backend_->allocate(backend_->self, ctx(), bytes, &buffer), ASP_OK) << host_.last_error;
    return buffer;
  }

  template <class T>
  asp_device_buffer* upload(const std::vector<T>& values) {
    asp_device_buffer* buffer = allocate(values.size() * sizeof(T));
    EXPECT_EQ(backend_->copy_in(backend_->self, ctx(), buffer, values.data(), values.size() * sizeof(T)), ASP_OK)
        << host_.last_error;
    return buffer;
  }

  template <class T>
  std::vector<T> download(asp_device_buffer* buffer, std::size_t count) {
    std::vector<T> values(count);
    EXPECT_EQ(backend_->copy_out(backend_->self, ctx(), values.data(), buffer, count * sizeof(T)), ASP_OK)
        << host_.last_error;
    return values;
  }

  static asp_device_arg buffer_arg(asp_device_buffer* buffer) { return {sizeof(asp_device_arg), buffer, nullptr, 0}; }
  template <class T>
  static asp_device_arg scalar_arg(const T& value) {
    return {sizeof(asp_device_arg), nullptr, &value, sizeof(T)};
  }
  static asp_launch_config grid(uint64_t gx, uint64_t bx, uint64_t gy = 1, uint64_t by = 1) {
    return {sizeof(asp_launch_config), {gx, gy, 1}, {bx, by, 1}};
  }

  asp_status launch(asp_device_module* module, const char* function, const std::vector<asp_device_arg>& args,
                    const asp_launch_config& config, int* kernel_status) {
    return backend_->launch(backend_->self, ctx(), module, function, args.data(), args.size(), &config, kernel_status);
  }

  asp::test::PluginHost& host_ = shared_host();
  const FakeDriver* fake_ = nullptr;
  long allocations_before_ = 0;
  const asp_backend* backend_ = nullptr;
  bool available_ = false;
  std::string reason_;
};

#define REQUIRE_CUDA_DEVICE() \
  if (!available_) GTEST_SKIP() << "no CUDA device (the probe says: " << reason_ << ")"

// ---- no device needed ----------------------------------------------------------

TEST_F(CudaBackend, ProbeIsASuccessfulCallThatExplainsItself) {
  const std::string mode = fake_mode();
  if (mode == "device") {
    EXPECT_TRUE(available_);
    EXPECT_TRUE(std::regex_match(reason_, std::regex(R"(Fake CUDA Device \(sm_90, driver 13\.0, NVRTC \d+\.\d+\))")))
        << reason_;
  } else if (mode == "no-device") {
    EXPECT_FALSE(available_);
    EXPECT_EQ(reason_, "no CUDA device: cuInit failed with CUDA_ERROR_NO_DEVICE");
  } else if (mode == "old-driver") {
    EXPECT_FALSE(available_);
    EXPECT_THAT(reason_, StartsWith("the CUDA driver 11.8 is older than NVRTC "));
    EXPECT_THAT(reason_, HasSubstr("update the NVIDIA driver"));
  } else if (!driver_library_present()) {
    EXPECT_FALSE(available_);
    EXPECT_EQ(reason_, "no CUDA driver: libcuda.so.1 not found (install the NVIDIA driver)");
  } else if (!available_) {
    EXPECT_THAT(reason_, ::testing::AnyOf(StartsWith("no CUDA device"), StartsWith("no usable CUDA driver"),
                                         StartsWith("the CUDA driver"), StartsWith("NVRTC")));
  } else {
    // "NVIDIA H100 80GB HBM3 (sm_90, driver 13.0, NVRTC 13.0)"
    EXPECT_TRUE(std::regex_search(reason_, std::regex(R"(\(sm_\d+, driver \d+\.\d+, NVRTC \d+\.\d+\))"))) << reason_;
  }
  // A second probe says the same.
  std::string again;
  const asp_text_sink sink = asp::test::PluginHost::sink(again);
  asp_probe_result result{sizeof(asp_probe_result), 0, &sink};
  ASSERT_EQ(backend_->probe(backend_->self, ctx(), nullptr, &result), ASP_OK);
  EXPECT_EQ(result.available != 0, available_);
  EXPECT_EQ(again, reason_);
}

TEST_F(CudaBackend, DescribesADeviceBackend) {
  ASSERT_NE(backend_->language, nullptr);
  EXPECT_STREQ(backend_->language, "cuda-c");
  EXPECT_EQ(backend_->device_type, kDLCUDA);
  for (const void* function : {(const void*)backend_->generate, (const void*)backend_->target,
                               (const void*)backend_->compile, (const void*)backend_->load,
                               (const void*)backend_->unload, (const void*)backend_->allocate,
                               (const void*)backend_->wrap, (const void*)backend_->release,
                               (const void*)backend_->copy_in, (const void*)backend_->copy_out,
                               (const void*)backend_->launch}) {
    EXPECT_NE(function, nullptr);
  }
}

TEST_F(CudaBackend, RegistersTheGpuMapOptimizerForItself) {
  const asp_component& c = shared_host().load_component(ASP_TEST_CUDA_PLUGIN, ASP_COMPONENT_OPTIMIZER, "cuda.gpu_map");
  EXPECT_EQ(c.domain, nullptr);
  const auto* optimizer = static_cast<const asp_optimizer*>(c.vtable);
  ASSERT_NE(optimizer, nullptr);
  ASSERT_TRUE(ASP_HAS_FIELD(optimizer, asp_optimizer, backend));
  EXPECT_STREQ(optimizer->reads, "psir");
  ASSERT_NE(optimizer->backend, nullptr);
  EXPECT_STREQ(optimizer->backend, "cuda");
}

TEST_F(CudaBackend, GenerateRejectsMalformedPsir) {
  asp_status status = ASP_OK;
  const std::string out = run_sink(
      [&](const asp_text_sink* s) { return backend_->generate(backend_->self, ctx(), "this is not PSIR", s); }, &status);
  EXPECT_EQ(status, ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(host_.last_error, HasSubstr("PSIR"));
  EXPECT_TRUE(out.empty());
}

TEST_F(CudaBackend, TargetNamesArchitectureAndVersions) {
  const std::string text = target();
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(^(compute|sm)_\d+ \((PTX|CUBIN)\), NVRTC \d+\.\d+)"))) << text;
  if (available_) {
    EXPECT_THAT(text, HasSubstr(", driver "));
  } else {
    EXPECT_THAT(text, StartsWith("compute_90 (PTX), NVRTC "));
    EXPECT_THAT(text, HasSubstr("no device"));
  }
}

TEST_F(CudaBackend, CompilesTwoKernelsToPtxWithoutADevice) {
  if (!compiles_ptx()) GTEST_SKIP() << "this driver takes CUBIN: " << target();
  const auto start = std::chrono::steady_clock::now();
  const std::string ptx = compile_ok(kTwoKernels);
  const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("nvrtc_compile_ms", std::to_string(elapsed));
  ASSERT_FALSE(ptx.empty()) << host_.last_error;
  EXPECT_EQ(ptx.find('\0'), std::string::npos) << "PTX is text, without its terminating NUL";
  const std::string arch = architecture();
  if (!available_) {
    EXPECT_EQ(arch, "90");
  }
  EXPECT_THAT(ptx, HasSubstr(".target sm_" + arch));
  EXPECT_TRUE(std::regex_search(ptx, std::regex(R"(\.entry asp_entry_scale\s*\()"))) << ptx;
  EXPECT_TRUE(std::regex_search(ptx, std::regex(R"(\.entry asp_entry_add\s*\()"))) << ptx;
  EXPECT_THAT(ptx, HasSubstr(".address_size 64"));
}

// Compiles every CUDA kernel source of a plugin, each instantiation as the
// core writes it (every combination of its template parameters' values),
// with NVRTC to PTX that must define its entry; returns the instantiations.
// (No device here runs them; a lent GPU runs the domains' Python tests.)
std::vector<std::string> CudaBackend::compile_every_cuda_source(const char* plugin) {
  static auto* hosts = new std::vector<std::unique_ptr<asp::test::PluginHost>>;  // plugins keep their host
  const asp_plugin_info& info = hosts->emplace_back(std::make_unique<asp::test::PluginHost>())->load_plugin(plugin);
  std::vector<std::string> compiled;
  for (std::size_t i = 0; i < info.component_count; ++i) {
    if (info.components[i].kind != ASP_COMPONENT_KERNEL_SOURCE) continue;
    const auto* k = static_cast<const asp_kernel_source*>(info.components[i].vtable);
    if (std::string(k->language) != "cuda-c") continue;
    std::vector<std::size_t> at(k->template_param_count, 0);
    for (bool more = true; more;) {
      std::string name = k->variant, defines;
      for (std::size_t p = 0; p < k->template_param_count; ++p) {
        const std::int64_t v = k->template_params[p].values[at[p]];
        name += "_" + std::string(k->template_params[p].name) + std::to_string(v);
        defines += "#define " + std::string(k->template_params[p].name) + " (" + std::to_string(v) + "LL)\n";
      }
      const std::string ptx = compile_ok("#define ASP_VARIANT asp_entry_" + name + "\n" + defines + k->source);
      EXPECT_TRUE(std::regex_search(ptx, std::regex("\\.entry asp_entry_" + name + "\\s*\\("))) << name;
      compiled.push_back(name);
      more = false;
      for (std::size_t p = 0; p < at.size() && !more; ++p) {
        more = ++at[p] < k->template_params[p].value_count;
        if (!more) at[p] = 0;
      }
    }
  }
  return compiled;
}

// The GMM plugin: the original's M-step strategies V1, V2A, V2B, V3 and the
// other kernels, float32 and float64.
TEST_F(CudaBackend, CompilesEveryGmmKernelSource) {
  if (!compiles_ptx()) GTEST_SKIP() << "this driver takes CUBIN: " << target();
  const std::vector<std::string> compiled = compile_every_cuda_source(ASP_TEST_GMM_PLUGIN);
  // Per type: coefficients, update, em_pass, em_reduce, estep x2 (TPB), mstep V1 x2 (TPB), V2A, V2B x3 (EB), V3.
  EXPECT_EQ(compiled.size(), 2u * 13u);
  for (const char* strategy : {"mstep_v1", "mstep_v2a", "mstep_v2b", "mstep_v3"}) {
    EXPECT_TRUE(std::any_of(compiled.begin(), compiled.end(), [&](const std::string& n) { return n.starts_with(strategy); }))
        << strategy;
  }
}

// The matrix-powers plugin: SpMV and the PA1 pass, float32 and float64,
// int32 column indices, int16 offsets and the diagonal form.
TEST_F(CudaBackend, CompilesEveryAkxKernelSource) {
  if (!compiles_ptx()) GTEST_SKIP() << "this driver takes CUBIN: " << target();
  const std::vector<std::string> compiled = compile_every_cuda_source(ASP_TEST_AKX_PLUGIN);
  EXPECT_EQ(compiled.size(), 2u * 7u * 2u);  // spmv and powers, seven forms, two types
  for (const char* kernel : {"spmv_cu_f64_i32", "spmv_cu_f32_d16", "powers_cu_f64_d16", "powers_cu_f32_i32", "powers_cu_f64_dia",
                             "spmv_cu_f32_sdia", "powers_cu_f64_sdia", "spmv_cu_f64_b3x3", "powers_cu_f32_b4x4"}) {
    EXPECT_NE(std::find(compiled.begin(), compiled.end(), kernel), compiled.end()) << kernel;
  }
}

TEST_F(CudaBackend, CompileErrorCarriesTheNvrtcLog) {
  const std::string source =
      "extern \"C\" __global__ void asp_entry_broken(double* x, int* asp_status) {\n"
      "  x[0] = 1.0;\n"
      "  x[1] = not_declared_anywhere;\n"
      "}\n";
  std::string binary;
  EXPECT_EQ(compile(source, binary), ASP_ERR_COMPILE);
  EXPECT_TRUE(binary.empty());
  EXPECT_THAT(host_.last_error, HasSubstr("not_declared_anywhere"));
  EXPECT_THAT(host_.last_error, HasSubstr("(3): error"));  // the offending line, as NVRTC numbers it
  EXPECT_THAT(host_.last_error, HasSubstr("x[1] = not_declared_anywhere;"));  // and quotes it
  EXPECT_THAT(host_.last_error, HasSubstr("NVRTC"));
}

TEST_F(CudaBackend, CompileKeepsMultiplyAndAddApart) {
  if (!compiles_ptx()) GTEST_SKIP() << "this driver takes CUBIN: " << target();
  const std::string ptx = compile_ok(kMultiplyAdd);
  ASSERT_FALSE(ptx.empty());
  EXPECT_THAT(ptx, Not(HasSubstr("fma.")));
  EXPECT_THAT(ptx, Not(HasSubstr("mad.")));
  EXPECT_THAT(ptx, HasSubstr("mul.rn.f64"));
  EXPECT_THAT(ptx, HasSubstr("add.rn.f64"));
  EXPECT_THAT(ptx, HasSubstr("mul.rn.f32"));
  EXPECT_THAT(ptx, HasSubstr("add.rn.f32"));
}

TEST_F(CudaBackend, CompilesFromSeveralThreadsAtOnce) {
  std::vector<std::string> results(3);
  std::vector<std::thread> threads;
  for (std::string& result : results) {
    threads.emplace_back([&] {
      asp::test::PluginHost host;  // its own context (errors land there), as another calling thread would have
      std::string out;
      const asp_text_sink sink = asp::test::PluginHost::sink(out);
      if (backend_->compile(backend_->self, host.context(), kTwoKernels, &sink) == ASP_OK) result = out;
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& result : results) {
    EXPECT_FALSE(result.empty());
    EXPECT_EQ(result, results[0]);
  }
}

TEST_F(CudaBackend, DeviceCallsWithoutADeviceFailCleanly) {
  if (available_) GTEST_SKIP() << "a CUDA device is present";
  asp_device_buffer* buffer = nullptr;
  EXPECT_EQ(backend_->allocate(backend_->self, ctx(), 16, &buffer), ASP_ERR_RUNTIME);
  EXPECT_EQ(buffer, nullptr);
  EXPECT_EQ(host_.last_error, reason_);
  const std::string ptx = compile_ok(kTwoKernels);
  asp_device_module* module = nullptr;
  EXPECT_EQ(backend_->load(backend_->self, ctx(), ptx.data(), ptx.size(), &module), ASP_ERR_RUNTIME);
  EXPECT_EQ(module, nullptr);
  EXPECT_EQ(host_.last_error, reason_);
}

// ---- a device needed -------------------------------------------------------------

TEST_F(CudaBackend, LoadsAndLaunchesKernels) {
  REQUIRE_CUDA_DEVICE();
  asp_device_module* module = load(kTwoKernels);
  ASSERT_NE(module, nullptr);
  const long long n = 1000;
  std::vector<double> a(n), b(n);
  std::iota(a.begin(), a.end(), 0.0);
  std::iota(b.begin(), b.end(), 0.5);
  asp_device_buffer* da = upload(a);
  asp_device_buffer* db = upload(b);
  asp_device_buffer* dout = allocate(n * sizeof(double));

  int kernel_status = -1;
  ASSERT_EQ(launch(module, "add", {buffer_arg(da), buffer_arg(db), buffer_arg(dout), scalar_arg(n)},
                   grid((n + 127) / 128, 128), &kernel_status),
            ASP_OK)
      << host_.last_error;
  EXPECT_EQ(kernel_status, ASP_C_OK);
  const std::vector<double> sum = download<double>(dout, n);
  for (long long i = 0; i < n; ++i) ASSERT_EQ(sum[i], a[i] + b[i]) << i;

  const double factor = 3.0;
  ASSERT_EQ(launch(module, "scale", {buffer_arg(dout), scalar_arg(factor), scalar_arg(n)}, grid((n + 63) / 64, 64),
                   &kernel_status),
            ASP_OK)
      << host_.last_error;
  const std::vector<double> scaled = download<double>(dout, n);
  for (long long i = 0; i < n; ++i) ASSERT_EQ(scaled[i], (a[i] + b[i]) * 3.0) << i;

  for (asp_device_buffer* buffer : {da, db, dout}) backend_->release(backend_->self, buffer);
  backend_->unload(backend_->self, module);
  expect_nothing_leaked();
}

TEST_F(CudaBackend, CopiesRoundTripAndCheckSizes) {
  REQUIRE_CUDA_DEVICE();
  std::vector<std::uint8_t> bytes(4097);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7);
  asp_device_buffer* buffer = upload(bytes);
  EXPECT_EQ(download<std::uint8_t>(buffer, bytes.size()), bytes);
  std::vector<std::uint8_t> too_many(bytes.size() + 1);
  EXPECT_EQ(backend_->copy_in(backend_->self, ctx(), buffer, too_many.data(), too_many.size()), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(backend_->copy_out(backend_->self, ctx(), too_many.data(), buffer, too_many.size()), ASP_ERR_INVALID_ARGUMENT);
  backend_->release(backend_->self, buffer);

  asp_device_buffer* empty = allocate(0);  // at least one byte behind it
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(backend_->copy_in(backend_->self, ctx(), empty, bytes.data(), 0), ASP_OK);
  backend_->release(backend_->self, empty);
}

TEST_F(CudaBackend, ReturnsTheStatusWordZeroedForEachLaunch) {
  REQUIRE_CUDA_DEVICE();
  asp_device_module* module = load(kStatusKernels);
  ASSERT_NE(module, nullptr);
  asp_device_buffer* x = allocate(32 * sizeof(double));
  int kernel_status = -1;
  const int which = 1;
  ASSERT_EQ(launch(module, "fail", {buffer_arg(x), scalar_arg(which)}, grid(4, 32), &kernel_status), ASP_OK)
      << host_.last_error;
  EXPECT_EQ(kernel_status, ASP_C_OUT_OF_BOUNDS + 1);
  const double value = 2.5;
  ASSERT_EQ(launch(module, "fill", {buffer_arg(x), scalar_arg(value)}, grid(1, 32), &kernel_status), ASP_OK)
      << host_.last_error;
  EXPECT_EQ(kernel_status, ASP_C_OK);
  EXPECT_EQ(download<double>(x, 32), std::vector<double>(32, 2.5));
  backend_->release(backend_->self, x);
  backend_->unload(backend_->self, module);
  expect_nothing_leaked();
}

// ABI 1.3's statuses use the whole int (bit 30 and the source line): the word comes back as it was.
TEST_F(CudaBackend, ReturnsAPythonErrorStatusWhole) {
  REQUIRE_CUDA_DEVICE();
  asp_device_module* module = load(kStatusKernels);
  ASSERT_NE(module, nullptr);
  asp_device_buffer* x = allocate(32 * sizeof(double));
  const int status = ASP_C_PYTHON_ERROR_STATUS(ASP_C_MATH_DOMAIN, ASP_C_OP_SQRT, 12345);
  const int which = status - 2;  // "fail" stores 2 + which
  int kernel_status = -1;
  ASSERT_EQ(launch(module, "fail", {buffer_arg(x), scalar_arg(which)}, grid(4, 32), &kernel_status), ASP_OK)
      << host_.last_error;
  EXPECT_EQ(kernel_status, status);
  EXPECT_EQ(ASP_C_PYTHON_LINE_OF(kernel_status), 12345u);
  const double value = 1.0;
  ASSERT_EQ(launch(module, "fill", {buffer_arg(x), scalar_arg(value)}, grid(1, 32), &kernel_status), ASP_OK);
  EXPECT_EQ(kernel_status, ASP_C_OK);  // zeroed again for the next launch
  backend_->release(backend_->self, x);
  backend_->unload(backend_->self, module);
  expect_nothing_leaked();
}

TEST_F(CudaBackend, ZeroGridLaunchesNothing) {
  REQUIRE_CUDA_DEVICE();
  asp_device_module* module = load(kStatusKernels);
  ASSERT_NE(module, nullptr);
  asp_device_buffer* x = upload(std::vector<double>(32, 1.0));
  const double value = 9.0;
  int kernel_status = -1;
  const long launches_before = fake_->launches ? fake_->launches() : 0;
  ASSERT_EQ(launch(module, "fill", {buffer_arg(x), scalar_arg(value)}, grid(0, 32), &kernel_status), ASP_OK)
      << host_.last_error;
  EXPECT_EQ(kernel_status, ASP_C_OK);
  kernel_status = -1;
  ASSERT_EQ(launch(module, "fill", {buffer_arg(x), scalar_arg(value)}, grid(1, 0), &kernel_status), ASP_OK)
      << host_.last_error;
  EXPECT_EQ(kernel_status, ASP_C_OK);
  EXPECT_EQ(download<double>(x, 32), std::vector<double>(32, 1.0));
  if (fake_->launches) {
    EXPECT_EQ(fake_->launches(), launches_before);
  }
  // An unknown kernel is still an error, grid or none.
  EXPECT_EQ(launch(module, "missing", {buffer_arg(x)}, grid(0, 32), &kernel_status), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(host_.last_error, HasSubstr("asp_entry_missing"));
  backend_->release(backend_->self, x);
  backend_->unload(backend_->self, module);
}

TEST_F(CudaBackend, PassesScalarsOfEverySizeAndTwoDimensionalGrids) {
  REQUIRE_CUDA_DEVICE();
  asp_device_module* module = load(kScalarsAndGrid);
  ASSERT_NE(module, nullptr);
  asp_device_buffer* out = allocate(5 * sizeof(double));
  const std::uint8_t flag = 1;
  const int k = -7;
  const float f = 0.25f;
  const long long big = (1LL << 40) + 3;
  const double d = -1.5e300;
  int kernel_status = -1;
  ASSERT_EQ(launch(module, "scalars",
                   {buffer_arg(out), scalar_arg(flag), scalar_arg(k), scalar_arg(f), scalar_arg(big), scalar_arg(d)},
                   grid(1, 1), &kernel_status),
            ASP_OK)
      << host_.last_error;
  EXPECT_EQ(download<double>(out, 5), (std::vector<double>{1.0, -7.0, 0.25, double(big), d}));
  backend_->release(backend_->self, out);

  const int width = 64, height = 24;
  asp_device_buffer* cells = allocate(width * height * sizeof(int));
  ASSERT_EQ(launch(module, "grid2d", {buffer_arg(cells), scalar_arg(width)}, grid(width / 16, 16, height / 8, 8),
                   &kernel_status),
            ASP_OK)
      << host_.last_error;
  const std::vector<int> values = download<int>(cells, width * height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) ASSERT_EQ(values[y * width + x], y * 1000 + x) << x << "," << y;
  }
  backend_->release(backend_->self, cells);
  backend_->unload(backend_->self, module);
}

TEST_F(CudaBackend, RejectsArgumentsThatDoNotMatchTheKernel) {
  REQUIRE_CUDA_DEVICE();
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver == nullptr || dlsym(driver, "cuFuncGetParamInfo") == nullptr) {
    GTEST_SKIP() << "this driver cannot describe a kernel's parameters (cuFuncGetParamInfo)";
  }
  asp_device_module* module = load(kStatusKernels);
  ASSERT_NE(module, nullptr);
  asp_device_buffer* x = allocate(32 * sizeof(double));
  int kernel_status = -1;
  EXPECT_EQ(launch(module, "fill", {buffer_arg(x)}, grid(1, 32), &kernel_status), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(host_.last_error, HasSubstr("takes 2 parameters before the status word, the launch passes 1"));
  const float wrong = 1.0f;  // the kernel takes a double
  EXPECT_EQ(launch(module, "fill", {buffer_arg(x), scalar_arg(wrong)}, grid(1, 32), &kernel_status),
            ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(host_.last_error, HasSubstr("argument 1"));
  backend_->release(backend_->self, x);
  backend_->unload(backend_->self, module);
}

TEST_F(CudaBackend, WrapsDeviceMemoryItDoesNotOwn) {
  REQUIRE_CUDA_DEVICE();
  // Memory another library allocated in the primary context, as CuPy would.
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(driver, nullptr);
  auto retain = reinterpret_cast<decltype(&::cuDevicePrimaryCtxRetain)>(dlsym(driver, "cuDevicePrimaryCtxRetain"));
  auto release_ctx = reinterpret_cast<decltype(&::cuDevicePrimaryCtxRelease)>(dlsym(driver, "cuDevicePrimaryCtxRelease_v2"));
  auto set_current = reinterpret_cast<decltype(&::cuCtxSetCurrent)>(dlsym(driver, "cuCtxSetCurrent"));
  auto mem_alloc = reinterpret_cast<decltype(&::cuMemAlloc)>(dlsym(driver, "cuMemAlloc_v2"));
  auto mem_free = reinterpret_cast<decltype(&::cuMemFree)>(dlsym(driver, "cuMemFree_v2"));
  auto dtoh = reinterpret_cast<decltype(&::cuMemcpyDtoH)>(dlsym(driver, "cuMemcpyDtoH_v2"));
  ASSERT_TRUE(retain && release_ctx && set_current && mem_alloc && mem_free && dtoh);
  CUcontext context = nullptr;
  ASSERT_EQ(retain(&context, 0), CUDA_SUCCESS);
  ASSERT_EQ(set_current(context), CUDA_SUCCESS);
  const std::size_t count = 256;
  CUdeviceptr memory = 0;
  ASSERT_EQ(mem_alloc(&memory, count * sizeof(double)), CUDA_SUCCESS);

  asp_device_buffer* wrapped = nullptr;
  ASSERT_EQ(backend_->wrap(backend_->self, ctx(), reinterpret_cast<void*>(memory), count * sizeof(double), &wrapped),
            ASP_OK)
      << host_.last_error;
  asp_device_module* module = load(kTwoKernels);
  ASSERT_NE(module, nullptr);
  std::vector<double> values(count);
  std::iota(values.begin(), values.end(), 1.0);
  ASSERT_EQ(backend_->copy_in(backend_->self, ctx(), wrapped, values.data(), count * sizeof(double)), ASP_OK);
  const double factor = -2.0;
  const long long n = count;
  int kernel_status = -1;
  ASSERT_EQ(launch(module, "scale", {buffer_arg(wrapped), scalar_arg(factor), scalar_arg(n)}, grid(2, 128),
                   &kernel_status),
            ASP_OK)
      << host_.last_error;
  backend_->release(backend_->self, wrapped);  // the handle only

  std::vector<double> after(count);
  ASSERT_EQ(set_current(context), CUDA_SUCCESS);
  ASSERT_EQ(dtoh(after.data(), memory, count * sizeof(double)), CUDA_SUCCESS) << "release() freed memory it did not own";
  for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(after[i], values[i] * -2.0) << i;
  EXPECT_EQ(mem_free(memory), CUDA_SUCCESS);
  backend_->unload(backend_->self, module);
  release_ctx(0);
  expect_nothing_leaked();

  // Host memory is not device memory.
  asp_device_buffer* bogus = nullptr;
  EXPECT_EQ(backend_->wrap(backend_->self, ctx(), values.data(), count * sizeof(double), &bogus),
            ASP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(bogus, nullptr);
}

TEST_F(CudaBackend, LaunchesFromThreadsWithoutAContext) {
  REQUIRE_CUDA_DEVICE();
  asp_device_module* module = load(kStatusKernels);
  ASSERT_NE(module, nullptr);
  constexpr int kThreads = 4;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      asp::test::PluginHost host;
      asp_device_buffer* x = nullptr;
      if (backend_->allocate(backend_->self, host.context(), 64 * sizeof(double), &x) != ASP_OK) {
        failures[t] = 1;
        return;
      }
      for (int round = 0; round < 20; ++round) {
        const double value = t * 100 + round;
        const std::vector<asp_device_arg> args{buffer_arg(x), scalar_arg(value)};
        const asp_launch_config config = grid(1, 64);
        int kernel_status = -1;
        std::vector<double> out(64);
        if (backend_->launch(backend_->self, host.context(), module, "fill", args.data(), args.size(), &config,
                             &kernel_status) != ASP_OK ||
            kernel_status != ASP_C_OK ||
            backend_->copy_out(backend_->self, host.context(), out.data(), x, out.size() * sizeof(double)) != ASP_OK ||
            out != std::vector<double>(64, value)) {
          ++failures[t];
        }
      }
      backend_->release(backend_->self, x);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(kThreads, 0));
  backend_->unload(backend_->self, module);
}

}  // namespace
