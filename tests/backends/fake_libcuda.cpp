// A stand-in for the CUDA driver (libcuda.so.1) on machines without a GPU, so
// that the CUDA backend's device side runs in the tests everywhere: memory is
// host memory, a module is the list of `.entry` kernels of its PTX with their
// parameter sizes, and a launch runs a C++ twin of each test kernel over the
// grid. It checks what a real driver would reject: a call without the primary
// context current on the calling thread, a pointer outside every allocation,
// a double free, a launch with a zero dimension. Only the entry points the
// backend uses are provided, under the names cuda.h maps them to.
//
// It lets no test prove anything about a real GPU; the tests that need one
// run on one where there is one.
#include <cuda.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

struct Function {
  std::string name;
  std::vector<std::size_t> sizes;  // of each parameter, from the PTX
};

struct Module {
  std::map<std::string, Function> functions;
};

std::mutex mutex;
std::map<std::uintptr_t, std::size_t> allocations;  // start -> bytes
int primary_refs = 0;
int primary_context_object = 0;
CUcontext primary() { return reinterpret_cast<CUcontext>(&primary_context_object); }
thread_local CUcontext current = nullptr;
std::atomic<long> launches{0};
std::atomic<long> context_errors{0};

// The mode the test asks for in ASP_TEST_FAKE_CUDA: "device", "no-device" or "old-driver".
std::string mode() {
  const char* m = std::getenv("ASP_TEST_FAKE_CUDA");
  return m ? m : "device";
}
bool no_device() { return mode() == "no-device"; }

CUresult need_context() {
  if (current != primary() || primary_refs == 0) {
    ++context_errors;
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  return CUDA_SUCCESS;
}

// Does [pointer, pointer + bytes) lie inside one allocation? The caller holds the mutex.
bool inside(CUdeviceptr pointer, std::size_t bytes) {
  auto it = allocations.upper_bound(static_cast<std::uintptr_t>(pointer));
  if (it == allocations.begin()) return false;
  --it;
  return pointer >= it->first && pointer + bytes <= it->first + std::max<std::size_t>(it->second, 1);
}

std::size_t ptx_size(const std::string& type) {
  if (type == "u8" || type == "s8" || type == "b8") return 1;
  if (type == "u16" || type == "s16" || type == "b16" || type == "f16") return 2;
  if (type == "u32" || type == "s32" || type == "b32" || type == "f32") return 4;
  return 8;
}

// Parameter i of a launch, read as T.
template <class T>
T param(void** params, int i) {
  T value;
  std::memcpy(&value, params[i], sizeof(T));
  return value;
}
template <class T>
T* device(void** params, int i) {
  return reinterpret_cast<T*>(static_cast<std::uintptr_t>(param<CUdeviceptr>(params, i)));
}

struct Index {
  unsigned bx, by, bz, tx, ty, tz, gdx, bdx, bdy;
};

// The C++ twins of tests/backends/test_cuda_backend.cpp's kernels, run once per thread.
void run(const std::string& name, void** p, const Index& at) {
  const long long i = static_cast<long long>(at.bx) * at.bdx + at.tx;
  if (name == "asp_entry_scale") {
    if (i < param<long long>(p, 2)) device<double>(p, 0)[i] *= param<double>(p, 1);
  } else if (name == "asp_entry_add") {
    if (i < param<long long>(p, 3)) device<double>(p, 2)[i] = device<double>(p, 0)[i] + device<double>(p, 1)[i];
  } else if (name == "asp_entry_fail") {
    if (at.tx == 0 && at.bx == 0) *device<int>(p, 2) = 2 + param<int>(p, 1);
  } else if (name == "asp_entry_fill") {
    device<double>(p, 0)[at.tx] = param<double>(p, 1);
  } else if (name == "asp_entry_scalars") {
    double* out = device<double>(p, 0);
    out[0] = param<unsigned char>(p, 1);
    out[1] = param<int>(p, 2);
    out[2] = param<float>(p, 3);
    out[3] = static_cast<double>(param<long long>(p, 4));
    out[4] = param<double>(p, 5);
  } else if (name == "asp_entry_grid2d") {
    const int x = static_cast<int>(at.bx * at.bdx + at.tx), y = static_cast<int>(at.by * at.bdy + at.ty);
    device<int>(p, 0)[y * param<int>(p, 1) + x] = y * 1000 + x;
  }
}

}  // namespace

// ---- what only the tests call ----------------------------------------------------

