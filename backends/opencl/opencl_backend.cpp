// The OpenCL backend: PSIR -> OpenCL C 1.2 of the device entry convention
// (<asp/plugin.h>), built by the platform's own compiler through the ICD
// loader and run on one device.
//
// The device: the first GPU of any platform (platforms in the ICD loader's
// order, devices in the platform's), else the first device of any kind.
// Devices that are not available or have no compiler are passed over. One
// context and one in-order command queue serve the whole process; they are
// created on first use and never released, because an ICD may already be torn
// down when static destructors run.
#include "device_codegen.hpp"
#include "device_protocol.hpp"
#include "gpu_map.hpp"
#include "read_psir.hpp"

#include <asp/plugin.hpp>

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr std::int32_t kDLOpenCL = 4;  // DLDeviceType

// The options of every build. No fast-math options: results must match Python's.
constexpr const char* kBuildOptions = "-cl-std=CL1.2";
// Added where the device offers it, so float32 division and sqrt round like NumPy's.
constexpr const char* kCorrectlyRounded = " -cl-fp32-correctly-rounded-divide-sqrt";

const char* error_name(cl_int code) {
  switch (code) {
#define ASP_CL_ERROR(name) \
  case name:               \
    return #name;
    ASP_CL_ERROR(CL_DEVICE_NOT_FOUND)
    ASP_CL_ERROR(CL_DEVICE_NOT_AVAILABLE)
    ASP_CL_ERROR(CL_COMPILER_NOT_AVAILABLE)
    ASP_CL_ERROR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    ASP_CL_ERROR(CL_OUT_OF_RESOURCES)
    ASP_CL_ERROR(CL_OUT_OF_HOST_MEMORY)
    ASP_CL_ERROR(CL_PROFILING_INFO_NOT_AVAILABLE)
    ASP_CL_ERROR(CL_MEM_COPY_OVERLAP)
    ASP_CL_ERROR(CL_IMAGE_FORMAT_MISMATCH)
    ASP_CL_ERROR(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    ASP_CL_ERROR(CL_BUILD_PROGRAM_FAILURE)
    ASP_CL_ERROR(CL_MAP_FAILURE)
    ASP_CL_ERROR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    ASP_CL_ERROR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    ASP_CL_ERROR(CL_COMPILE_PROGRAM_FAILURE)
    ASP_CL_ERROR(CL_LINKER_NOT_AVAILABLE)
    ASP_CL_ERROR(CL_LINK_PROGRAM_FAILURE)
    ASP_CL_ERROR(CL_DEVICE_PARTITION_FAILED)
    ASP_CL_ERROR(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    ASP_CL_ERROR(CL_INVALID_VALUE)
    ASP_CL_ERROR(CL_INVALID_DEVICE_TYPE)
    ASP_CL_ERROR(CL_INVALID_PLATFORM)
    ASP_CL_ERROR(CL_INVALID_DEVICE)
    ASP_CL_ERROR(CL_INVALID_CONTEXT)
    ASP_CL_ERROR(CL_INVALID_QUEUE_PROPERTIES)
    ASP_CL_ERROR(CL_INVALID_COMMAND_QUEUE)
    ASP_CL_ERROR(CL_INVALID_HOST_PTR)
    ASP_CL_ERROR(CL_INVALID_MEM_OBJECT)
    ASP_CL_ERROR(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    ASP_CL_ERROR(CL_INVALID_IMAGE_SIZE)
    ASP_CL_ERROR(CL_INVALID_SAMPLER)
    ASP_CL_ERROR(CL_INVALID_BINARY)
    ASP_CL_ERROR(CL_INVALID_BUILD_OPTIONS)
    ASP_CL_ERROR(CL_INVALID_PROGRAM)
    ASP_CL_ERROR(CL_INVALID_PROGRAM_EXECUTABLE)
    ASP_CL_ERROR(CL_INVALID_KERNEL_NAME)
    ASP_CL_ERROR(CL_INVALID_KERNEL_DEFINITION)
    ASP_CL_ERROR(CL_INVALID_KERNEL)
    ASP_CL_ERROR(CL_INVALID_ARG_INDEX)
    ASP_CL_ERROR(CL_INVALID_ARG_VALUE)
    ASP_CL_ERROR(CL_INVALID_ARG_SIZE)
    ASP_CL_ERROR(CL_INVALID_KERNEL_ARGS)
    ASP_CL_ERROR(CL_INVALID_WORK_DIMENSION)
    ASP_CL_ERROR(CL_INVALID_WORK_GROUP_SIZE)
    ASP_CL_ERROR(CL_INVALID_WORK_ITEM_SIZE)
    ASP_CL_ERROR(CL_INVALID_GLOBAL_OFFSET)
    ASP_CL_ERROR(CL_INVALID_EVENT_WAIT_LIST)
    ASP_CL_ERROR(CL_INVALID_EVENT)
    ASP_CL_ERROR(CL_INVALID_OPERATION)
    ASP_CL_ERROR(CL_INVALID_GL_OBJECT)
    ASP_CL_ERROR(CL_INVALID_BUFFER_SIZE)
    ASP_CL_ERROR(CL_INVALID_MIP_LEVEL)
    ASP_CL_ERROR(CL_INVALID_GLOBAL_WORK_SIZE)
    ASP_CL_ERROR(CL_INVALID_PROPERTY)
    ASP_CL_ERROR(CL_INVALID_IMAGE_DESCRIPTOR)
    ASP_CL_ERROR(CL_INVALID_COMPILER_OPTIONS)
    ASP_CL_ERROR(CL_INVALID_LINKER_OPTIONS)
    ASP_CL_ERROR(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef ASP_CL_ERROR
    case -1001:
      return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
      return "an unknown OpenCL error";
  }
}

// `what` (what the backend was doing) failed in `call` with `code`.
[[noreturn]] void fail(const std::string& what, const char* call, cl_int code) {
  const bool memory = code == CL_OUT_OF_HOST_MEMORY || code == CL_MEM_OBJECT_ALLOCATION_FAILURE;
  throw asp::Error(memory ? ASP_ERR_OUT_OF_MEMORY : ASP_ERR_RUNTIME,
                   "OpenCL: " + what + ": " + call + " failed with " + error_name(code) + " (" + std::to_string(code) + ")");
}

void check(cl_int code, const char* call, const std::string& what) {
  if (code != CL_SUCCESS) fail(what, call, code);
}

// An OpenCL object released when it goes out of scope.
template <class T, cl_int (*Release)(T)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T object) : object_(object) {}
  Handle(Handle&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~Handle() {
    if (object_) Release(object_);
  }
  T get() const { return object_; }
  T release() { return std::exchange(object_, nullptr); }

 private:
  T object_ = nullptr;
};

using Program = Handle<cl_program, &clReleaseProgram>;
using KernelHandle = Handle<cl_kernel, &clReleaseKernel>;
using Memory = Handle<cl_mem, &clReleaseMemObject>;
using Event = Handle<cl_event, &clReleaseEvent>;

template <class Get, class Object, class Info>
std::string info_text(Get get, Object object, Info what) {
  size_t size = 0;
  if (get(object, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return "";
  std::string text(size, '\0');
  if (get(object, what, size, text.data(), nullptr) != CL_SUCCESS) return "";
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

std::string platform_text(cl_platform_id platform, cl_platform_info what) {
  return info_text(clGetPlatformInfo, platform, what);
}

std::string device_text(cl_device_id device, cl_device_info what) { return info_text(clGetDeviceInfo, device, what); }

template <class T>
T device_value(cl_device_id device, cl_device_info what) {
  T value{};
  clGetDeviceInfo(device, what, sizeof value, &value, nullptr);
  return value;
}

const char* device_kind(cl_device_type type) {
  if (type & CL_DEVICE_TYPE_GPU) return "GPU";
  if (type & CL_DEVICE_TYPE_CPU) return "CPU";
  if (type & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
  return "device";
}

struct Candidate {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  std::string description;  // "platform: device (kind, version)"
  bool gpu = false;
  bool usable = false;
};

// The device this backend uses and every other one found. Throws asp::Error
// (ASP_ERR_UNSUPPORTED) saying what to install when there is none.
struct Choice {
  Candidate chosen;
  std::vector<Candidate> others;
};

Choice choose_device() {
  cl_uint platform_count = 0;
  const cl_int status = clGetPlatformIDs(0, nullptr, &platform_count);
  if (status != CL_SUCCESS || platform_count == 0) {
    throw asp::Error(ASP_ERR_UNSUPPORTED,
                     "no OpenCL platform: the ICD loader found none (install an OpenCL driver, e.g. pocl-opencl-icd "
                     "for the CPU, and check /etc/OpenCL/vendors)");
  }
  std::vector<cl_platform_id> platforms(platform_count);
  check(clGetPlatformIDs(platform_count, platforms.data(), nullptr), "clGetPlatformIDs", "listing the OpenCL platforms");
  std::vector<Candidate> all;
  for (cl_platform_id platform : platforms) {
    cl_uint device_count = 0;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &device_count) != CL_SUCCESS) continue;
    std::vector<cl_device_id> devices(device_count);
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, device_count, devices.data(), nullptr) != CL_SUCCESS) continue;
    for (cl_device_id device : devices) {
      const auto type = device_value<cl_device_type>(device, CL_DEVICE_TYPE);
      Candidate c{platform, device, "", (type & CL_DEVICE_TYPE_GPU) != 0, true};
      c.description = platform_text(platform, CL_PLATFORM_NAME) + ": " + device_text(device, CL_DEVICE_NAME) + " (" +
                      device_kind(type) + ", " + device_text(device, CL_DEVICE_VERSION) + ")";
      if (!device_value<cl_bool>(device, CL_DEVICE_AVAILABLE)) {
        c.usable = false;
        c.description += " [not available]";
      } else if (!device_value<cl_bool>(device, CL_DEVICE_COMPILER_AVAILABLE)) {
        c.usable = false;
        c.description += " [no compiler]";
      }
      all.push_back(std::move(c));
    }
  }
  if (all.empty()) {
    throw asp::Error(ASP_ERR_UNSUPPORTED, "no OpenCL device: the platforms found list none (check the OpenCL driver's "
                                          "installation, e.g. pocl-opencl-icd for the CPU)");
  }
  auto pick = [&](bool gpu_only) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].usable && (all[i].gpu || !gpu_only)) return i;
    }
    return std::nullopt;
  };
  std::optional<std::size_t> index = pick(true);
  if (!index) index = pick(false);
  if (!index) {
    std::string found;
    for (const Candidate& c : all) found += (found.empty() ? "" : "; ") + c.description;
    throw asp::Error(ASP_ERR_UNSUPPORTED, "no usable OpenCL device: found " + found +
                                              " (each needs to be available and to have a compiler)");
  }
  Choice choice{all[*index], {}};
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i != *index) choice.others.push_back(all[i]);
  }
  return choice;
}

