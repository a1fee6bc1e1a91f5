// The OpenCL backend's runtime through its C ABI: device choice, compile,
// load, memory, launch and the status word, with hand-written kernels of the
// device entry convention (independent of the code generator). The OpenCL
// API is used directly only to check the backend's answers independently.
#include "plugin_host.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using ::testing::HasSubstr;

constexpr const char* kKernels = R"CL(
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

__kernel void asp_entry_grid2d(__global const double* in, __global double* out, long rows, long cols,
                               __global int* count, __global int* asp_status) {
  long c = (long)get_group_id(0) * (long)get_local_size(0) + (long)get_local_id(0);
  long r = (long)get_group_id(1) * (long)get_local_size(1) + (long)get_local_id(1);
  atomic_inc(count);
  if (r < rows && c < cols) out[r * cols + c] = in[r * cols + c] * 0.5 + (double)(r * 1000 + c);
}

__kernel void asp_entry_fail(__global int* asp_status) { *asp_status = 1; }

__kernel void asp_entry_nothing(__global int* asp_status) {}

__kernel void asp_entry_out_of_bounds(long which, __global int* asp_status) {
  if (get_global_id(0) == 3) *asp_status = 2 + (int)which;
}

__kernel void asp_entry_scalars(double x, int n, long m, float f, uchar b, __global long* out,
                                __global int* asp_status) {
  out[0] = as_long(x);
  out[1] = n;
  out[2] = m;
  out[3] = as_int(f);
  out[4] = b;
}

__kernel void asp_entry_mark(__global int* out, __global int* asp_status) {
  out[get_global_id(0)] = 7;
  *asp_status = 1;
}

__kernel void asp_entry_affine(__global const long* in, __global long* out, long a, long b, long n,
                               __global int* asp_status) {
  long i = get_global_id(0);
  if (i < n) out[i] = a * in[i] + b;
  if (i == 0) *asp_status = (int)b;
}
)CL";

const asp_launch_config kOneThread{sizeof(asp_launch_config), {1, 1, 1}, {1, 1, 1}};

asp_launch_config grid(std::uint64_t gx, std::uint64_t gy, std::uint64_t gz, std::uint64_t bx, std::uint64_t by,
                       std::uint64_t bz) {
  return {sizeof(asp_launch_config), {gx, gy, gz}, {bx, by, bz}};
}

asp_device_arg buffer_arg(asp_device_buffer* buffer) { return {sizeof(asp_device_arg), buffer, nullptr, 0}; }

template <class T>
asp_device_arg scalar_arg(const T& value) {
  return {sizeof(asp_device_arg), nullptr, &value, sizeof(T)};
}

class OpenCLBackendTest : public ::testing::Test {
 protected:
  // A plugin that does not load fails every test (an exception here would skip them).
  static void SetUpTestSuite() {
    host_ = new asp::test::PluginHost;
    try {
      backend_ = host_->load_backend(ASP_TEST_OPENCL_PLUGIN, "opencl");
    } catch (const std::exception& e) {
      load_error_ = e.what();
    }
  }

  void SetUp() override {
    ASSERT_NE(backend_, nullptr) << load_error_;
    host_->last_status = ASP_OK;
    host_->last_error.clear();
  }

  void TearDown() override {
    for (asp_device_buffer* b : buffers_) backend_->release(backend_->self, b);
    for (asp_device_module* m : modules_) backend_->unload(backend_->self, m);
  }

  static asp_host_context* ctx() { return host_->context(); }

  asp_status compile(const std::string& source, std::string& binary) {
    binary.clear();
    const asp_text_sink sink = asp::test::PluginHost::sink(binary);
    return backend_->compile(backend_->self, ctx(), source.c_str(), &sink);
  }

  asp_device_module* load(const std::string& binary) {
    asp_device_module* module = nullptr;
    const asp_status status = backend_->load(backend_->self, ctx(), binary.data(), binary.size(), &module);
    EXPECT_EQ(status, ASP_OK) << host_->last_error;
    if (module) modules_.push_back(module);
    return module;
  }

