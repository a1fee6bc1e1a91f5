// The core's side of device backends: residency (Mirror), launch grids read
// off the PSIR (DeviceCode), and calls through Callable, against a fake
// device that keeps its "device memory" on the host and counts the copies.
#include "asp/core/binding.hpp"
#include "asp/core/device.hpp"
#include "asp/core/errors.hpp"
#include "asp/core/kernel.hpp"
#include "asp/core/registry.hpp"

#include <asp/plugin.hpp>
#include <asp/psir_text.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace asp::core;
using testing::HasSubstr;

struct asp_device_buffer {
  std::vector<char> bytes;
  void* wrapped = nullptr;  // wrap(): the caller's memory
  char* data() { return wrapped ? static_cast<char*>(wrapped) : bytes.data(); }
};
struct asp_device_module {};

namespace {

// Device memory is host memory here; "double_it" doubles buffer 0's first n
// elements (n: scalar 1), "fail" reports a division by zero.
class FakeDevice : public asp::DeviceBackend {
 public:
  int copies_in = 0, copies_out = 0, launches = 0, live_buffers = 0, live_modules = 0;
  asp_launch_config last{};
  std::vector<std::string> launched;  // the kernels, in launch order
  std::string failing = "fail";       // the kernel that reports a division by zero

  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override { return asp::Probe::yes("fake"); }
  const char* language() const override { return "opencl-c"; }
  std::int32_t device_type() const override { return kDLOpenCL; }
  std::string target(asp::Call&) override { return "fake 1"; }
  std::string compile(asp::Call&, std::string_view source) override {
    if (source.find("error") != std::string_view::npos) throw asp::Error(ASP_ERR_COMPILE, "1:1: error: no");
    return std::string(source);
  }
  asp_device_module* load(asp::Call&, std::string_view) override {
    ++live_modules;
    return new asp_device_module;
  }
  void unload(asp_device_module* m) noexcept override {
    --live_modules;
    delete m;
  }
  asp_device_buffer* allocate(asp::Call&, std::size_t bytes) override {
    ++live_buffers;
    auto* b = new asp_device_buffer;
    b->bytes.resize(std::max<std::size_t>(bytes, 1));
    return b;
  }
  asp_device_buffer* wrap(asp::Call&, void* pointer, std::size_t) override {
    ++live_buffers;
    auto* b = new asp_device_buffer;
    b->wrapped = pointer;
    return b;
  }
  void release(asp_device_buffer* b) noexcept override {
    --live_buffers;
    delete b;
  }
  void copy_in(asp::Call&, asp_device_buffer* to, const void* from, std::size_t bytes) override {
    ++copies_in;
    std::memcpy(to->data(), from, bytes);
  }
  void copy_out(asp::Call&, void* to, asp_device_buffer* from, std::size_t bytes) override {
    ++copies_out;
    std::memcpy(to, from->data(), bytes);
  }
  int launch(asp::Call&, asp_device_module*, const char* function, std::span<const asp_device_arg> args,
             const asp_launch_config& config) override {
    ++launches;
    last = config;
    launched.emplace_back(function);
    if (function == failing) return ASP_C_ZERO_DIVISION;
    auto* x = reinterpret_cast<double*>(args[0].buffer->data());
    std::int64_t n = 0;
    std::memcpy(&n, args[1].scalar, sizeof n);
    for (std::int64_t i = 0; i < n; ++i) x[i] *= 2;
    return ASP_C_OK;
  }
};

// The fake's C table, built by the same helpers a plugin uses.
struct DeviceTest : testing::Test {
  // The helpers report errors through the host table a plugin gets at its entry point.
  DeviceTest() { asp::detail::host_table() = asp::core::host_table(); }
  std::shared_ptr<FakeDevice> fake = std::make_shared<FakeDevice>();
  asp::ComponentSpec spec{ASP_COMPONENT_BACKEND, "fake", nullptr, nullptr,
                          std::shared_ptr<void>(std::static_pointer_cast<asp::Backend>(fake),
                                                static_cast<asp::Backend*>(fake.get())),
                          nullptr, true};
  asp_component component = spec.describe();
  std::shared_ptr<const DeviceRuntime> device =
      std::make_shared<DeviceRuntime>("fake", static_cast<const asp_backend*>(component.vtable));
};

asp::psir::Module module_of(const std::string& functions) { return asp::psir::parse("asp-ir 1 psir\n" + functions); }

const char* doubling =
    "func double_it(x: buffer f64[n], n: i64) {\n"
    "  for b in 0:i64 .. ((n + 63:i64) / 64:i64) step 1 gpu_block(0) {\n"
    "    for t in 0:i64 .. 64:i64 step 1 gpu_thread(0) {\n"
    "      let i: i64 = ((b * 64:i64) + t)\n"
    "      if (i < n) {\n"
    "        store x[i] = (x[i] * 2.0:f64)\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "}\n";