bool has_extension(cl_device_id device, const std::string& name) {
  const std::string list = " " + device_text(device, CL_DEVICE_EXTENSIONS) + " ";
  return list.find(" " + name + " ") != std::string::npos;
}

// The chosen device with its context and queue.
struct Runtime {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  std::string description;
  std::string options;  // for clBuildProgram
  std::string target;   // platform, device, driver and options: what a binary depends on
  std::array<size_t, 3> max_block{};
};

// The process's runtime, never freed (see the top of this file). Its pointer
// lives in static storage that no destructor clears (not in the backend
// object, which the plugin's holder destroys at exit), so the runtime stays
// reachable to the end: LeakSanitizer sees it as kept, not leaked.
std::atomic<const Runtime*> process_runtime{nullptr};
std::mutex process_runtime_mutex;

std::unique_ptr<Runtime> create_runtime() {
  Choice choice = choose_device();
  auto r = std::make_unique<Runtime>();
  r->platform = choice.chosen.platform;
  r->device = choice.chosen.device;
  r->description = choice.chosen.description;
  r->options = kBuildOptions;
  if (device_value<cl_device_fp_config>(r->device, CL_DEVICE_SINGLE_FP_CONFIG) & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) {
    r->options += kCorrectlyRounded;
  }
  r->target = "platform " + platform_text(r->platform, CL_PLATFORM_NAME) + " (" +
              platform_text(r->platform, CL_PLATFORM_VERSION) + "); device " +
              device_text(r->device, CL_DEVICE_VENDOR) + " " + device_text(r->device, CL_DEVICE_NAME) + " (" +
              device_text(r->device, CL_DEVICE_VERSION) + ", " + device_text(r->device, CL_DEVICE_OPENCL_C_VERSION) +
              "); driver " + device_text(r->device, CL_DRIVER_VERSION) + "; options " + r->options;
  const cl_uint dimensions = device_value<cl_uint>(r->device, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS);
  std::vector<size_t> sizes(std::max<cl_uint>(dimensions, 3), 1);
  check(clGetDeviceInfo(r->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof(size_t) * dimensions, sizes.data(), nullptr),
        "clGetDeviceInfo", "reading the work-group limits of " + r->description);
  std::copy_n(sizes.begin(), 3, r->max_block.begin());

  const cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(r->platform),
                                              0};
  cl_int status = CL_SUCCESS;
  r->context = clCreateContext(properties, 1, &r->device, nullptr, nullptr, &status);
  check(status, "clCreateContext", "creating a context on " + r->description);
  r->queue = clCreateCommandQueue(r->context, r->device, 0, &status);
  if (status != CL_SUCCESS) {
    clReleaseContext(r->context);
    fail("creating a command queue on " + r->description, "clCreateCommandQueue", status);
  }
  return r;
}