  // The test kernels, compiled and loaded once per test.
  asp_device_module* kernels() {
    std::string binary;
    const asp_status status = compile(kKernels, binary);
    EXPECT_EQ(status, ASP_OK) << host_->last_error;
    EXPECT_FALSE(binary.empty());
    return load(binary);
  }

  template <class T>
  asp_device_buffer* device_copy(const std::vector<T>& data) {
    asp_device_buffer* buffer = nullptr;
    EXPECT_EQ(backend_->allocate(backend_->self, ctx(), data.size() * sizeof(T), &buffer), ASP_OK) << host_->last_error;
    buffers_.push_back(buffer);
    EXPECT_EQ(backend_->copy_in(backend_->self, ctx(), buffer, data.data(), data.size() * sizeof(T)), ASP_OK)
        << host_->last_error;
    return buffer;
  }

  template <class T>
  std::vector<T> host_copy(asp_device_buffer* buffer, std::size_t count) {
    std::vector<T> data(count);
    EXPECT_EQ(backend_->copy_out(backend_->self, ctx(), data.data(), buffer, count * sizeof(T)), ASP_OK)
        << host_->last_error;
    return data;
  }

  asp_status launch(asp_device_module* module, const char* function, const std::vector<asp_device_arg>& args,
                    const asp_launch_config& config, int* kernel_status) {
    return backend_->launch(backend_->self, ctx(), module, function, args.data(), args.size(), &config, kernel_status);
  }

  static asp::test::PluginHost* host_;
  static const asp_backend* backend_;
  static std::string load_error_;
  std::vector<asp_device_buffer*> buffers_;
  std::vector<asp_device_module*> modules_;
};

asp::test::PluginHost* OpenCLBackendTest::host_ = nullptr;
const asp_backend* OpenCLBackendTest::backend_ = nullptr;
std::string OpenCLBackendTest::load_error_;

// The device the backend should choose, found independently: the first
// usable GPU of any platform, else the first usable device.
std::string expected_device_name() {
  cl_uint platform_count = 0;
  if (clGetPlatformIDs(0, nullptr, &platform_count) != CL_SUCCESS) return "";
  std::vector<cl_platform_id> platforms(platform_count);
  clGetPlatformIDs(platform_count, platforms.data(), nullptr);
  std::string first_gpu, first_any;
  for (cl_platform_id platform : platforms) {
    cl_uint count = 0;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &count) != CL_SUCCESS) continue;
    std::vector<cl_device_id> devices(count);
    clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, devices.data(), nullptr);
    for (cl_device_id device : devices) {
      cl_bool available = CL_FALSE, compiler = CL_FALSE;
      cl_device_type type = 0;
      clGetDeviceInfo(device, CL_DEVICE_AVAILABLE, sizeof available, &available, nullptr);
      clGetDeviceInfo(device, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, nullptr);
      clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, nullptr);
      if (!available || !compiler) continue;
      char name[1024] = {};
      clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name - 1, name, nullptr);
      if (first_any.empty()) first_any = name;
      if (first_gpu.empty() && (type & CL_DEVICE_TYPE_GPU)) first_gpu = name;
    }
  }
  return first_gpu.empty() ? first_any : first_gpu;
}

TEST_F(OpenCLBackendTest, DescribesItselfAsADeviceBackend) {
  EXPECT_STREQ(backend_->language, "opencl-c");
  EXPECT_EQ(backend_->device_type, 4);  // kDLOpenCL
  ASSERT_TRUE(ASP_HAS_FIELD(backend_, asp_backend, launch));
  EXPECT_NE(backend_->compile, nullptr);
  EXPECT_NE(backend_->wrap, nullptr);
}

TEST_F(OpenCLBackendTest, RegistersTheGpuMappingOptimizerForItself) {
  const asp_component& c = host_->load_component(ASP_TEST_OPENCL_PLUGIN, ASP_COMPONENT_OPTIMIZER, "opencl.gpu_map");
  EXPECT_EQ(c.domain, nullptr);
  const auto* optimizer = static_cast<const asp_optimizer*>(c.vtable);
  ASSERT_NE(optimizer, nullptr);
  EXPECT_STREQ(optimizer->reads, "psir");
  ASSERT_TRUE(ASP_HAS_FIELD(optimizer, asp_optimizer, backend));
  EXPECT_STREQ(optimizer->backend, "opencl");
}

