// Generated CUDA C++ compiles with NVRTC (as the cuda backend compiles it:
// no headers, --fmad=false) to PTX with one entry per PSIR function. No GPU
// is needed: nothing here runs.
#include "device_codegen.hpp"
#include "gpu_map.hpp"

#include "gpu_kernels.hpp"

#include <asp/psir_verify.hpp>

#include <nvrtc.h>

#include <gtest/gtest.h>

namespace {

using namespace asp::psir;

// PTX for compute_90, or the empty string with the compiler's log reported as a failure.
std::string compile(const std::string& source) {
  nvrtcProgram program;
  EXPECT_EQ(nvrtcCreateProgram(&program, source.c_str(), "asp.cu", 0, nullptr, nullptr), NVRTC_SUCCESS);
  const char* options[] = {"--gpu-architecture=compute_90", "--fmad=false"};
  const nvrtcResult result = nvrtcCompileProgram(program, 2, options);
  std::string ptx;
  if (result == NVRTC_SUCCESS) {
    std::size_t size = 0;
    nvrtcGetPTXSize(program, &size);
    ptx.resize(size);
    nvrtcGetPTX(program, ptx.data());
  } else {
    std::size_t size = 0;
    nvrtcGetProgramLogSize(program, &size);
    std::string log(size, '\0');
    nvrtcGetProgramLog(program, log.data());
    ADD_FAILURE() << nvrtcGetErrorString(result) << ":\n" << log << "\n" << source;
  }
  nvrtcDestroyProgram(&program);
  return ptx;
}

TEST(Nvrtc, EveryKernelCompilesToAnEntryPerFunction) {
  Module module;
  // Each mapped on its own: in one module the deepest nest would make map_to_gpu leave the others out.
  for (const Function& f : {asp::test::laplacian3d_parallel(), asp::test::laplacian3d(), asp::test::gather(),
                            asp::test::sum_reduction(), asp::test::row_sums(), asp::test::triangle(), asp::test::two_nests(),
                            asp::test::scatter(), asp::test::quotients(), asp::test::negate_if(), asp::test::every_node(),
                            asp::test::every_intrinsic(), asp::test::python_errors()}) {
    for (Function& g : asp::backends::map_to_gpu(Module{{f}}).functions) module.functions.push_back(std::move(g));
  }
  const std::string ptx = compile(asp::backends::generate_device(module, asp::backends::cuda_c_dialect()));
  ASSERT_FALSE(ptx.empty());
  for (const Function& f : module.functions) {
    // A function of several launches has one entry per launch.
    for (const Function& launch : device_launches(f)) {
      EXPECT_NE(ptx.find(".entry asp_entry_" + launch.name + "("), std::string::npos) << launch.name;
    }
  }
}

}  // namespace
