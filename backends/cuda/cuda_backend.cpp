// The CUDA backend: PSIR -> CUDA C (device_codegen.hpp), compiled by NVRTC to
// PTX, loaded and launched through the CUDA driver API.
//
// Both libraries are opened at run time, never linked: libcuda.so.1 (the
// driver API, installed with the NVIDIA driver) and libnvrtc (the run-time
// compiler, from the CUDA toolkit). A machine without them still loads this
// plugin, and the probe says what is missing. NVRTC alone is enough to
// compile: without a device, compile() targets compute_90.
//
// Everything runs on device 0 in its primary context (the one the CUDA
// runtime, CuPy and PyTorch use too, so their arrays can be wrapped in
// place), retained on first use and kept for the life of the process. Every
// call that touches the device first makes that context current on the
// calling thread (calls may come from any thread, rule R10) and puts back a
// different context it found current there. Work goes to the legacy default
// stream and every launch is synchronous.
#include "device_codegen.hpp"
#include "device_protocol.hpp"
#include "gpu_map.hpp"
#include "read_psir.hpp"

#include <asp/plugin.hpp>

#include <cuda.h>
#include <dlfcn.h>
#include <glob.h>
#include <nvrtc.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace {

// The architecture compile() targets when there is no device to ask.
constexpr int kDefaultArchitecture = 90;

std::string version_text(int major, int minor) { return std::to_string(major) + "." + std::to_string(minor); }

// ---- the driver API, from libcuda.so.1 ---------------------------------------

// The entry points used, by the symbol names that cuda.h maps the API names
// to (cuMemAlloc is cuMemAlloc_v2, ...), so the old ABI is never called.
struct DriverApi {
  void* handle = nullptr;
  std::string error;  // why the driver cannot be used; empty when it can

  decltype(&::cuInit) init = nullptr;
  decltype(&::cuDriverGetVersion) driver_version = nullptr;
  decltype(&::cuDeviceGetCount) device_count = nullptr;
  decltype(&::cuDeviceGet) device_get = nullptr;
  decltype(&::cuDeviceGetName) device_name = nullptr;
  decltype(&::cuDeviceGetAttribute) device_attribute = nullptr;
  decltype(&::cuGetErrorName) error_name = nullptr;
  decltype(&::cuGetErrorString) error_string = nullptr;
  decltype(&::cuDevicePrimaryCtxRetain) primary_ctx_retain = nullptr;
  decltype(&::cuCtxGetCurrent) ctx_get_current = nullptr;
  decltype(&::cuCtxSetCurrent) ctx_set_current = nullptr;
  decltype(&::cuCtxSynchronize) ctx_synchronize = nullptr;
  decltype(&::cuModuleLoadDataEx) module_load_data_ex = nullptr;
  decltype(&::cuModuleGetFunction) module_get_function = nullptr;
  decltype(&::cuModuleUnload) module_unload = nullptr;
  decltype(&::cuMemAlloc) mem_alloc = nullptr;
  decltype(&::cuMemFree) mem_free = nullptr;
  decltype(&::cuMemcpyHtoD) memcpy_htod = nullptr;
  decltype(&::cuMemcpyDtoH) memcpy_dtoh = nullptr;
  decltype(&::cuMemsetD32) memset_d32 = nullptr;
  decltype(&::cuLaunchKernel) launch_kernel = nullptr;
  decltype(&::cuPointerGetAttribute) pointer_get_attribute = nullptr;
  // Optional (driver 12.4 and later): lets launch() check arguments against the kernel's parameters.
  decltype(&::cuFuncGetParamInfo) func_get_param_info = nullptr;

