// The CUDA backend. libcuda.so.1 is opened at run time, never linked, so a
// machine without an NVIDIA driver loads this library and reports the backend
// unavailable with the reason.
#include <asp/plugin.hpp>

#include <cuda.h>
#include <dlfcn.h>

#include <string>

namespace {

// The driver entry points the probe needs, resolved from libcuda.so.1.
struct Driver {
  void* handle = nullptr;
  decltype(&cuInit) init = nullptr;
  decltype(&cuDriverGetVersion) driver_version = nullptr;
  decltype(&cuDeviceGetCount) device_count = nullptr;
  decltype(&cuDeviceGet) device_get = nullptr;
  decltype(&cuDeviceGetName) device_name = nullptr;
  decltype(&cuDeviceGetAttribute) device_attribute = nullptr;
  std::string error;  // why the driver cannot be used

  Driver() {
    handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      error = std::string("no CUDA driver: ") + (why ? why : "libcuda.so.1 not found");
      return;
    }
    bool complete = resolve(init, "cuInit") && resolve(driver_version, "cuDriverGetVersion") &&
                    resolve(device_count, "cuDeviceGetCount") && resolve(device_get, "cuDeviceGet") &&
                    resolve(device_name, "cuDeviceGetName") && resolve(device_attribute, "cuDeviceGetAttribute");
    if (!complete) error = "the CUDA driver in libcuda.so.1 lacks a needed entry point";
  }

  template <class F>
  bool resolve(F& function, const char* name) {
    function = reinterpret_cast<F>(dlsym(handle, name));
    return function != nullptr;
  }
};

const Driver& driver() {
  static const Driver loaded;  // the handle stays open for the process
  return loaded;
}

class CudaBackend : public asp::Backend {
 public:
  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override {
    const Driver& d = driver();
    if (!d.error.empty()) return asp::Probe::no(d.error);
    if (CUresult r = d.init(0); r != CUDA_SUCCESS) {
      return asp::Probe::no("the CUDA driver failed to initialise (CUresult " + std::to_string(r) + ")");
    }
    int count = 0;
    if (d.device_count(&count) != CUDA_SUCCESS || count == 0) return asp::Probe::no("no CUDA device");
    std::string found;
    for (int i = 0; i < count; ++i) {
      CUdevice device = 0;
      char name[256] = {};
      int major = 0, minor = 0;
      if (d.device_get(&device, i) != CUDA_SUCCESS) continue;
      d.device_name(name, sizeof name, device);
      d.device_attribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
      d.device_attribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
      found += (found.empty() ? "" : "; ") + std::string(name) + " (sm_" + std::to_string(major * 10 + minor) + ")";
    }
    int version = 0;
    d.driver_version(&version);
    return asp::Probe::yes(found + ", driver " + std::to_string(version / 1000) + "." +
                           std::to_string(version % 1000 / 10));
  }
};

}  // namespace

ASP_PLUGIN("cuda", ASP_CORE_VERSION, "CUDA C for NVIDIA GPUs (NVRTC, driver API)", asp::backend<CudaBackend>("cuda"))