std::string build_log(cl_program program, cl_device_id device) {
  size_t size = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size) != CL_SUCCESS || size == 0) {
    return "";
  }
  std::string log(size, '\0');
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr) != CL_SUCCESS) return "";
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log;
}

// The binary compile() returns is the driver's program binary behind a header
// that load() checks before the driver sees it: drivers trust their binaries
// (PoCL 3.1 crashes on a truncated one), and a binary of another device or
// driver is refused by name rather than by the driver's guess.
//   magic "ASPOCL1\n" | FNV-1a of the target | payload size | FNV-1a of the payload | payload
constexpr std::string_view kMagic = "ASPOCL1\n";
constexpr std::size_t kHeaderSize = kMagic.size() + 3 * sizeof(std::uint64_t);

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

void put_word(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

std::uint64_t get_word(std::string_view in, std::size_t at) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= std::uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return value;
}

std::string seal(std::string_view payload, const std::string& target) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  out += kMagic;
  put_word(out, fnv1a(target));
  put_word(out, payload.size());
  put_word(out, fnv1a(payload));
  out += payload;
  return out;
}

// The driver's binary inside `binary`, or an asp::Error saying what is wrong with it.
std::string_view unseal(std::string_view binary, const Runtime& r) {
  if (binary.size() < kHeaderSize || binary.substr(0, kMagic.size()) != kMagic) {
    throw asp::Error(ASP_ERR_RUNTIME, "OpenCL: this is not a program binary of Asp's OpenCL backend (" +
                                          std::to_string(binary.size()) + " bytes): clear the code cache");
  }
  const std::string_view payload = binary.substr(kHeaderSize);
  if (get_word(binary, kMagic.size()) != fnv1a(r.target)) {
    throw asp::Error(ASP_ERR_RUNTIME, "OpenCL: the program binary was built for another device, driver or "
                                      "options than " + r.description + ": clear the code cache");
  }
  if (get_word(binary, kMagic.size() + 8) != payload.size() || get_word(binary, kMagic.size() + 16) != fnv1a(payload)) {
    throw asp::Error(ASP_ERR_RUNTIME, "OpenCL: the program binary is damaged (truncated or changed): clear the code "
                                      "cache");
  }
  return payload;
}