  DriverApi() {
    handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      const std::string detail = why ? why : "";
      if (detail.empty() || detail.find("No such file") != std::string::npos) {
        error = "no CUDA driver: libcuda.so.1 not found (install the NVIDIA driver)";
      } else {
        error = "no CUDA driver: libcuda.so.1 could not be loaded: " + detail;
      }
      return;
    }
    std::string missing;
    auto need = [&](auto& function, const char* symbol) {
      function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(dlsym(handle, symbol));
      if (function == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(symbol);
    };
    need(init, "cuInit");
    need(driver_version, "cuDriverGetVersion");
    need(device_count, "cuDeviceGetCount");
    need(device_get, "cuDeviceGet");
    need(device_name, "cuDeviceGetName");
    need(device_attribute, "cuDeviceGetAttribute");
    need(error_name, "cuGetErrorName");
    need(error_string, "cuGetErrorString");
    need(primary_ctx_retain, "cuDevicePrimaryCtxRetain");
    need(ctx_get_current, "cuCtxGetCurrent");
    need(ctx_set_current, "cuCtxSetCurrent");
    need(ctx_synchronize, "cuCtxSynchronize");
    need(module_load_data_ex, "cuModuleLoadDataEx");
    need(module_get_function, "cuModuleGetFunction");
    need(module_unload, "cuModuleUnload");
    need(mem_alloc, "cuMemAlloc_v2");
    need(mem_free, "cuMemFree_v2");
    need(memcpy_htod, "cuMemcpyHtoD_v2");
    need(memcpy_dtoh, "cuMemcpyDtoH_v2");
    need(memset_d32, "cuMemsetD32_v2");
    need(launch_kernel, "cuLaunchKernel");
    need(pointer_get_attribute, "cuPointerGetAttribute");
    if (!missing.empty()) {
      error = "no usable CUDA driver: libcuda.so.1 lacks " + missing + " (update the NVIDIA driver)";
    }
    func_get_param_info = reinterpret_cast<decltype(func_get_param_info)>(dlsym(handle, "cuFuncGetParamInfo"));
  }

  std::string name_of(CUresult result) const {
    const char* name = nullptr;
    if (error_name == nullptr || error_name(result, &name) != CUDA_SUCCESS || name == nullptr) {
      return "CUresult " + std::to_string(static_cast<int>(result));
    }
    return name;
  }

  // "<call> failed: CUDA_ERROR_X (description)"
  std::string failure(const char* call, CUresult result) const {
    std::string message = std::string(call) + " failed: " + name_of(result);
    const char* text = nullptr;
    if (error_string != nullptr && error_string(result, &text) == CUDA_SUCCESS && text != nullptr) {
      message += std::string(" (") + text + ")";
    }
    return message;
  }

  // Throws for a failed driver call: out of memory as such, anything else as a run-time error.
  void check(CUresult result, const char* call, const std::string& context = {}) const {
    if (result == CUDA_SUCCESS) return;
    const asp_status status = result == CUDA_ERROR_OUT_OF_MEMORY ? ASP_ERR_OUT_OF_MEMORY : ASP_ERR_RUNTIME;
    throw asp::Error(status, failure(call, result) + context);
  }
};

const DriverApi& driver_api() {
  static const DriverApi loaded;  // the handle stays open for the process
  return loaded;
}

// ---- NVRTC ---------------------------------------------------------------------

struct NvrtcApi {
  void* handle = nullptr;
  std::string path;
  std::string error;  // why NVRTC cannot be used; empty when it can
  int major = 0, minor = 0;

  decltype(&::nvrtcVersion) version = nullptr;
  decltype(&::nvrtcGetErrorString) error_string = nullptr;
  decltype(&::nvrtcCreateProgram) create_program = nullptr;
  decltype(&::nvrtcDestroyProgram) destroy_program = nullptr;
  decltype(&::nvrtcCompileProgram) compile_program = nullptr;
  decltype(&::nvrtcGetProgramLogSize) get_program_log_size = nullptr;
  decltype(&::nvrtcGetProgramLog) get_program_log = nullptr;
  decltype(&::nvrtcGetPTXSize) get_ptx_size = nullptr;
  decltype(&::nvrtcGetPTX) get_ptx = nullptr;
  decltype(&::nvrtcGetCUBINSize) get_cubin_size = nullptr;  // optional
  decltype(&::nvrtcGetCUBIN) get_cubin = nullptr;           // optional
  decltype(&::nvrtcGetNumSupportedArchs) num_supported_archs = nullptr;  // optional
  decltype(&::nvrtcGetSupportedArchs) supported_archs_of = nullptr;      // optional
  std::vector<int> supported_archs;  // empty when NVRTC cannot say

