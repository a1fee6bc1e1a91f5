// DeviceProtocol's own checks and bookkeeping, on a device whose memory is
// the host's and whose kernels are C++ functions: what every device backend
// (cuda, opencl, one out of tree) gets from it without an API of its own.
#include "device_protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <functional>
#include <map>
#include <thread>
#include <vector>

namespace {

using asp::backends::DeviceProtocol;
using testing::HasSubstr;

// A kernel: the launch's arguments and the status word it may set.
using HostFunction = std::function<void(std::span<const DeviceProtocol::Argument>, int& status)>;

class HostDevice : public DeviceProtocol {
 public:
  struct HostBuffer : Buffer {
    std::vector<unsigned char> bytes_;
  };
  struct HostKernel : Kernel {
    HostFunction function;
  };
  struct HostModule : Module {
    std::map<std::string, std::pair<std::size_t, HostFunction>> kernels;  // name -> (parameters, function)
  };

  HostDevice() : DeviceProtocol("Host") {}

  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override { return asp::Probe::yes("host memory"); }
  std::int32_t device_type() const override { return 1; }  // kDLCPU
  std::string target(asp::Call&) override { return "host"; }
  std::string compile(asp::Call&, std::string_view source) override { return std::string(source); }

  // The "binary" is ignored: every module has the kernels of `kernels_`.
  asp_device_module* load(asp::Call& call, std::string_view) override {
    auto module = std::make_unique<HostModule>();
    module->kernels = kernels_;
    return adopt(call, std::move(module));
  }
  asp_device_buffer* allocate(asp::Call&, std::size_t bytes) override {
    auto buffer = std::make_unique<HostBuffer>();
    buffer->bytes = bytes;
    buffer->bytes_.resize(bytes);
    ++allocations;
    return handle(std::move(buffer));
  }

  std::map<std::string, std::pair<std::size_t, HostFunction>> kernels_;
  std::atomic<int> allocations{0};  // allocate() may be called from any thread
  int lookups = 0;
  int runs = 0;

  static double* data(const Argument& arg) {
    return reinterpret_cast<double*>(static_cast<HostBuffer*>(arg.buffer)->bytes_.data());
  }

 private:
  void write(Buffer& to, const void* from, std::size_t bytes) override {
    std::memcpy(static_cast<HostBuffer&>(to).bytes_.data(), from, bytes);
  }
  void read(void* to, Buffer& from, std::size_t bytes) override {
    std::memcpy(to, static_cast<HostBuffer&>(from).bytes_.data(), bytes);
  }
  void check_shape(const asp_launch_config& config, const std::string& what) override {
    if (config.block[0] > 1024) throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message(what + ": the block is too large"));
  }
  std::unique_ptr<Kernel> find_kernel(Module& module, const std::string& name) override {
    ++lookups;
    auto& kernels = static_cast<HostModule&>(module).kernels;
    auto found = kernels.find(name);
    if (found == kernels.end()) throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message("the module has no kernel " + name));
    auto kernel = std::make_unique<HostKernel>();
    kernel->parameters = found->second.first;
    kernel->function = found->second.second;
    return kernel;
  }
  int run(Launch& launch) override {
    ++runs;
    int status = 0;  // zeroed for each launch, as a device backend's run must
    write(launch.status, &status, sizeof status);
    static_cast<HostKernel&>(launch.kernel).function(launch.args, status);
    write(launch.status, &status, sizeof status);
    int word = -1;
    read(&word, launch.status, sizeof word);
    return word;
  }
};

asp_device_arg buffer_arg(asp_device_buffer* buffer) { return {sizeof(asp_device_arg), buffer, nullptr, 0}; }
template <class T>
asp_device_arg scalar_arg(const T& value) {
  return {sizeof(asp_device_arg), nullptr, &value, sizeof value};
}
asp_launch_config grid(std::uint64_t blocks, std::uint64_t threads) {
  asp_launch_config config{};
  config.struct_size = sizeof config;
  config.grid[0] = blocks;
  config.block[0] = threads;
  config.grid[1] = config.grid[2] = config.block[1] = config.block[2] = 1;
  return config;
}

class DeviceProtocolTest : public testing::Test {
 protected:
  DeviceProtocolTest() {
    // fill(x, value): x[0..3] = value; fails with status 7 when value is negative.
    device_.kernels_["asp_entry_fill"] = {3, [](std::span<const DeviceProtocol::Argument> args, int& status) {
                                            double value = 0;
                                            std::memcpy(&value, args[1].scalar, sizeof value);
                                            if (value < 0) status = 7;
                                            for (int i = 0; i < 4; ++i) HostDevice::data(args[0])[i] = value;
                                          }};
    device_.kernels_["asp_entry_no_status"] = {0, [](auto, int&) {}};
    module_ = device_.load(call_, "");
  }
  ~DeviceProtocolTest() override { device_.unload(module_); }

