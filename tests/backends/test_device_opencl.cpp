// Generated OpenCL C on a real OpenCL implementation (PoCL here): kernels
// mapped onto the grid, launched with the grid their gpu loops ask for, give
// bitwise the interpreter's results; a bad index and a division by zero come
// back through the status word.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "device_codegen.hpp"
#include "gpu_map.hpp"

#include "gpu_kernels.hpp"

#include <asp/psir_verify.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <cstring>
#include <memory>

namespace {

using namespace asp::psir;
using asp::test::Buffers;
using asp::test::random_values;
using asp::test::Scalars;
using asp::test::n;

template <class T>
using Handle = std::unique_ptr<std::remove_pointer_t<T>, cl_int (*)(T)>;

// The first OpenCL device, shared by every test: creating a context is slow.
struct Device {
  cl_device_id id = nullptr;
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;

  static Device* get() {
    static Device* device = open();
    return device;
  }

 private:
  static Device* open() {
    cl_platform_id platform;
    cl_uint platforms = 0;
    if (clGetPlatformIDs(1, &platform, &platforms) != CL_SUCCESS || platforms == 0) return nullptr;
    auto* d = new Device;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &d->id, nullptr);
    if (err == CL_SUCCESS) d->context = clCreateContext(nullptr, 1, &d->id, nullptr, nullptr, &err);
    if (err == CL_SUCCESS) d->queue = clCreateCommandQueue(d->context, d->id, 0, &err);
    return err == CL_SUCCESS ? d : nullptr;
  }
};

class OpenCL : public testing::Test {
 protected:
  void SetUp() override {
    if (!Device::get()) GTEST_SKIP() << "no OpenCL platform with a device";
  }
  static Device& device() { return *Device::get(); }
};