  static std::vector<std::string> candidates() {
    std::vector<std::string> names{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
    std::vector<std::string> dirs;
    for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
      if (const char* dir = std::getenv(variable); dir != nullptr && *dir != '\0') {
        dirs.push_back(std::string(dir) + "/lib64");
      }
    }
    dirs.push_back("/usr/local/cuda/lib64");
    for (const std::string& dir : dirs) {
      glob_t found{};
      if (glob((dir + "/libnvrtc.so*").c_str(), 0, nullptr, &found) == 0) {
        std::vector<std::string> paths(found.gl_pathv, found.gl_pathv + found.gl_pathc);
        std::sort(paths.rbegin(), paths.rend());  // the most specific version first
        names.insert(names.end(), paths.begin(), paths.end());
      }
      globfree(&found);
    }
    return names;
  }

  // Opens the first NVRTC found, or with a driver of major version
  // `driver_major` (0: no driver), the first no newer than it, whose code
  // that driver can load: one newer serves only where there is no other.
  explicit NvrtcApi(int driver_major) {
    const std::vector<std::string> names = candidates();
    for (const std::string& name : names) {
      void* found = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (found == nullptr) continue;
      auto version_of = reinterpret_cast<decltype(version)>(dlsym(found, "nvrtcVersion"));
      int found_major = 0, found_minor = 0;
      const bool fits = driver_major == 0 ||
                        (version_of != nullptr && version_of(&found_major, &found_minor) == NVRTC_SUCCESS &&
                         found_major <= driver_major);
      if (handle == nullptr || fits) {
        if (handle != nullptr && handle != found) dlclose(handle);
        handle = found;
        path = name;
      } else if (found != handle) {
        dlclose(found);
      }
      if (fits) break;
    }
    if (handle == nullptr) {
      std::string tried;
      for (const std::string& name : names) tried += (tried.empty() ? "" : ", ") + name;
      error = "NVRTC not found: tried " + tried + " (install the CUDA toolkit's NVRTC, or set CUDA_HOME)";
      return;
    }
    std::string missing;
    auto need = [&](auto& function, const char* symbol) {
      function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(dlsym(handle, symbol));
      if (function == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(symbol);
    };
    need(version, "nvrtcVersion");
    need(error_string, "nvrtcGetErrorString");
    need(create_program, "nvrtcCreateProgram");
    need(destroy_program, "nvrtcDestroyProgram");
    need(compile_program, "nvrtcCompileProgram");
    need(get_program_log_size, "nvrtcGetProgramLogSize");
    need(get_program_log, "nvrtcGetProgramLog");
    need(get_ptx_size, "nvrtcGetPTXSize");
    need(get_ptx, "nvrtcGetPTX");
    if (!missing.empty()) {
      error = "NVRTC at " + path + " lacks " + missing;
      return;
    }
    if (version(&major, &minor) != NVRTC_SUCCESS) {
      error = "NVRTC at " + path + " does not say its version";
      return;
    }
    get_cubin_size = reinterpret_cast<decltype(get_cubin_size)>(dlsym(handle, "nvrtcGetCUBINSize"));
    get_cubin = reinterpret_cast<decltype(get_cubin)>(dlsym(handle, "nvrtcGetCUBIN"));
    num_supported_archs = reinterpret_cast<decltype(num_supported_archs)>(dlsym(handle, "nvrtcGetNumSupportedArchs"));
    supported_archs_of = reinterpret_cast<decltype(supported_archs_of)>(dlsym(handle, "nvrtcGetSupportedArchs"));
    int count = 0;
    if (num_supported_archs && supported_archs_of && num_supported_archs(&count) == NVRTC_SUCCESS && count > 0) {
      supported_archs.resize(static_cast<std::size_t>(count));
      if (supported_archs_of(supported_archs.data()) != NVRTC_SUCCESS) supported_archs.clear();
      std::sort(supported_archs.begin(), supported_archs.end());
    }
  }

  std::string version_string() const { return version_text(major, minor); }
  int version_number() const { return major * 1000 + minor * 10; }  // as cuDriverGetVersion counts

  // The highest architecture NVRTC supports that is no newer than `wanted`; 0 for none.
  int architecture_for(int wanted) const {
    if (supported_archs.empty()) return wanted;
    int best = 0;
    for (int arch : supported_archs) {
      if (arch <= wanted) best = arch;
    }
    return best;
  }
};

// ---- the device ------------------------------------------------------------------

// What the probe found; `error` is empty when device 0 can be used.
struct DeviceInfo {
  std::string error;
  int count = 0;
  CUdevice device = 0;
  std::string name;
  int architecture = 0;    // compute capability major * 10 + minor
  int driver_version = 0;  // as cuDriverGetVersion: 13000 is 13.0
};

DeviceInfo find_device() {
  const DriverApi& d = driver_api();
  DeviceInfo info;
  if (!d.error.empty()) {
    info.error = d.error;
    return info;
  }
  if (CUresult r = d.init(0); r != CUDA_SUCCESS) {
    info.error = r == CUDA_ERROR_NO_DEVICE ? "no CUDA device: cuInit failed with CUDA_ERROR_NO_DEVICE"
                                           : "the CUDA driver failed to initialise: cuInit failed with " + d.name_of(r);
    return info;
  }
  if (CUresult r = d.device_count(&info.count); r != CUDA_SUCCESS) {
    info.error = "no CUDA device: cuDeviceGetCount failed with " + d.name_of(r);
    return info;
  }
  if (info.count == 0) {
    info.error = "no CUDA device: the driver lists none";
    return info;
  }
  if (CUresult r = d.device_get(&info.device, 0); r != CUDA_SUCCESS) {
    info.error = "no CUDA device: cuDeviceGet(0) failed with " + d.name_of(r);
    return info;
  }
  char name[256] = {};
  int major = 0, minor = 0;
  d.device_name(name, sizeof name - 1, info.device);
  d.device_attribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, info.device);
  d.device_attribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, info.device);
  d.driver_version(&info.driver_version);
  info.name = name;
  info.architecture = major * 10 + minor;
  return info;
}