TEST_F(OpenCLBackendTest, ProbeNamesTheDeviceItUses) {
  const std::string name = expected_device_name();
  ASSERT_FALSE(name.empty()) << "no OpenCL device here: install pocl-opencl-icd";
  std::string reason;
  const asp_text_sink sink = asp::test::PluginHost::sink(reason);
  asp_probe_result result{sizeof(asp_probe_result), 0, &sink};
  ASSERT_EQ(backend_->probe(backend_->self, ctx(), nullptr, &result), ASP_OK) << host_->last_error;
  EXPECT_EQ(result.available, 1) << reason;
  EXPECT_THAT(reason, ::testing::StartsWith("using "));
  // The device used comes first, before any other device found.
  const std::string used = reason.substr(0, reason.find("; also found"));
  EXPECT_THAT(used, HasSubstr(name));
  EXPECT_THAT(used, ::testing::ContainsRegex("\\((CPU|GPU|accelerator|device), OpenCL [0-9]"));
}

TEST_F(OpenCLBackendTest, TargetNamesDeviceAndDriverAndIsStable) {
  std::string first, second;
  const asp_text_sink a = asp::test::PluginHost::sink(first), b = asp::test::PluginHost::sink(second);
  ASSERT_EQ(backend_->target(backend_->self, ctx(), &a), ASP_OK) << host_->last_error;
  ASSERT_EQ(backend_->target(backend_->self, ctx(), &b), ASP_OK) << host_->last_error;
  EXPECT_EQ(first, second);
  EXPECT_THAT(first, HasSubstr(expected_device_name()));
  EXPECT_THAT(first, HasSubstr("driver "));
  EXPECT_THAT(first, HasSubstr("-cl-std=CL1.2"));
}

TEST_F(OpenCLBackendTest, LaunchesA2DGridWhoseSizeIsNotAMultipleOfTheBlock) {
  asp_device_module* module = kernels();
  ASSERT_NE(module, nullptr);
  const std::int64_t rows = 37, cols = 50;
  const std::size_t n = static_cast<std::size_t>(rows * cols);
  std::vector<double> in(n);
  for (std::size_t i = 0; i < n; ++i) in[i] = static_cast<double>(i) * 3.0 - 1.25;
  // Sentinels past the end show that no thread outside the range wrote.
  std::vector<double> out(n + 16, -7.0);
  asp_device_buffer* in_buffer = device_copy(in);
  asp_device_buffer* out_buffer = device_copy(out);
  asp_device_buffer* count_buffer = device_copy(std::vector<int>{0});

  const auto config = grid(4, 5, 1, 16, 8, 1);  // 64 x 40 threads over 50 x 37 elements
  int kernel_status = -1;
  ASSERT_EQ(launch(module, "grid2d",
                   {buffer_arg(in_buffer), buffer_arg(out_buffer), scalar_arg(rows), scalar_arg(cols),
                    buffer_arg(count_buffer)},
                   config, &kernel_status),
            ASP_OK)
      << host_->last_error;
  EXPECT_EQ(kernel_status, 0);

  const std::vector<double> result = host_copy<double>(out_buffer, out.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      const std::size_t i = static_cast<std::size_t>(r * cols + c);
      ASSERT_EQ(result[i], in[i] * 0.5 + static_cast<double>(r * 1000 + c)) << "row " << r << ", column " << c;
    }
  }
  for (std::size_t i = n; i < out.size(); ++i) EXPECT_EQ(result[i], -7.0) << "sentinel " << i - n;
  EXPECT_EQ(host_copy<int>(count_buffer, 1)[0], 64 * 40) << "threads run: grid * block in each dimension";
}