  int launch(const char* function, std::vector<asp_device_arg> args, const asp_launch_config& config) {
    return device_.launch(call_, module_, function, args, config);
  }
  std::string error_of(const std::function<void()>& body) {
    try {
      body();
    } catch (const asp::Error& e) {
      EXPECT_EQ(e.status(), ASP_ERR_INVALID_ARGUMENT) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
  }

  asp::Call call_{nullptr, nullptr};
  HostDevice device_;
  asp_device_module* module_ = nullptr;
};

TEST_F(DeviceProtocolTest, TheStatusWordIsOneBufferOfTheModule) { EXPECT_EQ(device_.allocations.load(), 1); }

TEST_F(DeviceProtocolTest, CopiesRoundTripAndAreChecked) {
  asp_device_buffer* buffer = device_.allocate(call_, 4 * sizeof(double));
  const std::vector<double> in{1, 2, 3, 4};
  device_.copy_in(call_, buffer, in.data(), 4 * sizeof(double));
  std::vector<double> out(4);
  device_.copy_out(call_, out.data(), buffer, 4 * sizeof(double));
  EXPECT_EQ(out, in);
  device_.copy_in(call_, buffer, nullptr, 0);  // nothing to copy: no host memory needed
  EXPECT_THAT(error_of([&] { device_.copy_in(call_, buffer, in.data(), 5 * sizeof(double)); }),
              HasSubstr("Host: copying to the device: 40 bytes do not fit the buffer of 32"));
  EXPECT_THAT(error_of([&] { device_.copy_out(call_, out.data(), buffer, 5 * sizeof(double)); }),
              HasSubstr("Host: copying from the device: 40 bytes do not fit"));
  EXPECT_THAT(error_of([&] { device_.copy_out(call_, nullptr, buffer, 8); }), HasSubstr("needs a buffer and host memory"));
  EXPECT_THAT(error_of([&] { device_.copy_in(call_, nullptr, in.data(), 8); }), HasSubstr("needs a buffer and host memory"));
  device_.release(buffer);
}

TEST_F(DeviceProtocolTest, LaunchesReturnTheStatusWordAndLookEachKernelUpOnce) {
  asp_device_buffer* x = device_.allocate(call_, 4 * sizeof(double));
  const double value = 2.5, negative = -1;
  EXPECT_EQ(launch("fill", {buffer_arg(x), scalar_arg(value)}, grid(1, 4)), ASP_C_OK);
  std::vector<double> out(4);
  device_.copy_out(call_, out.data(), x, sizeof(double) * 4);
  EXPECT_EQ(out, std::vector<double>(4, 2.5));
  EXPECT_EQ(launch("fill", {buffer_arg(x), scalar_arg(negative)}, grid(1, 4)), 7);
  EXPECT_EQ(launch("fill", {buffer_arg(x), scalar_arg(value)}, grid(1, 4)), ASP_C_OK);  // zeroed for each launch
  EXPECT_EQ(device_.lookups, 1);
  EXPECT_EQ(device_.runs, 3);
  device_.release(x);
}

TEST_F(DeviceProtocolTest, AnEmptyGridRunsNothingButIsChecked) {
  asp_device_buffer* x = device_.allocate(call_, 4 * sizeof(double));
  const double value = -1;
  EXPECT_EQ(launch("fill", {buffer_arg(x), scalar_arg(value)}, grid(0, 4)), ASP_C_OK);
  EXPECT_EQ(launch("fill", {buffer_arg(x), scalar_arg(value)}, grid(4, 0)), ASP_C_OK);
  EXPECT_EQ(device_.runs, 0);
  EXPECT_THAT(error_of([&] { launch("missing", {}, grid(0, 4)); }), HasSubstr("no kernel asp_entry_missing"));
  EXPECT_THAT(error_of([&] { launch("fill", {buffer_arg(x)}, grid(0, 4)); }),
              HasSubstr("Host: launching asp_entry_fill: the kernel takes 2 parameters before the status word, the "
                        "launch passes 1"));
  device_.release(x);
}

TEST_F(DeviceProtocolTest, RefusesMalformedArgumentsAndShapes) {
  const double value = 1;
  asp_device_arg short_arg = scalar_arg(value);
  short_arg.struct_size = offsetof(asp_device_arg, scalar_size);
  EXPECT_THAT(error_of([&] { launch("fill", {short_arg, scalar_arg(value)}, grid(1, 1)); }),
              HasSubstr("Host: launching asp_entry_fill, argument 0 is malformed"));
  const asp_device_arg neither{sizeof(asp_device_arg), nullptr, nullptr, 0};
  EXPECT_THAT(error_of([&] { launch("fill", {scalar_arg(value), neither}, grid(1, 1)); }),
              HasSubstr("argument 1 is neither a buffer nor a scalar"));
  EXPECT_THAT(error_of([&] { launch("fill", {}, grid(1, 4096)); }), HasSubstr("the block is too large"));
  EXPECT_THAT(error_of([&] { launch("no_status", {}, grid(1, 1)); }),
              HasSubstr("kernel asp_entry_no_status has no status word parameter"));
  EXPECT_EQ(device_.runs, 0);
}

TEST_F(DeviceProtocolTest, LaunchesFromSeveralThreadsShareTheModule) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      asp_device_buffer* x = device_.allocate(call_, 4 * sizeof(double));
      const double value = t;
      for (int i = 0; i < 50; ++i) {
        if (launch("fill", {buffer_arg(x), scalar_arg(value)}, grid(1, 4)) != ASP_C_OK) ++failures[t];
      }
      std::vector<double> out(4);
      device_.copy_out(call_, out.data(), x, sizeof(double) * 4);
      if (out != std::vector<double>(4, value)) ++failures[t];
      device_.release(x);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
  EXPECT_EQ(device_.lookups, 1);
}

}  // namespace