std::string driver_version_text(int version) { return version_text(version / 1000, version % 1000 / 10); }

// How compile() builds for the device found (or for none).
struct CompileTarget {
  int architecture = kDefaultArchitecture;  // what NVRTC compiles for
  bool cubin = false;  // machine code for sm_XX rather than PTX for compute_XX
  std::string error;   // why nothing can be compiled for this device; empty when it can
};

CompileTarget compile_target(const DeviceInfo& device, const NvrtcApi& nvrtc) {
  CompileTarget target;
  if (!device.error.empty()) return target;  // no device: PTX for the default architecture
  target.architecture = nvrtc.architecture_for(device.architecture);
  if (target.architecture == 0) {
    target.error = "NVRTC " + nvrtc.version_string() + " cannot compile for sm_" +
                   std::to_string(device.architecture) + " (" + device.name + "): its oldest architecture is sm_" +
                   std::to_string(nvrtc.supported_archs.front()) + "; use an NVRTC from an older CUDA toolkit";
    return target;
  }
  // The driver JIT-compiles PTX only up to the PTX version of its own CUDA
  // release. For a driver older than NVRTC but of the same major version,
  // machine code for the device itself still loads (CUDA minor version
  // compatibility); across major versions nothing does.
  if (device.driver_version < nvrtc.version_number()) {
    if (device.driver_version / 1000 != nvrtc.major) {
      target.error = "the CUDA driver " + driver_version_text(device.driver_version) + " is older than NVRTC " +
                     nvrtc.version_string() + " and cannot load what it compiles: update the NVIDIA driver, or " +
                     "use NVRTC " + std::to_string(device.driver_version / 1000) + " (set CUDA_HOME)";
    } else if (nvrtc.get_cubin == nullptr || nvrtc.get_cubin_size == nullptr ||
               target.architecture != device.architecture) {
      target.error = "the CUDA driver " + driver_version_text(device.driver_version) + " is older than NVRTC " +
                     nvrtc.version_string() + " and cannot load its PTX for sm_" +
                     std::to_string(device.architecture) + ": update the NVIDIA driver";
    } else {
      target.cubin = true;
    }
  }
  return target;
}

// Device 0 and its primary context, found once for the process.
class Device {
 public:
  static Device& get() {
    static Device device;
    return device;
  }

  const DeviceInfo& info() const { return info_; }
  bool present() const { return info_.error.empty(); }