TEST_F(OpenCLBackendTest, ReturnsTheStatusWordZeroedBeforeEachLaunch) {
  asp_device_module* module = kernels();
  ASSERT_NE(module, nullptr);
  int kernel_status = -1;
  ASSERT_EQ(launch(module, "fail", {}, kOneThread, &kernel_status), ASP_OK) << host_->last_error;
  EXPECT_EQ(kernel_status, 1);
  ASSERT_EQ(launch(module, "nothing", {}, kOneThread, &kernel_status), ASP_OK) << host_->last_error;
  EXPECT_EQ(kernel_status, 0);
  const std::int64_t which = 3;
  ASSERT_EQ(launch(module, "out_of_bounds", {scalar_arg(which)}, grid(2, 1, 1, 4, 1, 1), &kernel_status), ASP_OK)
      << host_->last_error;
  EXPECT_EQ(kernel_status, 5);
}

TEST_F(OpenCLBackendTest, PassesScalarsOf8_4And1Bytes) {
  asp_device_module* module = kernels();
  ASSERT_NE(module, nullptr);
  const double x = 0x1.23456789abcdep+100;
  const std::int32_t n = -123456789;
  const std::int64_t m = 0x123456789ALL;
  const float f = 3.14159274f;
  const std::uint8_t b = 200;
  asp_device_buffer* out = device_copy(std::vector<std::int64_t>(5, 0));
  int kernel_status = -1;
  ASSERT_EQ(launch(module, "scalars",
                   {scalar_arg(x), scalar_arg(n), scalar_arg(m), scalar_arg(f), scalar_arg(b), buffer_arg(out)},
                   kOneThread, &kernel_status),
            ASP_OK)
      << host_->last_error;
  EXPECT_EQ(kernel_status, 0);
  const std::vector<std::int64_t> result = host_copy<std::int64_t>(out, 5);
  EXPECT_EQ(result[0], std::bit_cast<std::int64_t>(x));
  EXPECT_EQ(result[1], n);
  EXPECT_EQ(result[2], m);
  EXPECT_EQ(result[3], std::bit_cast<std::int32_t>(f));
  EXPECT_EQ(result[4], 200);
}

TEST_F(OpenCLBackendTest, ACompileErrorCarriesTheBuildLog) {
  std::string binary;
  const asp_status status =
      compile("__kernel void asp_entry_bad(__global int* s) { *s = undeclared_thing_42; }\n", binary);
  EXPECT_EQ(status, ASP_ERR_COMPILE);
  EXPECT_EQ(host_->last_status, ASP_ERR_COMPILE);
  EXPECT_THAT(host_->last_error, HasSubstr("undeclared_thing_42"));
  EXPECT_THAT(host_->last_error, HasSubstr("rejected the source"));
}

TEST_F(OpenCLBackendTest, LoadingGarbageFailsCleanly) {
  std::mt19937 random(42);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  asp_device_module* module = nullptr;
  EXPECT_NE(backend_->load(backend_->self, ctx(), garbage.data(), garbage.size(), &module), ASP_OK);
  EXPECT_EQ(module, nullptr);
  EXPECT_THAT(host_->last_error, HasSubstr("binary"));

  host_->last_error.clear();
  const char empty = 0;
  EXPECT_NE(backend_->load(backend_->self, ctx(), &empty, 0, &module), ASP_OK);
  EXPECT_EQ(module, nullptr);
  EXPECT_THAT(host_->last_error, HasSubstr("empty"));
}

// PoCL 3.1 crashes on a truncated program binary of its own: the backend must catch it first.
TEST_F(OpenCLBackendTest, LoadingADamagedBinaryFailsCleanly) {
  std::string binary;
  ASSERT_EQ(compile(kKernels, binary), ASP_OK) << host_->last_error;
  ASSERT_GT(binary.size(), 64u);
  struct Damage {
    const char* what;
    std::string bytes;
    const char* says;
  };
  std::string changed = binary;
  changed[changed.size() / 2] ^= 0x20;
  std::string other_target = binary;
  other_target[10] ^= 0x01;  // in the target's hash
  const std::vector<Damage> damages{{"truncated", binary.substr(0, binary.size() / 2), "damaged"},
                                    {"header only", binary.substr(0, 64), "damaged"},
                                    {"one byte changed", changed, "damaged"},
                                    {"another target", other_target, "another device"}};
  for (const Damage& d : damages) {
    host_->last_error.clear();
    asp_device_module* module = nullptr;
    EXPECT_EQ(backend_->load(backend_->self, ctx(), d.bytes.data(), d.bytes.size(), &module), ASP_ERR_RUNTIME) << d.what;
    EXPECT_EQ(module, nullptr) << d.what;
    EXPECT_THAT(host_->last_error, HasSubstr(d.says)) << d.what;
  }
  EXPECT_NE(load(binary), nullptr) << "the undamaged binary loads";
}