FAKE_EXPORT long fake_cuda_live_allocations() {
  std::lock_guard lock(mutex);
  return static_cast<long>(allocations.size());
}
FAKE_EXPORT long fake_cuda_launches() { return launches.load(); }
FAKE_EXPORT long fake_cuda_context_errors() { return context_errors.load(); }

// ---- the driver API ----------------------------------------------------------------

CUresult CUDAAPI cuInit(unsigned int) { return no_device() ? CUDA_ERROR_NO_DEVICE : CUDA_SUCCESS; }

// NVRTC opens libcuda.so.1 too when it compiles, and asks for the driver's
// private tables; a driver without them is one it copes with.
CUresult CUDAAPI cuGetExportTable(const void** table, const CUuuid*) {
  *table = nullptr;
  return CUDA_ERROR_NOT_SUPPORTED;
}

CUresult CUDAAPI cuDriverGetVersion(int* version) {
  *version = mode() == "old-driver" ? 11080 : 13000;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetCount(int* count) {
  *count = no_device() ? 0 : 1;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGet(CUdevice* device, int ordinal) {
  if (ordinal != 0 || no_device()) return CUDA_ERROR_INVALID_DEVICE;
  *device = 0;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetName(char* name, int length, CUdevice) {
  std::strncpy(name, "Fake CUDA Device", static_cast<std::size_t>(length));
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, CUdevice) {
  if (attribute == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) *value = 9;
  else if (attribute == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR) *value = 0;
  else return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuGetErrorName(CUresult error, const char** name) {
  switch (error) {
    case CUDA_SUCCESS: *name = "CUDA_SUCCESS"; break;
    case CUDA_ERROR_INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; break;
    case CUDA_ERROR_OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; break;
    case CUDA_ERROR_NO_DEVICE: *name = "CUDA_ERROR_NO_DEVICE"; break;
    case CUDA_ERROR_INVALID_CONTEXT: *name = "CUDA_ERROR_INVALID_CONTEXT"; break;
    case CUDA_ERROR_INVALID_IMAGE: *name = "CUDA_ERROR_INVALID_IMAGE"; break;
    case CUDA_ERROR_NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; break;
    case CUDA_ERROR_INVALID_HANDLE: *name = "CUDA_ERROR_INVALID_HANDLE"; break;
    default: *name = nullptr; return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuGetErrorString(CUresult error, const char** text) {
  *text = error == CUDA_ERROR_INVALID_VALUE ? "invalid argument" : "fake driver error";
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext* context, CUdevice device) {
  if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
  std::lock_guard lock(mutex);
  ++primary_refs;
  *context = primary();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice device) {
  if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
  std::lock_guard lock(mutex);
  if (primary_refs == 0) return CUDA_ERROR_INVALID_CONTEXT;
  --primary_refs;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetCurrent(CUcontext* context) {
  *context = current;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext context) {
  current = context;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSynchronize() { return need_context(); }

CUresult CUDAAPI cuMemAlloc(CUdeviceptr* pointer, size_t bytes) {
  if (CUresult r = need_context()) return r;
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;  // as the real driver
  void* memory = std::calloc(bytes, 1);
  if (memory == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  std::lock_guard lock(mutex);
  allocations[reinterpret_cast<std::uintptr_t>(memory)] = bytes;
  *pointer = reinterpret_cast<std::uintptr_t>(memory);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemFree(CUdeviceptr pointer) {
  if (CUresult r = need_context()) return r;
  std::lock_guard lock(mutex);
  auto it = allocations.find(static_cast<std::uintptr_t>(pointer));
  if (it == allocations.end()) return CUDA_ERROR_INVALID_VALUE;
  std::free(reinterpret_cast<void*>(it->first));
  allocations.erase(it);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr to, const void* from, size_t bytes) {
  if (CUresult r = need_context()) return r;
  std::lock_guard lock(mutex);
  if (!inside(to, bytes)) return CUDA_ERROR_INVALID_VALUE;
  std::memcpy(reinterpret_cast<void*>(static_cast<std::uintptr_t>(to)), from, bytes);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyDtoH(void* to, CUdeviceptr from, size_t bytes) {
  if (CUresult r = need_context()) return r;
  std::lock_guard lock(mutex);
  if (!inside(from, bytes)) return CUDA_ERROR_INVALID_VALUE;
  std::memcpy(to, reinterpret_cast<const void*>(static_cast<std::uintptr_t>(from)), bytes);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemsetD32(CUdeviceptr to, unsigned int value, size_t count) {
  if (CUresult r = need_context()) return r;
  std::lock_guard lock(mutex);
  if (!inside(to, count * 4)) return CUDA_ERROR_INVALID_VALUE;
  auto* words = reinterpret_cast<unsigned int*>(static_cast<std::uintptr_t>(to));
  for (size_t i = 0; i < count; ++i) words[i] = value;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuPointerGetAttribute(void* data, CUpointer_attribute attribute, CUdeviceptr pointer) {
  std::lock_guard lock(mutex);
  if (!inside(pointer, 1)) return CUDA_ERROR_INVALID_VALUE;
  if (attribute == CU_POINTER_ATTRIBUTE_MEMORY_TYPE) {
    *static_cast<unsigned int*>(data) = CU_MEMORYTYPE_DEVICE;
  } else if (attribute == CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL) {
    *static_cast<int*>(data) = 0;
  } else {
    return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleLoadDataEx(CUmodule* module, const void* image, unsigned int count, CUjit_option* options,
                                    void** values) {
  if (CUresult r = need_context()) return r;
  const std::string ptx(static_cast<const char*>(image));  // PTX must be NUL-terminated
  if (ptx.find(".version") == std::string::npos || ptx.find(".target sm_90") == std::string::npos) {
    for (unsigned i = 0; i < count; ++i) {
      if (options[i] == CU_JIT_ERROR_LOG_BUFFER) std::strcpy(static_cast<char*>(values[i]), "fake: not PTX for sm_90");
    }
    return CUDA_ERROR_INVALID_IMAGE;
  }
  auto* loaded = new Module;
  static const std::regex entry(R"(\.entry\s+(\w+)\s*\(([^)]*)\))");
  static const std::regex parameter(R"(\.param\s+\.(\w+))");
  for (std::sregex_iterator it(ptx.begin(), ptx.end(), entry), end; it != end; ++it) {
    Function function{(*it)[1], {}};
    const std::string params = (*it)[2];
    for (std::sregex_iterator p(params.begin(), params.end(), parameter); p != end; ++p) {
      function.sizes.push_back(ptx_size((*p)[1]));
    }
    loaded->functions[function.name] = function;
  }
  *module = reinterpret_cast<CUmodule>(loaded);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleGetFunction(CUfunction* function, CUmodule module, const char* name) {
  if (CUresult r = need_context()) return r;
  auto* m = reinterpret_cast<Module*>(module);
  auto it = m->functions.find(name);
  if (it == m->functions.end()) return CUDA_ERROR_NOT_FOUND;
  *function = reinterpret_cast<CUfunction>(&it->second);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleUnload(CUmodule module) {
  if (CUresult r = need_context()) return r;
  delete reinterpret_cast<Module*>(module);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuFuncGetParamInfo(CUfunction function, size_t index, size_t* offset, size_t* size) {
  const auto* f = reinterpret_cast<const Function*>(function);
  if (index >= f->sizes.size()) return CUDA_ERROR_INVALID_VALUE;
  std::size_t at = 0;
  for (std::size_t i = 0; i <= index; ++i) {
    at = (at + f->sizes[i] - 1) / f->sizes[i] * f->sizes[i];
    if (i < index) at += f->sizes[i];
  }
  *offset = at;
  *size = f->sizes[index];
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuLaunchKernel(CUfunction function, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                unsigned int by, unsigned int bz, unsigned int shared, CUstream stream, void** params,
                                void** extra) {
  if (CUresult r = need_context()) return r;
  if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || bx * by * bz > 1024 || shared != 0 ||
      stream != nullptr || params == nullptr || extra != nullptr) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  const auto* f = reinterpret_cast<const Function*>(function);
  {
    // Every buffer argument and the status word must be device memory.
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < f->sizes.size(); ++i) {
      if (params[i] == nullptr) return CUDA_ERROR_INVALID_VALUE;
    }
    if (f->sizes.empty() || !inside(param<CUdeviceptr>(params, static_cast<int>(f->sizes.size() - 1)), 4)) {
      return CUDA_ERROR_INVALID_VALUE;
    }
  }
  ++launches;
  for (unsigned z = 0; z < gz; ++z)
    for (unsigned y = 0; y < gy; ++y)
      for (unsigned x = 0; x < gx; ++x)
        for (unsigned tz = 0; tz < bz; ++tz)
          for (unsigned ty = 0; ty < by; ++ty)
            for (unsigned tx = 0; tx < bx; ++tx) run(f->name, params, {x, y, z, tx, ty, tz, gx, bx, by});
  return CUDA_SUCCESS;
}