  // The primary context, retained on first use and never released.
  CUcontext context() {
    if (!present()) throw asp::Error(ASP_ERR_RUNTIME, info_.error);
    std::call_once(retained_, [this] {
      CUcontext context = nullptr;
      const CUresult r = driver_api().primary_ctx_retain(&context, info_.device);
      if (r == CUDA_SUCCESS) {
        context_ = context;
      } else {
        context_error_ = driver_api().failure("cuDevicePrimaryCtxRetain", r);
      }
    });
    if (context_ == nullptr) throw asp::Error(ASP_ERR_RUNTIME, context_error_);
    return context_;
  }

 private:
  Device() : info_(find_device()) {}

  DeviceInfo info_;
  std::once_flag retained_;
  CUcontext context_ = nullptr;
  std::string context_error_;
};

const NvrtcApi& nvrtc_api() {
  static const NvrtcApi loaded(Device::get().info().driver_version / 1000);
  return loaded;
}

// Makes the primary context current on this thread for a scope. A thread
// with no context keeps it afterwards (as the CUDA runtime would leave it);
// a thread that had another context gets that one back.
class ContextScope {
 public:
  ContextScope() : d_(driver_api()) {
    CUcontext ours = Device::get().context();
    CUcontext current = nullptr;
    d_.check(d_.ctx_get_current(&current), "cuCtxGetCurrent");
    if (current != ours) {
      d_.check(d_.ctx_set_current(ours), "cuCtxSetCurrent");
      if (current != nullptr) previous_ = current;
    }
  }
  ~ContextScope() {
    if (previous_) d_.ctx_set_current(*previous_);
  }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

  const DriverApi& driver() const { return d_; }

 private:
  const DriverApi& d_;
  std::optional<CUcontext> previous_;
};

// ---- handles ---------------------------------------------------------------------

using Protocol = asp::backends::DeviceProtocol;

struct CudaBuffer : Protocol::Buffer {
  CUdeviceptr pointer = 0;
  bool owned = true;  // false for wrap(): the caller's memory

  ~CudaBuffer() override {
    if (!owned || pointer == 0) return;
    try {
      ContextScope scope;
      scope.driver().mem_free(pointer);
    } catch (...) {
      // Cannot happen for memory this backend allocated: its context exists.
    }
  }
};

struct CudaKernel : Protocol::Kernel {
  CUfunction function = nullptr;
  std::optional<std::vector<std::size_t>> parameter_sizes;  // when the driver can say
};

struct CudaModule : Protocol::Module {
  CUmodule module = nullptr;

  ~CudaModule() override {
    if (module == nullptr) return;
    try {
      ContextScope scope;
      scope.driver().module_unload(module);
    } catch (...) {
      // No context to unload from (it cannot have been loaded then): nothing to free.
    }
  }
};

std::string grid_text(const asp_launch_config& config) {
  auto dims = [](const uint64_t (&v)[3]) {
    return "(" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ", " + std::to_string(v[2]) + ")";
  };
  return "grid " + dims(config.grid) + ", block " + dims(config.block);
}

// ---- the backend -----------------------------------------------------------------

class CudaBackend : public Protocol {
 public:
  CudaBackend() : Protocol("CUDA") {}

  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override {
    const Device& device = Device::get();
    if (!device.present()) return asp::Probe::no(device.info().error);
    const NvrtcApi& nvrtc = nvrtc_api();
    if (!nvrtc.error.empty()) return asp::Probe::no(nvrtc.error);
    const DeviceInfo& info = device.info();
    const CompileTarget target = compile_target(info, nvrtc);
    if (!target.error.empty()) return asp::Probe::no(target.error);
    std::string found = info.name + " (sm_" + std::to_string(info.architecture) + ", driver " +
                        driver_version_text(info.driver_version) + ", NVRTC " + nvrtc.version_string() + ")";
    if (info.count > 1) {
      found += "; " + std::to_string(info.count - 1) + " more CUDA device" + (info.count > 2 ? "s" : "") +
               " not used (device 0 is)";
    }
    return asp::Probe::yes(found);
  }

  const char* language() const override { return "cuda-c"; }

  std::string generate(asp::Call&, std::string_view psir_text) override {
    return asp::backends::generate_device(asp::backends::read_psir(psir_text), asp::backends::cuda_c_dialect());
  }