TEST_F(OpenCLBackendTest, AZeroSizedGridLaunchesNothing) {
  asp_device_module* module = kernels();
  ASSERT_NE(module, nullptr);
  asp_device_buffer* out = device_copy(std::vector<int>(4, -1));
  for (const asp_launch_config& empty : {grid(0, 1, 1, 4, 1, 1), grid(1, 0, 1, 4, 1, 1), grid(1, 1, 0, 4, 1, 1)}) {
    int kernel_status = -1;
    ASSERT_EQ(launch(module, "mark", {buffer_arg(out)}, empty, &kernel_status), ASP_OK) << host_->last_error;
    EXPECT_EQ(kernel_status, 0);
    EXPECT_EQ(host_copy<int>(out, 4), std::vector<int>(4, -1));
  }
  int kernel_status = -1;
  ASSERT_EQ(launch(module, "mark", {buffer_arg(out)}, grid(1, 1, 1, 4, 1, 1), &kernel_status), ASP_OK)
      << host_->last_error;
  EXPECT_EQ(kernel_status, 1);
  EXPECT_EQ(host_copy<int>(out, 4), std::vector<int>(4, 7));
}

TEST_F(OpenCLBackendTest, TwoThreadsLaunchOnOneModuleAtOnce) {
  asp_device_module* module = kernels();
  ASSERT_NE(module, nullptr);
  const std::int64_t n = 1000;
  struct Work {
    std::int64_t a, b;
    asp_device_buffer* in;
    asp_device_buffer* out;
    int failures = 0;
    std::string error;
  };
  std::vector<std::int64_t> in(n);
  for (std::int64_t i = 0; i < n; ++i) in[static_cast<std::size_t>(i)] = i * i - 500;
  std::vector<Work> work{{3, 11, device_copy(in), device_copy(std::vector<std::int64_t>(n)), 0, {}},
                         {-5, 29, device_copy(in), device_copy(std::vector<std::int64_t>(n)), 0, {}}};
  auto run = [&](Work& w) {
    for (int round = 0; round < 100; ++round) {
      const std::int64_t b = w.b + round;
      int kernel_status = -1;
      const std::vector<asp_device_arg> args{buffer_arg(w.in), buffer_arg(w.out), scalar_arg(w.a), scalar_arg(b),
                                             scalar_arg(n)};
      const asp_launch_config config = grid(8, 1, 1, 128, 1, 1);
      if (backend_->launch(backend_->self, ctx(), module, "affine", args.data(), args.size(), &config,
                           &kernel_status) != ASP_OK) {
        ++w.failures;
        continue;
      }
      std::vector<std::int64_t> out(n);
      if (backend_->copy_out(backend_->self, ctx(), out.data(), w.out, n * sizeof(std::int64_t)) != ASP_OK) {
        ++w.failures;
        continue;
      }
      if (kernel_status != static_cast<int>(b)) {
        ++w.failures;
        w.error = "status " + std::to_string(kernel_status) + " in round " + std::to_string(round);
      }
      for (std::int64_t i = 0; i < n; ++i) {
        if (out[static_cast<std::size_t>(i)] != w.a * in[static_cast<std::size_t>(i)] + b) {
          ++w.failures;
          w.error = "element " + std::to_string(i) + " in round " + std::to_string(round);
          break;
        }
      }
    }
  };
  std::thread first(run, std::ref(work[0])), second(run, std::ref(work[1]));
  first.join();
  second.join();
  EXPECT_EQ(work[0].failures, 0) << work[0].error << host_->last_error;
  EXPECT_EQ(work[1].failures, 0) << work[1].error << host_->last_error;
}