// Builds the device source of `module`; fails the test with the build log if it does not compile.
Handle<cl_program> build(Device& device, const Module& module) {
  const std::string source = asp::backends::generate_device(module, asp::backends::opencl_c_dialect());
  const char* text = source.c_str();
  cl_int err;
  Handle<cl_program> program(clCreateProgramWithSource(device.context, 1, &text, nullptr, &err), clReleaseProgram);
  EXPECT_EQ(err, CL_SUCCESS);
  if (clBuildProgram(program.get(), 1, &device.id, "", nullptr, nullptr) != CL_SUCCESS) {
    std::size_t size = 0;
    clGetProgramBuildInfo(program.get(), device.id, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
    std::string log(size, '\0');
    clGetProgramBuildInfo(program.get(), device.id, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
    ADD_FAILURE() << "the OpenCL compiler rejected the generated source:\n" << log << "\n" << source;
    return {nullptr, clReleaseProgram};
  }
  return program;
}

// Values held as doubles (as the interpreter holds them) <-> elements of PSIR type `t`.
template <class T>
void convert(std::vector<unsigned char>& bytes, std::vector<double>& values, bool to_device) {
  if (to_device) bytes.resize(values.size() * sizeof(T));
  for (std::size_t i = 0; i < values.size(); ++i) {
    T v;
    if (to_device) {
      v = static_cast<T>(values[i]);
      std::memcpy(bytes.data() + i * sizeof(T), &v, sizeof(T));
    } else {
      std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
      values[i] = static_cast<double>(v);
    }
  }
}

void convert(Type t, std::vector<unsigned char>& bytes, std::vector<double>& values, bool to_device) {
  switch (t) {
    case Type::f64: return convert<double>(bytes, values, to_device);
    case Type::f32: return convert<float>(bytes, values, to_device);
    case Type::i64: return convert<std::int64_t>(bytes, values, to_device);
    case Type::i32: return convert<std::int32_t>(bytes, values, to_device);
    case Type::u8:
    case Type::boolean: return convert<std::uint8_t>(bytes, values, to_device);
    default: throw std::logic_error(std::string("the test does not convert ") + type_name(t));
  }
}

// Launches f's kernels (one per launch, psir::device_launches) in order, each
// with the grid its gpu loops ask for, up to the first that sets the status
// word; returns the status word.
int run(Device& device, cl_program program, const Function& f, Buffers& buffers, const Scalars& scalars) {
  cl_int err;
  std::vector<Handle<cl_mem>> memory;
  std::vector<std::vector<unsigned char>> bytes(f.params.size());
  for (std::size_t k = 0; k < f.params.size(); ++k) {
    const Param& p = f.params[k];
    if (p.kind == Param::Kind::buffer) {
      convert(p.type, bytes[k], buffers.at(p.name), true);
      memory.emplace_back(clCreateBuffer(device.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes[k].size(),
                                         bytes[k].data(), &err),
                          clReleaseMemObject);
    } else {
      std::vector<double> value{scalars.at(p.name)};
      convert(p.type, bytes[k], value, true);
    }
  }
  int status = 0;
  Handle<cl_mem> status_word(
      clCreateBuffer(device.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof status, &status, &err), clReleaseMemObject);
  cl_mem s = status_word.get();
  for (const Function& launch : device_launches(f)) {
    Handle<cl_kernel> kernel(clCreateKernel(program, ("asp_entry_" + launch.name).c_str(), &err), clReleaseKernel);
    EXPECT_EQ(err, CL_SUCCESS) << launch.name;
    for (std::size_t k = 0, next = 0; k < f.params.size(); ++k) {
      const Param& p = f.params[k];
      if (p.kind == Param::Kind::buffer) {
        cl_mem m = memory[next++].get();
        EXPECT_EQ(clSetKernelArg(kernel.get(), static_cast<cl_uint>(k), sizeof m, &m), CL_SUCCESS) << p.name;
      } else {
        EXPECT_EQ(clSetKernelArg(kernel.get(), static_cast<cl_uint>(k), bytes[k].size(), bytes[k].data()), CL_SUCCESS) << p.name;
      }
    }
    clSetKernelArg(kernel.get(), static_cast<cl_uint>(f.params.size()), sizeof s, &s);
    const asp::test::Grid grid = asp::test::launch_grid(launch, scalars);
    std::size_t global[3], local[3];
    for (std::size_t d = 0; d < 3; ++d) {
      global[d] = static_cast<std::size_t>(grid.blocks[d] * grid.threads[d]);
      local[d] = static_cast<std::size_t>(grid.threads[d]);
    }
    if (global[0] * global[1] * global[2] > 0) {
      EXPECT_EQ(clEnqueueNDRangeKernel(device.queue, kernel.get(), 3, nullptr, global, local, 0, nullptr, nullptr), CL_SUCCESS);
    }
    clEnqueueReadBuffer(device.queue, s, CL_TRUE, 0, sizeof status, &status, 0, nullptr, nullptr);
    if (status != 0) break;
  }
  std::size_t next = 0;
  for (std::size_t k = 0; k < f.params.size(); ++k) {
    const Param& p = f.params[k];
    if (p.kind != Param::Kind::buffer) continue;
    clEnqueueReadBuffer(device.queue, memory[next++].get(), CL_TRUE, 0, bytes[k].size(), bytes[k].data(), 0, nullptr, nullptr);
    convert(p.type, bytes[k], buffers.at(p.name), false);
  }
  return status;
}

// Every function of map_to_gpu({original}) on the device against the interpreter running the original.
void expect_interpreter_results(Device& device, const Function& original, const Buffers& inputs, const Scalars& scalars) {
  const Module mapped = asp::backends::map_to_gpu(Module{{original}});
  const Handle<cl_program> program = build(device, mapped);
  ASSERT_TRUE(program);
  Buffers expected = inputs;
  asp::test::interpret(original, expected, scalars);
  for (const Function& f : mapped.functions) {
    Buffers actual = inputs;
    EXPECT_EQ(run(device, program.get(), f, actual, scalars), ASP_C_OK) << f.name;
    EXPECT_EQ(actual, expected) << f.name;
  }
}

TEST_F(OpenCL, MappedStencilsMatchTheInterpreterBitwise) {
  // Interior 4 x 8 x 64 fills whole blocks of some shapes; 3 x 5 x 35 fills none.
  for (auto [n0, n1, n2] : {std::tuple{6, 10, 66}, {5, 7, 37}}) {
    const auto count = static_cast<std::size_t>(n0 * n1 * n2);
    const Buffers grid{{"in", random_values(count, 5)}, {"out", std::vector<double>(count, 0.0)}};
    const Scalars sizes{{"n0", n0}, {"n1", n1}, {"n2", n2}};
    expect_interpreter_results(device(), asp::test::laplacian3d_parallel(), grid, sizes);
    expect_interpreter_results(device(), asp::test::laplacian3d(), grid, sizes);  // only the outer loop maps
  }
}

TEST_F(OpenCL, OneDimensionalKernelsMatchTheInterpreterBitwise) {
  for (std::int64_t count : {256, 300}) {
    const auto size = static_cast<std::size_t>(count);
    std::vector<double> index(size), table = random_values(17, 6);
    for (std::size_t i = 0; i < size; ++i) index[i] = static_cast<double>((i * 5) % 17);
    for (double& v : table) v = static_cast<float>(v);
    expect_interpreter_results(device(), asp::test::gather(),
                               {{"table", table}, {"index", index}, {"out", std::vector<double>(size, 0.0)}},
                               {{"scale", 0.25}, {"m", 17}, {"n", static_cast<double>(count)}});
    const Buffers rows{{"x", random_values(size * 9, 7)}, {"out", std::vector<double>(size, 0.0)}};
    expect_interpreter_results(device(), asp::test::row_sums(), rows, {{"n", static_cast<double>(count)}, {"m", 9}});
    for (double flip : {0.0, 1.0}) {
      expect_interpreter_results(device(), asp::test::negate_if(),
                                 {{"x", random_values(size, 8)}, {"out", std::vector<double>(size, 0.0)}},
                                 {{"flip", flip}, {"n", static_cast<double>(count)}});
    }
  }
}

TEST_F(OpenCL, UnmappedFunctionsRunAsOneThread) {
  // A reduction over the whole array cannot map; one thread still computes it right.
  expect_interpreter_results(device(), asp::test::sum_reduction(), {{"x", random_values(1000, 9)}, {"out", {0.0}}},
                             {{"n", 1000}});
}

TEST_F(OpenCL, NestsInSequenceRunAsLaunchesInOrder) {
  // The second nest reads what the first wrote; in the other, a serial in-place
  // sweep between them runs as one thread, after the first and before the second.
  Function around = asp::test::two_nests("around");
  Loop sweep{"j", i64(1), n("n"), 1, LoopKind::serial, 0,
             {make_store("a", {n("j")}, add(load("a", Type::f64, {n("j")}), load("a", Type::f64, {sub(n("j"), i64(1))})))}};
  around.body.insert(around.body.begin() + 1, make_loop(sweep));
  for (const Function& f : {asp::test::two_nests(), around}) {
    for (std::int64_t size : {1000, 37}) {
      const auto count = static_cast<std::size_t>(size);
      expect_interpreter_results(device(), f,
                                 {{"x", random_values(count, 10)}, {"a", std::vector<double>(count)}, {"b", std::vector<double>(count)}},
                                 {{"n", static_cast<double>(size)}});
    }
  }
}

TEST_F(OpenCL, ADataDependentIndexOutOfBoundsSetsTheStatus) {
  const Module mapped = asp::backends::map_to_gpu(Module{{asp::test::gather(), asp::test::scatter()}});
  const Handle<cl_program> program = build(device(), mapped);
  ASSERT_TRUE(program);
  std::vector<double> index(100, 3.0);
  index[42] = 17;  // table has 17 elements
  Buffers gather{{"table", random_values(17, 11)}, {"index", index}, {"out", std::vector<double>(100, 0.0)}};
  EXPECT_EQ(run(device(), program.get(), *mapped.function("gather_b64x1x1"), gather, {{"scale", 1}, {"m", 17}, {"n", 100}}),
            ASP_C_OUT_OF_BOUNDS + 0);

  index[42] = -1;  // a store: nothing is written, and out is parameter 2
  Buffers scatter{{"x", random_values(100, 12)}, {"index", index}, {"out", std::vector<double>(17, 0.0)}};
  EXPECT_EQ(run(device(), program.get(), *mapped.function("scatter_b64x1x1"), scatter, {{"n", 100}, {"m", 17}}),
            ASP_C_OUT_OF_BOUNDS + 2);
  EXPECT_EQ(scatter["out"][0], 0.0);
}

TEST_F(OpenCL, DivisionByZeroSetsTheStatus) {
  const Module mapped = asp::backends::map_to_gpu(Module{{asp::test::quotients()}});
  const Handle<cl_program> program = build(device(), mapped);
  ASSERT_TRUE(program);
  std::vector<double> a(300), b(300, 3.0);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<double>(i) - 150;
  Buffers buffers{{"a", a}, {"b", b}, {"q", std::vector<double>(300, 0.0)}};
  const Function& f = mapped.functions[0];
  EXPECT_EQ(run(device(), program.get(), f, buffers, {{"n", 300}}), ASP_C_OK);
  EXPECT_EQ(buffers["q"][0], -50);
  EXPECT_EQ(buffers["q"][1], -49);  // C truncates toward zero, as PSIR's '/' does
  buffers["b"][299] = 0;
  EXPECT_EQ(run(device(), program.get(), f, buffers, {{"n", 300}}), ASP_C_ZERO_DIVISION);
}

// Where Python raises, the status names the error, the operation and its line;
// what Python computes without raising (exp(inf), sqrt(inf)) is no error.
TEST_F(OpenCL, PythonErrorsSetTheStatusWithTheLine) {
  const Module mapped = asp::backends::map_to_gpu(Module{{asp::test::python_errors()}});
  const Handle<cl_program> program = build(device(), mapped);
  ASSERT_TRUE(program);
  const std::size_t count = 6 * 70;
  const double inf = std::numeric_limits<double>::infinity();
  const std::pair<double, int> cases[] = {
      {3.0, ASP_C_OK},
      {-1.0, ASP_C_PYTHON_ERROR_STATUS(ASP_C_MATH_DOMAIN, ASP_C_OP_SQRT, 12)},
      {800.0, ASP_C_PYTHON_ERROR_STATUS(ASP_C_MATH_RANGE, ASP_C_OP_EXP, 13)},
      {inf, ASP_C_PYTHON_ERROR_STATUS(ASP_C_INT_OF_INF, ASP_C_OP_FLOOR, 14)},
      {std::nan(""), ASP_C_PYTHON_ERROR_STATUS(ASP_C_INT_OF_NAN, ASP_C_OP_FLOOR, 14)},
      {-inf, ASP_C_PYTHON_ERROR_STATUS(ASP_C_MATH_DOMAIN, ASP_C_OP_SQRT, 12)},  // the first in the source
  };
  for (const Function& f : mapped.functions) {
    for (std::size_t at : {std::size_t{0}, count - 1}) {
      for (auto [value, expected] : cases) {
        std::vector<double> x(count, 2.25);
        x[at] = value;
        Buffers buffers{{"x", x}, {"out", std::vector<double>(count)}, {"k", std::vector<double>(count)}};
        EXPECT_EQ(run(device(), program.get(), f, buffers, {{"n", 6}, {"m", 70}}), expected) << f.name << " " << value;
        EXPECT_EQ(buffers["k"][at == 0 ? 1 : 0], 2) << f.name;  // the other points computed on
      }
    }
  }
}

TEST_F(OpenCL, EveryNodeKindAndIntrinsicCompiles) {
  EXPECT_TRUE(build(device(), Module{{asp::test::every_node(), asp::test::every_intrinsic()}}));
}

}  // namespace