using Protocol = asp::backends::DeviceProtocol;

// A kernel of a module with what a launch checks against beyond its parameters.
struct KernelEntry : Protocol::Kernel {
  KernelHandle kernel;
  size_t max_threads = 0;  // per block
};

// What asp_device_module stands for.
struct ClModule : Protocol::Module {
  Program program;
};

// What asp_device_buffer stands for.
struct ClBuffer : Protocol::Buffer {
  Memory memory;
};

std::string kernel_names(cl_program program) {
  std::string names = info_text(clGetProgramInfo, program, CL_PROGRAM_KERNEL_NAMES);
  for (char& c : names) {
    if (c == ';') c = ' ';
  }
  return names.empty() ? "none" : names;
}

class OpenCLBackend : public Protocol {
 public:
  OpenCLBackend() : Protocol("OpenCL") {}

  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override {
    Choice choice;
    try {
      choice = choose_device();
    } catch (const asp::Error& e) {
      return asp::Probe::no(e.what());
    }
    std::string found = "using " + choice.chosen.description;
    if (!has_extension(choice.chosen.device, "cl_khr_fp64")) found += " [no cl_khr_fp64: float64 kernels cannot run]";
    if (!choice.others.empty()) {
      found += "; also found ";
      for (std::size_t i = 0; i < choice.others.size(); ++i) found += (i ? "; " : "") + choice.others[i].description;
    }
    return asp::Probe::yes(found);
  }