struct Vector {
  std::vector<double> values;
  std::int64_t shape[1];
  asp_arg arg{};
  explicit Vector(std::vector<double> v) : values(std::move(v)) {
    shape[0] = static_cast<std::int64_t>(values.size());
    arg.struct_size = sizeof arg;
    arg.name = "x";
    arg.kind = ASP_ARG_TENSOR;
    arg.tensor.data = values.data();
    arg.tensor.device = {kDLCPU, 0};
    arg.tensor.ndim = 1;
    arg.tensor.dtype = {kDLFloat, 64, 1};
    arg.tensor.shape = shape;
  }
};

}  // namespace

TEST_F(DeviceTest, TheDeviceTableOfTheHelpersReachesTheBackend) {
  EXPECT_EQ(device->device_type(), kDLOpenCL);
  EXPECT_EQ(device->target(), "fake 1");
  EXPECT_EQ(device->compile("ok"), "ok");
  try {
    device->compile("error");
    FAIL() << "a rejected source must throw";
  } catch (const CompileError& e) {
    EXPECT_THAT(e.log(), HasSubstr("1:1: error: no"));
  }
}

TEST_F(DeviceTest, AMirrorCopiesInOnceAndOutOnlyWhenTheDeviceWrote) {
  std::vector<double> host{1, 2, 3};
  Mirror mirror;
  asp_device_buffer* b = mirror.on_device(device, host.data(), 24);
  EXPECT_EQ(mirror.on_device(device, host.data(), 24), b);
  EXPECT_EQ(fake->copies_in, 1);
  mirror.sync();
  EXPECT_EQ(fake->copies_out, 0) << "nothing to copy back before the device wrote";

  reinterpret_cast<double*>(b->data())[0] = 10;
  mirror.device_wrote();
  EXPECT_TRUE(mirror.device_newer());
  EXPECT_EQ(host[0], 1) << "the host copy is updated only on sync";
  mirror.sync();
  EXPECT_EQ(host[0], 10);
  EXPECT_EQ(fake->copies_out, 1);
  mirror.sync();
  EXPECT_EQ(fake->copies_out, 1);

  // Handed to Python: the host copy may change, so the next use copies in again.
  mirror.release_to_host();
  host[1] = 20;
  mirror.on_device(device, host.data(), 24);
  EXPECT_EQ(fake->copies_in, 2);
  EXPECT_EQ(reinterpret_cast<double*>(b->data())[1], 20);
}

TEST_F(DeviceTest, AMirrorFollowsANewHostArrayAfterSyncingTheOldOne) {
  std::vector<double> first{1, 2}, second{5, 6, 7};
  Mirror mirror;
  asp_device_buffer* b = mirror.on_device(device, first.data(), 16);
  reinterpret_cast<double*>(b->data())[0] = 9;
  mirror.device_wrote();
  mirror.on_device(device, second.data(), 24);
  EXPECT_EQ(first[0], 9) << "the old array got the device's results before the mirror moved";
  EXPECT_EQ(fake->live_buffers, 1);
}

TEST_F(DeviceTest, TheLaunchGridComesFromTheGpuLoopsTripCounts) {
  asp::psir::Module m = module_of(doubling);
  DeviceCode code(device, device->load("binary"), m.functions);
  std::int64_t n = 130;
  double dummy = 0;
  void* args[] = {&dummy, &n};
  asp_launch_config c = code.launch_config(0, args);
  EXPECT_EQ(c.grid[0], 3u);
  EXPECT_EQ(c.block[0], 64u);
  EXPECT_EQ(c.grid[1] * c.grid[2] * c.block[1] * c.block[2], 1u);

  n = 0;  // no iteration: nothing is launched
  EXPECT_EQ(code.launch(0, args), ASP_C_OK);
  EXPECT_EQ(fake->launches, 0);
}

// Two nests with a statement between them: three launches, each on its own grid, in order.
const char* steps =
    "func steps(x: buffer f64[n], n: i64, m: i64) {\n"
    "  let half: i64 = (n / 2:i64)\n"
    "  for b in 0:i64 .. ((n + 63:i64) / 64:i64) step 1 gpu_block(0) {\n"
    "    for t in 0:i64 .. 64:i64 step 1 gpu_thread(0) {\n"
    "      if (((b * 64:i64) + t) < half) {\n"
    "        store x[((b * 64:i64) + t)] = 1.0:f64\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "  store x[0:i64] = 2.0:f64\n"
    "  for c in 0:i64 .. m step 1 gpu_block(1) {\n"
    "    for u in 0:i64 .. 8:i64 step 1 gpu_thread(0) {\n"
    "    }\n"
    "  }\n"
    "}\n";