  std::int32_t device_type() const override { return kDLCUDA; }

  std::string target(asp::Call&) override {
    const NvrtcApi& nvrtc = require_nvrtc();
    const Device& device = Device::get();
    const CompileTarget target = compile_target(device.info(), nvrtc);
    if (!target.error.empty()) throw asp::Error(ASP_ERR_RUNTIME, target.error);
    const std::string arch = std::to_string(target.architecture);
    std::string text = target.cubin ? "sm_" + arch + " (CUBIN)" : "compute_" + arch + " (PTX)";
    text += ", NVRTC " + nvrtc.version_string();
    if (device.present()) {
      text += ", driver " + driver_version_text(device.info().driver_version) + ", device sm_" +
              std::to_string(device.info().architecture);
    } else {
      text += ", no device";
    }
    return text;
  }

  std::string compile(asp::Call&, std::string_view source) override {
    const NvrtcApi& nvrtc = require_nvrtc();
    const CompileTarget target = compile_target(Device::get().info(), nvrtc);
    if (!target.error.empty()) throw asp::Error(ASP_ERR_RUNTIME, target.error);
    const std::string arch = std::to_string(target.architecture);
    const std::string architecture = "--gpu-architecture=" + std::string(target.cubin ? "sm_" : "compute_") + arch;
    // Python's arithmetic, bit for bit: no contraction into fused
    // multiply-adds, IEEE division and square root, denormals kept.
    const char* options[] = {architecture.c_str(), "--fmad=false", "--prec-div=true", "--prec-sqrt=true",
                             "--ftz=false"};

    const std::string text(source);  // NUL-terminated
    nvrtcProgram program = nullptr;
    if (nvrtcResult r = nvrtc.create_program(&program, text.c_str(), "asp_kernel.cu", 0, nullptr, nullptr);
        r != NVRTC_SUCCESS) {
      throw asp::Error(ASP_ERR_RUNTIME, std::string("nvrtcCreateProgram failed: ") + nvrtc.error_string(r));
    }
    struct Destroy {
      const NvrtcApi& nvrtc;
      nvrtcProgram& program;
      ~Destroy() { nvrtc.destroy_program(&program); }
    } destroy{nvrtc, program};

    const nvrtcResult compiled = nvrtc.compile_program(program, static_cast<int>(std::size(options)), options);
    std::string log;
    std::size_t log_size = 0;
    if (nvrtc.get_program_log_size(program, &log_size) == NVRTC_SUCCESS && log_size > 1) {
      log.resize(log_size);
      if (nvrtc.get_program_log(program, log.data()) == NVRTC_SUCCESS) {
        log.resize(std::strlen(log.c_str()));
      } else {
        log.clear();
      }
    }
    if (compiled != NVRTC_SUCCESS) {
      if (compiled == NVRTC_ERROR_COMPILATION) {
        throw asp::Error(ASP_ERR_COMPILE, "NVRTC " + nvrtc.version_string() + " rejected the CUDA source (" +
                                              architecture + "):\n" + log);
      }
      throw asp::Error(ASP_ERR_RUNTIME, std::string("nvrtcCompileProgram failed: ") +
                                            nvrtc.error_string(compiled) + (log.empty() ? "" : ":\n" + log));
    }

    std::string binary;
    std::size_t size = 0;
    const auto get_size = target.cubin ? nvrtc.get_cubin_size : nvrtc.get_ptx_size;
    const auto get = target.cubin ? nvrtc.get_cubin : nvrtc.get_ptx;
    const char* what = target.cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX";
    if (nvrtcResult r = get_size(program, &size); r != NVRTC_SUCCESS) {
      throw asp::Error(ASP_ERR_RUNTIME, std::string(what) + "Size failed: " + nvrtc.error_string(r));
    }
    binary.resize(size);
    if (nvrtcResult r = get(program, binary.data()); r != NVRTC_SUCCESS) {
      throw asp::Error(ASP_ERR_RUNTIME, std::string(what) + " failed: " + nvrtc.error_string(r));
    }
    // PTX is text whose size counts its terminating NUL; load() adds it back.
    if (!target.cubin) binary.resize(std::strlen(binary.c_str()));
    return binary;
  }

