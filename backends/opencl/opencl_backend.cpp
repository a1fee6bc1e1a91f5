// The OpenCL backend: PSIR -> OpenCL C built by the platform's compiler
// through the ICD loader. This library so far provides the probe.
#include <asp/plugin.hpp>

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <string>
#include <vector>

namespace {

std::string platform_text(cl_platform_id platform, cl_platform_info what) {
  size_t size = 0;
  if (clGetPlatformInfo(platform, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  clGetPlatformInfo(platform, what, size, text.data(), nullptr);
  text.resize(size - 1);
  return text;
}

std::string device_text(cl_device_id device, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  clGetDeviceInfo(device, what, size, text.data(), nullptr);
  text.resize(size - 1);
  return text;
}

const char* device_kind(cl_device_id device) {
  cl_device_type type = 0;
  clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, nullptr);
  if (type & CL_DEVICE_TYPE_GPU) return "GPU";
  if (type & CL_DEVICE_TYPE_CPU) return "CPU";
  if (type & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
  return "device";
}

class OpenCLBackend : public asp::Backend {
 public:
  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override {
    cl_uint platform_count = 0;
    const cl_int status = clGetPlatformIDs(0, nullptr, &platform_count);
    if (status != CL_SUCCESS || platform_count == 0) {
      return asp::Probe::no("no OpenCL platform: the ICD loader found none (install an ICD such as pocl-opencl-icd)");
    }
    std::vector<cl_platform_id> platforms(platform_count);
    clGetPlatformIDs(platform_count, platforms.data(), nullptr);
    std::string found;
    for (cl_platform_id platform : platforms) {
      cl_uint device_count = 0;
      if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &device_count) != CL_SUCCESS) continue;
      std::vector<cl_device_id> devices(device_count);
      clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, device_count, devices.data(), nullptr);
      for (cl_device_id device : devices) {
        found += (found.empty() ? "" : "; ") + platform_text(platform, CL_PLATFORM_NAME) + ": " +
                 device_text(device, CL_DEVICE_NAME) + " (" + device_kind(device) + ", " +
                 device_text(device, CL_DEVICE_VERSION) + ")";
      }
    }
    if (found.empty()) return asp::Probe::no("no OpenCL device: the platforms found list no devices");
    return asp::Probe::yes(found);
  }
};

}  // namespace

ASP_PLUGIN("opencl", ASP_CORE_VERSION, "OpenCL C for any OpenCL device (PoCL on CPUs)",
           asp::backend<OpenCLBackend>("opencl"))
