// What an out-of-tree device backend reuses from the installed headers: a
// dialect derived from one of Asp's (here OpenCL C under another banner),
// the device code generator, and DeviceProtocol's checks around a device
// whose memory is the host's. Exits non-zero, saying why, on a mismatch.
#include <asp/backends/c_codegen.hpp>
#include <asp/backends/device_codegen.hpp>
#include <asp/backends/device_protocol.hpp>
#include <asp/backends/read_psir.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* kPsir =
    "asp-ir 1 psir\n"
    "func scale(x: buffer f64[n], n: i64, a: f64) {\n"
    "  for i in 0:i64 .. n step 1 gpu_thread(0) {\n"
    "    store x[i] = (x[i] * a)\n"
    "  }\n"
    "}\n";

int failures = 0;
void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

// OpenCL C with the banner of another backend: every other hook is Asp's.
class BannerDialect : public asp::backends::Dialect {
 public:
  explicit BannerDialect(const asp::backends::Dialect& base) : base_(base) {}
  std::string prelude() const override { return "/* my backend */\n" + base_.prelude(); }
  bool device() const override { return base_.device(); }
  const char* local_function() const override { return base_.local_function(); }
  const char* status_type() const override { return base_.status_type(); }
  const char* status_pointer() const override { return base_.status_pointer(); }
  const char* status_store() const override { return base_.status_store(); }
  const char* kernel_head() const override { return base_.kernel_head(); }
  const char* buffer_space() const override { return base_.buffer_space(); }
  std::string math(const std::string& name, asp::psir::Type t) const override { return base_.math(name, t); }
  std::string special_float(bool nan, asp::psir::Type t) const override { return base_.special_float(nan, t); }
  std::string double_bits(const std::string& value) const override { return base_.double_bits(value); }
  std::string copysign_zero(const std::string& type) const override { return base_.copysign_zero(type); }
  std::string gpu_index(asp::psir::LoopKind kind, int dim) const override { return base_.gpu_index(kind, dim); }
  Sharing sharing() const override { return base_.sharing(); }
  const char* unroll_pragma() const override { return base_.unroll_pragma(); }
  bool streaming_stores() const override { return base_.streaming_stores(); }

 private:
  const asp::backends::Dialect& base_;
};

class HostDevice : public asp::backends::DeviceProtocol {
 public:
  struct HostBuffer : Buffer {
    std::vector<unsigned char> memory;
  };
  struct HostModule : Module {};

  HostDevice() : DeviceProtocol("Host") {}
  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override { return asp::Probe::yes("host"); }
  std::int32_t device_type() const override { return 1; }
  std::string target(asp::Call&) override { return "host"; }
  std::string compile(asp::Call&, std::string_view source) override { return std::string(source); }
  asp_device_module* load(asp::Call& call, std::string_view) override {
    return adopt(call, std::make_unique<HostModule>());
  }
  asp_device_buffer* allocate(asp::Call&, std::size_t bytes) override {
    auto buffer = std::make_unique<HostBuffer>();
    buffer->bytes = bytes;
    buffer->memory.resize(bytes);
    return handle(std::move(buffer));
  }

 private:
  void write(Buffer& to, const void* from, std::size_t bytes) override {
    std::memcpy(static_cast<HostBuffer&>(to).memory.data(), from, bytes);
  }
  void read(void* to, Buffer& from, std::size_t bytes) override {
    std::memcpy(to, static_cast<HostBuffer&>(from).memory.data(), bytes);
  }
  void check_shape(const asp_launch_config&, const std::string&) override {}
  std::unique_ptr<Kernel> find_kernel(Module&, const std::string& name) override {
    if (name != "asp_entry_scale") throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message("no kernel " + name));
    auto kernel = std::make_unique<Kernel>();
    kernel->parameters = 4;  // x, n, a and the status word
    return kernel;
  }
  // x *= a on the host, as the generated kernel would on a device.
  int run(Launch& launch) override {
    int status = 0;
    write(launch.status, &status, sizeof status);
    auto* x = reinterpret_cast<double*>(static_cast<HostBuffer*>(launch.args[0].buffer)->memory.data());
    std::int64_t n = 0;
    double a = 0;
    std::memcpy(&n, launch.args[1].scalar, sizeof n);
    std::memcpy(&a, launch.args[2].scalar, sizeof a);
    for (std::int64_t i = 0; i < n; ++i) x[i] *= a;
    read(&status, launch.status, sizeof status);
    return status;
  }
};

}  // namespace

int main() {
  const asp::psir::Module module = asp::backends::read_psir(kPsir);
  const std::string source = asp::backends::generate_device(module, BannerDialect(asp::backends::opencl_c_dialect()));
  const std::string plain = asp::backends::generate_device(module, asp::backends::opencl_c_dialect());
  expect(source == "/* my backend */\n" + plain, "a derived dialect changes only what it overrides");
  expect(plain.find("__kernel void asp_entry_scale(") != std::string::npos, "the OpenCL kernel is generated");
  expect(plain.find("get_local_id(0)") != std::string::npos, "the gpu loop reads the OpenCL thread index");

  HostDevice device;
  asp::Call call(nullptr, nullptr);
  asp_device_module* loaded = device.load(call, "");
  asp_device_buffer* x = device.allocate(call, 3 * sizeof(double));
  const std::vector<double> in{1, 2, 3};
  device.copy_in(call, x, in.data(), 3 * sizeof(double));
  const std::int64_t n = 3;
  const double a = 2;
  const asp_device_arg args[] = {{sizeof(asp_device_arg), x, nullptr, 0},
                                 {sizeof(asp_device_arg), nullptr, &n, sizeof n},
                                 {sizeof(asp_device_arg), nullptr, &a, sizeof a}};
  asp_launch_config config{sizeof(asp_launch_config), {1, 1, 1}, {3, 1, 1}};
  expect(device.launch(call, loaded, "scale", args, config) == 0, "the launch reports success");
  std::vector<double> out(3);
  device.copy_out(call, out.data(), x, 3 * sizeof(double));
  expect(out == std::vector<double>{2, 4, 6}, "the launch ran on the buffer");
  try {
    device.launch(call, loaded, "scale", std::span(args, 2), config);
    expect(false, "a launch with too few arguments is refused");
  } catch (const asp::Error& e) {
    expect(std::string(e.what()).find("the kernel takes 3 parameters before the status word") != std::string::npos,
           "the protocol says how many arguments the kernel takes");
  }
  device.release(x);
  device.unload(loaded);
  if (failures == 0) std::puts("device pieces: ok");
  return failures == 0 ? 0 : 1;
}