  const char* language() const override { return "opencl-c"; }

  std::string generate(asp::Call&, std::string_view text) override {
    return asp::backends::generate_device(asp::backends::read_psir(text), asp::backends::opencl_c_dialect());
  }

  std::int32_t device_type() const override { return kDLOpenCL; }

  std::string target(asp::Call&) override { return opencl().target; }

  std::string compile(asp::Call& call, std::string_view source) override {
    const Runtime& r = opencl();
    const char* text = source.data();
    const size_t length = source.size();
    cl_int status = CL_SUCCESS;
    Program program(clCreateProgramWithSource(r.context, 1, &text, &length, &status));
    check(status, "clCreateProgramWithSource", "compiling a kernel");
    status = clBuildProgram(program.get(), 1, &r.device, r.options.c_str(), nullptr, nullptr);
    if (status == CL_BUILD_PROGRAM_FAILURE) {
      throw asp::Error(ASP_ERR_COMPILE, "the OpenCL compiler of " + r.description + " rejected the source:\n" +
                                            build_log(program.get(), r.device));
    }
    check(status, "clBuildProgram", "compiling a kernel");
    if (std::string log = build_log(program.get(), r.device); !log.empty()) {
      call.log(ASP_LOG_DEBUG, "OpenCL build log:\n" + log);
    }

    size_t size = 0;
    check(clGetProgramInfo(program.get(), CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr), "clGetProgramInfo",
          "reading the size of the program binary");
    if (size == 0) {
      throw asp::Error(ASP_ERR_RUNTIME, "OpenCL: the driver of " + r.description +
                                            " gives no program binary, so compiled kernels cannot be cached");
    }
    std::string binary(size, '\0');
    auto* bytes = reinterpret_cast<unsigned char*>(binary.data());
    check(clGetProgramInfo(program.get(), CL_PROGRAM_BINARIES, sizeof bytes, &bytes, nullptr), "clGetProgramInfo",
          "reading the program binary");
    return seal(binary, r.target);
  }