TEST_F(DeviceTest, ANestThenAStatementThenANestAreThreeLaunchesInOrder) {
  asp::psir::Module m = module_of(steps);
  DeviceCode code(device, device->load("binary"), m.functions);
  ASSERT_EQ(code.launch_count(0), 3u);
  std::int64_t n = 130, rows = 5;
  double x[130] = {};
  void* args[] = {x, &n, &rows};
  const asp_launch_config first = code.launch_config(0, args, 0), between = code.launch_config(0, args, 1),
                          last = code.launch_config(0, args, 2);
  EXPECT_EQ(first.grid[0], 3u);
  EXPECT_EQ(first.block[0], 64u);
  for (int d = 0; d < 3; ++d) EXPECT_EQ(between.grid[d] * between.block[d], 1u) << "the statement runs as one thread";
  EXPECT_EQ(last.grid[1], 5u);
  EXPECT_EQ(last.block[0], 8u);

  std::vector<double> values(130, 1.0);
  asp_device_buffer* buffer = device->allocate(values.size() * sizeof(double));
  void* device_args[] = {buffer, &n, &rows};
  EXPECT_EQ(code.launch(0, device_args), ASP_C_OK);
  EXPECT_THAT(fake->launched, testing::ElementsAre("steps_launch0", "steps_launch1", "steps_launch2"));

  // The first error ends the call; an empty grid is skipped.
  fake->launched.clear();
  fake->failing = "steps_launch1";
  EXPECT_EQ(code.launch(0, device_args), ASP_C_ZERO_DIVISION);
  EXPECT_THAT(fake->launched, testing::ElementsAre("steps_launch0", "steps_launch1"));
  fake->launched.clear();
  fake->failing.clear();
  rows = 0;
  EXPECT_EQ(code.launch(0, device_args), ASP_C_OK);
  EXPECT_THAT(fake->launched, testing::ElementsAre("steps_launch0", "steps_launch1"));
  device->release(buffer);
}

TEST_F(DeviceTest, GpuLoopBoundsThatReadMemoryAreRejected) {
  asp::psir::Module m = module_of(
      "func f(x: buffer i64[n], n: i64) {\n"
      "  for b in 0:i64 .. x[0:i64] step 1 gpu_block(0) {\n"
      "  }\n"
      "}\n");
  try {
    DeviceCode code(device, device->load("binary"), m.functions);
    FAIL() << "a grid that depends on memory cannot be computed before the launch";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("gpu loop 'b'"));
  }
  EXPECT_EQ(fake->live_modules, 0) << "the module is unloaded when the kernel is refused";
}

TEST_F(DeviceTest, CallsCopyPlainArraysBothWaysAndKeepMirroredOnesOnTheDevice) {
  asp::psir::Module m = module_of(doubling);
  auto kernel = std::make_shared<Kernel>("k", "fake", std::make_unique<DeviceCode>(device, device->load("binary"), m.functions),
                                         nullptr);
  Vector x({1, 2, 3});
  Callable call(kernel, Binding(m.functions[0], {x.arg}));

  call(&x.arg, 1);
  EXPECT_EQ(x.values, (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(fake->copies_in, 1);
  EXPECT_EQ(fake->copies_out, 1);
  EXPECT_EQ(fake->live_buffers, 0) << "a plain array's device copy lives for one call";

  Mirror mirror;
  Mirror* mirrors[] = {&mirror};
  call(&x.arg, 1, mirrors);
  call(&x.arg, 1, mirrors);
  EXPECT_EQ(fake->copies_in, 2) << "consecutive calls use the device copy";
  EXPECT_EQ(fake->copies_out, 1);
  EXPECT_EQ(x.values[0], 2) << "not copied back yet";
  EXPECT_TRUE(mirror.device_newer());
  mirror.sync();
  EXPECT_EQ(x.values, (std::vector<double>{8, 16, 24}));
}

TEST_F(DeviceTest, DeviceArraysAreUsedInPlaceAndOtherDevicesRejected) {
  asp::psir::Module m = module_of(doubling);
  auto kernel = std::make_shared<Kernel>("k", "fake", std::make_unique<DeviceCode>(device, device->load("binary"), m.functions),
                                         nullptr);
  Vector x({1, 2});
  Callable call(kernel, Binding(m.functions[0], {x.arg}));
  x.arg.tensor.device = {kDLOpenCL, 0};
  call(&x.arg, 1);
  EXPECT_EQ(x.values, (std::vector<double>{2, 4}));
  EXPECT_EQ(fake->copies_in + fake->copies_out, 0);
  x.arg.tensor.device = {kDLCUDA, 0};
  EXPECT_THROW(call(&x.arg, 1), InvalidArgument);
}

TEST_F(DeviceTest, AKernelStatusBecomesAKernelFault) {
  asp::psir::Module m = module_of("func fail(x: buffer f64[n], n: i64) {\n}\n");
  auto kernel = std::make_shared<Kernel>("k", "fake", std::make_unique<DeviceCode>(device, device->load("binary"), m.functions),
                                         nullptr);
  Vector x({1});
  Callable call(kernel, Binding(m.functions[0], {x.arg}));
  try {
    call(&x.arg, 1);
    FAIL() << "status 1 must raise";
  } catch (const KernelFault& e) {
    EXPECT_EQ(e.kind(), KernelFault::Kind::zero_division);
  }
}
