// Device source without a device: generated OpenCL C and CUDA C++ are
// checked in like generated C (ASP_UPDATE_GOLDEN=1 rewrites the files), and
// what a device cannot run is refused with the reason.
#include "c_codegen.hpp"
#include "device_codegen.hpp"
#include "gpu_map.hpp"

#include "gpu_kernels.hpp"
#include "../golden.hpp"

#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

using namespace asp::psir;
using asp::backends::Dialect;
using asp::backends::generate_device;

// One block shape per depth, so that each golden file holds one kernel.
asp::backends::GpuMapOptions one_shape() {
  asp::backends::GpuMapOptions options;
  options.shapes_1d = {{{64, 1, 1}}};
  options.shapes_3d = {{{32, 4, 2}}};
  return options;
}

TEST(DeviceCodegen, MatchesTheGoldenFiles) {
  // two_nests: one kernel per launch.
  for (const Function& f : {asp::test::laplacian3d_parallel(), asp::test::gather(), asp::test::two_nests()}) {
    const Module mapped = asp::backends::map_to_gpu(Module{{f}}, one_shape());
    for (auto [dialect, suffix] : {std::pair<const Dialect*, const char*>{&asp::backends::opencl_c_dialect(), ".opencl.cl"},
                                  {&asp::backends::cuda_c_dialect(), ".cuda.cu"}}) {
      const std::string source = generate_device(mapped, *dialect);
      const std::string golden = std::string(ASP_TEST_GOLDEN_DIR) + "/" + f.name + suffix;
      asp::test::expect_golden(source, golden);
    }
  }
}

// Python's errors: the golden files show the branch-free flags and their one
// report per thread; the C backends' are checked in beside them.
TEST(DeviceCodegen, PythonErrorsMatchTheGoldenFiles) {
  const Function f = asp::test::python_errors();
  const Module mapped = asp::backends::map_to_gpu(Module{{f}}, one_shape());
  for (auto [dialect, suffix] : {std::pair<const Dialect*, const char*>{&asp::backends::opencl_c_dialect(), ".opencl.cl"},
                                  {&asp::backends::cuda_c_dialect(), ".cuda.cu"}}) {
    asp::test::expect_golden(generate_device(mapped, *dialect), std::string(ASP_TEST_GOLDEN_DIR) + "/" + f.name + suffix);
  }
  for (auto [dialect, suffix] : {std::pair<const Dialect*, const char*>{&asp::backends::c_openmp_dialect(), ".openmp.c"},
                                 {&asp::backends::c_pthreads_dialect(), ".pthreads.c"}}) {
    asp::test::expect_golden(asp::backends::generate_c(Module{{f}}, *dialect),
                             std::string(ASP_TEST_GOLDEN_DIR) + "/" + f.name + suffix);
  }
}

TEST(DeviceCodegen, PythonErrorsTextRoundTripsAndVerifies) {
  const Function f = asp::test::python_errors();
  verify(f);
  const std::string text = print(Module{{f}});
  EXPECT_THAT(text, testing::HasSubstr("(sqrt(v)@12 + exp(v)@13)"));
  EXPECT_THAT(text, testing::HasSubstr("i64(floor(v))@14"));
  EXPECT_EQ(print(parse(text)), text);
  // Only what Python raises for may carry a line.
  const std::string wrong = std::string(text).replace(text.find("floor(v))@14"), 12, "floor(v)@14)");
  EXPECT_THROW(verify(parse(wrong)), std::exception);
}

TEST(DeviceCodegen, OperationsWithoutALineAreNotChecked) {
  // The same kernel with the lines removed generates what it did before the checks existed.
  const Function f = asp::test::python_errors();
  std::string text = print(Module{{f}});
  for (const char* line : {"@12", "@13", "@14"}) text.erase(text.find(line), 3);
  const Module plain = parse(text);
  for (const Dialect* dialect : {&asp::backends::opencl_c_dialect(), &asp::backends::cuda_c_dialect()}) {
    const std::string source = generate_device(plain, *dialect);
    EXPECT_EQ(source.find("asp_fe"), std::string::npos);
    EXPECT_EQ(source.find("asp_py_"), std::string::npos);
  }
  const std::string c = asp::backends::generate_c(plain, asp::backends::c_openmp_dialect());
  EXPECT_EQ(c.find("asp_fe"), std::string::npos);
}

// Each thread would keep its own partial sum, and nothing would combine them.
TEST(DeviceCodegen, RefusesAReductionAcrossAGpuLoop) {
  Function f = asp::test::sum_reduction();
  f.body[1].loop->kind = LoopKind::gpu_thread;
  f.body[1].loop->upper = i64(64);
  verify(f);
  for (const Dialect* dialect : {&asp::backends::opencl_c_dialect(), &asp::backends::cuda_c_dialect()}) {
    try {
      generate_device(Module{{f}}, *dialect);
      ADD_FAILURE() << "generated a reduction across threads";
    } catch (const asp::Error& e) {
      EXPECT_EQ(e.status(), ASP_ERR_UNSUPPORTED);
      EXPECT_THAT(e.what(), testing::HasSubstr("'acc'"));
    }
  }
}

}  // namespace