TEST_F(OpenCLBackendTest, AnUnknownFunctionIsAClearError) {
  asp_device_module* module = kernels();
  ASSERT_NE(module, nullptr);
  int kernel_status = -1;
  EXPECT_EQ(launch(module, "missing", {}, kOneThread, &kernel_status), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(host_->last_error, HasSubstr("no kernel asp_entry_missing"));
  EXPECT_THAT(host_->last_error, HasSubstr("asp_entry_nothing"));
}

TEST_F(OpenCLBackendTest, TheWrongNumberOfArgumentsIsAClearError) {
  asp_device_module* module = kernels();
  ASSERT_NE(module, nullptr);
  int kernel_status = -1;
  const std::int64_t which = 1;
  EXPECT_EQ(launch(module, "nothing", {scalar_arg(which)}, kOneThread, &kernel_status), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(host_->last_error, HasSubstr("takes 0 parameters before the status word, the launch passes 1"));
}

TEST_F(OpenCLBackendTest, AScalarOfTheWrongSizeNamesTheCallAndTheError) {
  asp_device_module* module = kernels();
  ASSERT_NE(module, nullptr);
  int kernel_status = -1;
  const std::int32_t narrow = 1;  // the kernel takes a long
  EXPECT_EQ(launch(module, "out_of_bounds", {scalar_arg(narrow)}, kOneThread, &kernel_status), ASP_ERR_RUNTIME);
  EXPECT_THAT(host_->last_error, HasSubstr("clSetKernelArg"));
  EXPECT_THAT(host_->last_error, HasSubstr("CL_INVALID_ARG_SIZE"));
}

TEST_F(OpenCLBackendTest, CopiesBeyondABufferAreRefused) {
  asp_device_buffer* buffer = device_copy(std::vector<int>(4, 0));
  std::vector<int> host(8, 1);
  EXPECT_EQ(backend_->copy_in(backend_->self, ctx(), buffer, host.data(), host.size() * sizeof(int)),
            ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(host_->last_error, HasSubstr("do not fit"));
  EXPECT_EQ(backend_->copy_out(backend_->self, ctx(), host.data(), buffer, host.size() * sizeof(int)),
            ASP_ERR_INVALID_ARGUMENT);
}

TEST_F(OpenCLBackendTest, AnEmptyAllocationIsUsable) {
  asp_device_buffer* buffer = nullptr;
  ASSERT_EQ(backend_->allocate(backend_->self, ctx(), 0, &buffer), ASP_OK) << host_->last_error;
  buffers_.push_back(buffer);
  EXPECT_EQ(backend_->copy_in(backend_->self, ctx(), buffer, nullptr, 0), ASP_OK) << host_->last_error;
}

TEST_F(OpenCLBackendTest, WrapRefusesMemoryOfAnotherContext) {
  cl_platform_id platform = nullptr;
  ASSERT_EQ(clGetPlatformIDs(1, &platform, nullptr), CL_SUCCESS);
  cl_device_id device = nullptr;
  ASSERT_EQ(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr), CL_SUCCESS);
  cl_int status = CL_SUCCESS;
  cl_context context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &status);
  ASSERT_EQ(status, CL_SUCCESS);
  cl_mem memory = clCreateBuffer(context, CL_MEM_READ_WRITE, 64, nullptr, &status);
  ASSERT_EQ(status, CL_SUCCESS);
  asp_device_buffer* buffer = nullptr;
  EXPECT_EQ(backend_->wrap(backend_->self, ctx(), memory, 64, &buffer), ASP_ERR_UNSUPPORTED);
  EXPECT_EQ(buffer, nullptr);
  EXPECT_THAT(host_->last_error, HasSubstr("another OpenCL context"));
  cl_uint references = 0;
  clGetMemObjectInfo(memory, CL_MEM_REFERENCE_COUNT, sizeof references, &references, nullptr);
  EXPECT_EQ(references, 1u) << "a refused wrap keeps no reference";
  clReleaseMemObject(memory);
  clReleaseContext(context);
}

TEST_F(OpenCLBackendTest, GenerateRejectsMalformedPsir) {
  std::string source;
  const asp_text_sink sink = asp::test::PluginHost::sink(source);
  EXPECT_EQ(backend_->generate(backend_->self, ctx(), "not psir at all", &sink), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(host_->last_error, HasSubstr("PSIR"));
}

}  // namespace
