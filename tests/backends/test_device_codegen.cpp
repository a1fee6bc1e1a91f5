// Device source without a device: generated OpenCL C and CUDA C++ are
// checked in like generated C (ASP_UPDATE_GOLDEN=1 rewrites the files), and
// what a device cannot run is refused with the reason.
#include "device_codegen.hpp"
#include "gpu_map.hpp"

#include "gpu_kernels.hpp"
#include "../golden.hpp"

#include <asp/psir_verify.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

using namespace asp::psir;
using asp::backends::DeviceDialect;
using asp::backends::generate_device;

// One block shape per depth, so that each golden file holds one kernel.
asp::backends::GpuMapOptions one_shape() {
  asp::backends::GpuMapOptions options;
  options.shapes_1d = {{{64, 1, 1}}};
  options.shapes_3d = {{{32, 4, 2}}};
  return options;
}

TEST(DeviceCodegen, MatchesTheGoldenFiles) {
  for (const Function& f : {asp::test::laplacian3d_parallel(), asp::test::gather()}) {
    const Module mapped = asp::backends::map_to_gpu(Module{{f}}, one_shape());
    for (auto [dialect, suffix] : {std::pair{DeviceDialect::opencl, ".opencl.cl"}, {DeviceDialect::cuda, ".cuda.cu"}}) {
      const std::string source = generate_device(mapped, dialect);
      const std::string golden = std::string(ASP_TEST_GOLDEN_DIR) + "/" + f.name + suffix;
      asp::test::expect_golden(source, golden);
    }
  }
}

// Each thread would keep its own partial sum, and nothing would combine them.
TEST(DeviceCodegen, RefusesAReductionAcrossAGpuLoop) {
  Function f = asp::test::sum_reduction();
  f.body[1].loop->kind = LoopKind::gpu_thread;
  f.body[1].loop->upper = i64(64);
  verify(f);
  for (DeviceDialect dialect : {DeviceDialect::opencl, DeviceDialect::cuda}) {
    try {
      generate_device(Module{{f}}, dialect);
      ADD_FAILURE() << "generated a reduction across threads";
    } catch (const asp::Error& e) {
      EXPECT_EQ(e.status(), ASP_ERR_UNSUPPORTED);
      EXPECT_THAT(e.what(), testing::HasSubstr("'acc'"));
    }
  }
}

}  // namespace