  asp_device_module* load(asp::Call& call, std::string_view binary) override {
    if (binary.empty()) throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "no CUDA binary to load");
    ContextScope scope;
    const DriverApi& d = scope.driver();
    const std::string image(binary);  // PTX must end in a NUL, which std::string keeps after its text

    char error_log[8192] = {};
    CUjit_option keys[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void* values[] = {error_log, reinterpret_cast<void*>(static_cast<std::uintptr_t>(sizeof error_log - 1))};
    auto module = std::make_unique<CudaModule>();
    if (CUresult r = d.module_load_data_ex(&module->module, image.c_str(), 2, keys, values); r != CUDA_SUCCESS) {
      std::string message = d.failure("cuModuleLoadDataEx", r);
      if (r == CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
        message += ": the driver is older than the NVRTC that compiled the kernel; update the NVIDIA driver";
      }
      if (error_log[0] != '\0') message += ":\n" + std::string(error_log);
      throw asp::Error(r == CUDA_ERROR_OUT_OF_MEMORY ? ASP_ERR_OUT_OF_MEMORY : ASP_ERR_RUNTIME, message);
    }
    return adopt(call, std::move(module));
  }

  asp_device_buffer* allocate(asp::Call&, std::size_t bytes) override {
    ContextScope scope;
    auto buffer = std::make_unique<CudaBuffer>();
    buffer->bytes = bytes;
    scope.driver().check(scope.driver().mem_alloc(&buffer->pointer, std::max<std::size_t>(bytes, 1)), "cuMemAlloc",
                         " (" + std::to_string(bytes) + " bytes)");
    return handle(std::move(buffer));
  }