  asp_device_module* load(asp::Call& call, std::string_view binary) override {
    const Runtime& r = opencl();
    if (binary.empty()) throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "OpenCL: the program binary is empty");
    const std::string_view payload = unseal(binary, r);
    const auto* bytes = reinterpret_cast<const unsigned char*>(payload.data());
    const size_t size = payload.size();
    cl_int binary_status = CL_SUCCESS;
    cl_int status = CL_SUCCESS;
    auto module = std::make_unique<ClModule>();
    module->program = Program(clCreateProgramWithBinary(r.context, 1, &r.device, &size, &bytes, &binary_status, &status));
    if (status == CL_INVALID_BINARY || binary_status != CL_SUCCESS) {
      throw asp::Error(ASP_ERR_RUNTIME, "OpenCL: " + r.description +
                                            " does not accept the program binary: clear the code cache");
    }
    check(status, "clCreateProgramWithBinary", "loading a program binary");
    status = clBuildProgram(module->program.get(), 1, &r.device, r.options.c_str(), nullptr, nullptr);
    if (status == CL_BUILD_PROGRAM_FAILURE) {
      throw asp::Error(ASP_ERR_RUNTIME, "OpenCL: building the program binary for " + r.description +
                                            " failed (clear the code cache):\n" +
                                            build_log(module->program.get(), r.device));
    }
    check(status, "clBuildProgram", "loading a program binary");
    return adopt(call, std::move(module));
  }

  asp_device_buffer* allocate(asp::Call&, std::size_t bytes) override {
    const Runtime& r = opencl();
    cl_int status = CL_SUCCESS;
    auto buffer = std::make_unique<ClBuffer>();
    buffer->memory = Memory(clCreateBuffer(r.context, CL_MEM_READ_WRITE, std::max<size_t>(bytes, 1), nullptr, &status));
    if (status == CL_INVALID_BUFFER_SIZE) {
      throw asp::Error(ASP_ERR_OUT_OF_MEMORY,
                       "OpenCL: " + std::to_string(bytes) + " bytes is more than one buffer may hold on " +
                           r.description + " (at most " +
                           std::to_string(device_value<cl_ulong>(r.device, CL_DEVICE_MAX_MEM_ALLOC_SIZE)) + ")");
    }
    check(status, "clCreateBuffer", "allocating " + std::to_string(bytes) + " bytes");
    buffer->bytes = bytes;
    return handle(std::move(buffer));
  }

  asp_device_buffer* wrap(asp::Call&, void* device_pointer, std::size_t bytes) override {
    const Runtime& r = opencl();
    if (device_pointer == nullptr) throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "OpenCL: the array has no cl_mem");
    auto* memory = static_cast<cl_mem>(device_pointer);
    cl_context context = nullptr;
    check(clGetMemObjectInfo(memory, CL_MEM_CONTEXT, sizeof context, &context, nullptr), "clGetMemObjectInfo",
          "reading the array's cl_mem (an OpenCL array's data pointer must be its cl_mem)");
    if (context != r.context) {
      throw asp::Error(ASP_ERR_UNSUPPORTED, "OpenCL: the array lives in another OpenCL context than Asp's, which "
                                            "cannot use it: pass the array in host memory (a NumPy array) instead");
    }
    size_t size = 0;
    check(clGetMemObjectInfo(memory, CL_MEM_SIZE, sizeof size, &size, nullptr), "clGetMemObjectInfo",
          "reading the size of the array's cl_mem");
    if (size < bytes) {
      throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "OpenCL: the array's cl_mem holds " + std::to_string(size) +
                                                     " bytes, the array needs " + std::to_string(bytes));
    }
    check(clRetainMemObject(memory), "clRetainMemObject", "using the array's cl_mem");
    auto buffer = std::make_unique<ClBuffer>();
    buffer->memory = Memory(memory);
    buffer->bytes = bytes;
    return handle(std::move(buffer));
  }

 private:
  // The process's device, context and queue, created on first use.
  const Runtime& opencl() {
    if (const Runtime* r = process_runtime.load(std::memory_order_acquire)) return *r;
    std::lock_guard lock(process_runtime_mutex);
    if (!process_runtime.load(std::memory_order_relaxed)) {
      process_runtime.store(create_runtime().release(), std::memory_order_release);
    }
    return *process_runtime.load(std::memory_order_relaxed);
  }

  void write(Protocol::Buffer& to, const void* from, std::size_t bytes) override {
    check(clEnqueueWriteBuffer(opencl().queue, static_cast<ClBuffer&>(to).memory.get(), CL_TRUE, 0, bytes, from, 0,
                               nullptr, nullptr),
          "clEnqueueWriteBuffer", "copying " + std::to_string(bytes) + " bytes to the device");
  }

  void read(void* to, Protocol::Buffer& from, std::size_t bytes) override {
    check(clEnqueueReadBuffer(opencl().queue, static_cast<ClBuffer&>(from).memory.get(), CL_TRUE, 0, bytes, to, 0,
                              nullptr, nullptr),
          "clEnqueueReadBuffer", "copying " + std::to_string(bytes) + " bytes from the device");
  }

  void check_shape(const asp_launch_config& config, const std::string& what) override {
    const Runtime& r = opencl();
    for (int d = 0; d < 3; ++d) {
      if (config.block[d] == 0 || config.block[d] > r.max_block[d]) {
        throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "OpenCL: " + what + ": the block's dimension " + std::to_string(d) +
                                                       " is " + std::to_string(config.block[d]) + ", " +
                                                       r.description + " allows 1 to " + std::to_string(r.max_block[d]));
      }
      if (config.grid[d] > std::numeric_limits<size_t>::max() / config.block[d]) {
        throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "OpenCL: " + what + ": the grid is too large");
      }
    }
  }

  std::unique_ptr<Protocol::Kernel> find_kernel(Protocol::Module& base, const std::string& name) override {
    ClModule& module = static_cast<ClModule&>(base);
    const Runtime& r = opencl();
    cl_int status = CL_SUCCESS;
    auto entry = std::make_unique<KernelEntry>();
    entry->kernel = KernelHandle(clCreateKernel(module.program.get(), name.c_str(), &status));
    if (status == CL_INVALID_KERNEL_NAME) {
      throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "OpenCL: the module has no kernel " + name + " (it has: " +
                                                     kernel_names(module.program.get()) + ")");
    }
    check(status, "clCreateKernel", "creating kernel " + name);
    cl_uint parameters = 0;
    check(clGetKernelInfo(entry->kernel.get(), CL_KERNEL_NUM_ARGS, sizeof parameters, &parameters, nullptr),
          "clGetKernelInfo", "reading the parameters of " + name);
    entry->parameters = parameters;
    check(clGetKernelWorkGroupInfo(entry->kernel.get(), r.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof entry->max_threads,
                                   &entry->max_threads, nullptr),
          "clGetKernelWorkGroupInfo", "reading the block limit of " + name);
    return entry;
  }

  void check_launch(const Launch& launch) override {
    const size_t threads = launch.config.block[0] * launch.config.block[1] * launch.config.block[2];
    const size_t limit = static_cast<const KernelEntry&>(launch.kernel).max_threads;
    if (threads > limit) {
      throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "OpenCL: " + launch.what + ": a block of " + std::to_string(threads) +
                                                     " threads is more than the kernel allows on " +
                                                     opencl().description + " (" + std::to_string(limit) + ")");
    }
  }

  int run(Launch& launch) override {
    const Runtime& r = opencl();
    const std::string& what = launch.what;
    std::array<size_t, 3> global{}, local{};
    for (int d = 0; d < 3; ++d) {
      global[d] = launch.config.grid[d] * launch.config.block[d];
      local[d] = launch.config.block[d];
    }
    cl_kernel kernel = static_cast<KernelEntry&>(launch.kernel).kernel.get();
    for (size_t i = 0; i < launch.args.size(); ++i) {
      const Argument& arg = launch.args[i];
      cl_int status = CL_SUCCESS;
      if (arg.buffer != nullptr) {
        cl_mem memory = static_cast<ClBuffer*>(arg.buffer)->memory.get();
        status = clSetKernelArg(kernel, static_cast<cl_uint>(i), sizeof memory, &memory);
      } else {
        status = clSetKernelArg(kernel, static_cast<cl_uint>(i), arg.scalar_size, arg.scalar);
      }
      if (status != CL_SUCCESS) fail(what + ", argument " + std::to_string(i), "clSetKernelArg", status);
    }
    cl_mem status_word = static_cast<ClBuffer&>(launch.status).memory.get();
    check(clSetKernelArg(kernel, static_cast<cl_uint>(launch.args.size()), sizeof status_word, &status_word),
          "clSetKernelArg", what + ", the status word");
    const cl_int zero = 0;
    check(clEnqueueFillBuffer(r.queue, status_word, &zero, sizeof zero, 0, sizeof zero, 0, nullptr, nullptr),
          "clEnqueueFillBuffer", what + ": zeroing the status word");
    check(clEnqueueNDRangeKernel(r.queue, kernel, 3, nullptr, global.data(), local.data(), 0, nullptr, nullptr),
          "clEnqueueNDRangeKernel", what);
    int result = 0;
    cl_event read = nullptr;
    check(clEnqueueReadBuffer(r.queue, status_word, CL_FALSE, 0, sizeof result, &result, 0, nullptr, &read),
          "clEnqueueReadBuffer", what + ": reading the status word");
    const Event done(read);
    // The queue is in order: this read follows the kernel, and the next
    // launch's fill follows this read, so the lock need not cover the wait.
    launch.lock.unlock();
    if (const cl_int status = clWaitForEvents(1, &read); status != CL_SUCCESS) {
      clFinish(r.queue);  // the read must not outlive `result`
      cl_int execution = CL_SUCCESS;
      clGetEventInfo(read, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof execution, &execution, nullptr);
      fail(what, "clWaitForEvents", execution < 0 ? execution : status);
    }
    return result;
  }
};

}  // namespace

ASP_PLUGIN("opencl", ASP_CORE_VERSION, "OpenCL C for any OpenCL device (PoCL on CPUs)",
           asp::backend<OpenCLBackend>("opencl"),
           asp::backend_optimizer<asp::backends::GpuMapOptimizer>("opencl.gpu_map", "opencl"))