  asp_device_buffer* wrap(asp::Call&, void* device_pointer, std::size_t bytes) override {
    if (device_pointer == nullptr && bytes > 0) {
      throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "wrap needs a device pointer");
    }
    const auto pointer = static_cast<CUdeviceptr>(reinterpret_cast<std::uintptr_t>(device_pointer));
    ContextScope scope;
    if (pointer != 0) {
      // The array must be device (or managed) memory of the device this backend launches on.
      unsigned int type = 0;
      const CUresult r = scope.driver().pointer_get_attribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, pointer);
      if (r == CUDA_ERROR_INVALID_VALUE ||
          (r == CUDA_SUCCESS && type != CU_MEMORYTYPE_DEVICE && type != CU_MEMORYTYPE_UNIFIED)) {
        throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "the array's data pointer is not CUDA device memory");
      }
      scope.driver().check(r, "cuPointerGetAttribute");
      int ordinal = -1;
      scope.driver().check(
          scope.driver().pointer_get_attribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, pointer),
          "cuPointerGetAttribute");
      CUdevice device = 0;
      scope.driver().check(scope.driver().device_get(&device, ordinal), "cuDeviceGet");
      if (device != Device::get().info().device) {
        throw asp::Error(ASP_ERR_UNSUPPORTED, "the array lives on CUDA device " + std::to_string(ordinal) +
                                                  "; Asp's CUDA backend runs on device 0 (choose it with "
                                                  "CUDA_VISIBLE_DEVICES)");
      }
    }
    auto buffer = std::make_unique<CudaBuffer>();
    buffer->pointer = pointer;
    buffer->bytes = bytes;
    buffer->owned = false;
    return handle(std::move(buffer));
  }

 private:
  static const NvrtcApi& require_nvrtc() {
    const NvrtcApi& nvrtc = nvrtc_api();
    if (!nvrtc.error.empty()) throw asp::Error(ASP_ERR_INIT, nvrtc.error);
    return nvrtc;
  }

  void write(Protocol::Buffer& to, const void* from, std::size_t bytes) override {
    ContextScope scope;
    scope.driver().check(scope.driver().memcpy_htod(static_cast<CudaBuffer&>(to).pointer, from, bytes), "cuMemcpyHtoD");
  }

  void read(void* to, Protocol::Buffer& from, std::size_t bytes) override {
    ContextScope scope;
    scope.driver().check(scope.driver().memcpy_dtoh(to, static_cast<CudaBuffer&>(from).pointer, bytes), "cuMemcpyDtoH");
  }

  void check_shape(const asp_launch_config& config, const std::string& what) override {
    for (int i = 0; i < 3; ++i) {
      if (config.grid[i] > UINT_MAX || config.block[i] > UINT_MAX) {
        throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message(what + ": " + grid_text(config) + " exceeds the CUDA limits"));
      }
    }
  }

  std::unique_ptr<Protocol::Kernel> find_kernel(Protocol::Module& base, const std::string& name) override {
    CudaModule& module = static_cast<CudaModule&>(base);
    ContextScope scope;
    const DriverApi& d = scope.driver();
    auto kernel = std::make_unique<CudaKernel>();
    if (CUresult r = d.module_get_function(&kernel->function, module.module, name.c_str()); r != CUDA_SUCCESS) {
      if (r == CUDA_ERROR_NOT_FOUND) {
        throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message("the module has no kernel " + name));
      }
      d.check(r, "cuModuleGetFunction", " (" + name + ")");
    }
    if (d.func_get_param_info != nullptr) {
      std::vector<std::size_t> sizes;
      for (std::size_t index = 0;; ++index) {
        std::size_t offset = 0, size = 0;
        if (d.func_get_param_info(kernel->function, index, &offset, &size) != CUDA_SUCCESS) break;
        sizes.push_back(size);
      }
      if (!sizes.empty()) {
        kernel->parameters = sizes.size();
        kernel->parameter_sizes = std::move(sizes);
      }
    }
    return kernel;
  }

  // The arguments' sizes against the kernel's parameters (its own, then the status word's pointer);
  // the protocol has checked their number.
  void check_launch(const Launch& launch) override {
    const auto& sizes = static_cast<const CudaKernel&>(launch.kernel).parameter_sizes;
    if (!sizes) return;
    for (std::size_t i = 0; i < launch.args.size(); ++i) {
      const std::size_t given = launch.args[i].buffer != nullptr ? sizeof(CUdeviceptr) : launch.args[i].scalar_size;
      if (given != (*sizes)[i]) {
        throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message(launch.what + ": argument " + std::to_string(i) + " has " +
                                                           std::to_string(given) + " bytes; the kernel's parameter has " +
                                                           std::to_string((*sizes)[i])));
      }
    }
    if (sizes->back() != sizeof(CUdeviceptr)) {
      throw asp::Error(ASP_ERR_INVALID_ARGUMENT, message(launch.kernel_name + " does not end with the status word's pointer"));
    }
  }

  int run(Launch& launch) override {
    // The kernel parameters: a pointer to each argument's value, then to the status word's address.
    std::vector<void*> params;
    params.reserve(launch.args.size() + 1);
    for (const Argument& arg : launch.args) {
      params.push_back(arg.buffer != nullptr ? &static_cast<CudaBuffer*>(arg.buffer)->pointer : const_cast<void*>(arg.scalar));
    }
    CUdeviceptr status = static_cast<CudaBuffer&>(launch.status).pointer;
    params.push_back(&status);
    const asp_launch_config& config = launch.config;
    const std::string& name = launch.kernel_name;

    ContextScope scope;
    const DriverApi& d = scope.driver();
    d.check(d.memset_d32(status, 0, 1), "cuMemsetD32");
    d.check(d.launch_kernel(static_cast<CudaKernel&>(launch.kernel).function, static_cast<unsigned>(config.grid[0]),
                            static_cast<unsigned>(config.grid[1]), static_cast<unsigned>(config.grid[2]),
                            static_cast<unsigned>(config.block[0]), static_cast<unsigned>(config.block[1]),
                            static_cast<unsigned>(config.block[2]), 0, nullptr, params.data(), nullptr),
            "cuLaunchKernel", " (" + name + ", " + grid_text(config) + ")");
    d.check(d.ctx_synchronize(), "cuCtxSynchronize", " (running " + name + ")");
    int result = 0;
    d.check(d.memcpy_dtoh(&result, status, sizeof result), "cuMemcpyDtoH", " (the status word of " + name + ")");
    return result;
  }
};

}  // namespace

ASP_PLUGIN("cuda", ASP_CORE_VERSION, "CUDA C for NVIDIA GPUs (NVRTC, driver API)", asp::backend<CudaBackend>("cuda"),
           asp::backend_optimizer<asp::backends::GpuMapOptimizer>("cuda.gpu_map", "cuda"))
