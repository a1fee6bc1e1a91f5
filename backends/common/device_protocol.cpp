#include "device_protocol.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

namespace asp::backends {

DeviceProtocol::Buffer& DeviceProtocol::buffer(asp_device_buffer* handle) {
  if (handle == nullptr) throw Error(ASP_ERR_INVALID_ARGUMENT, "no device buffer given");
  return *reinterpret_cast<Buffer*>(handle);
}

asp_device_module* DeviceProtocol::adopt(Call& call, std::unique_ptr<Module> module) {
  asp_device_buffer* status = allocate(call, sizeof(int));
  module->status.reset(&buffer(status));
  return reinterpret_cast<asp_device_module*>(module.release());
}

void DeviceProtocol::unload(asp_device_module* module) noexcept { delete reinterpret_cast<Module*>(module); }

void DeviceProtocol::release(asp_device_buffer* handle) noexcept { delete reinterpret_cast<Buffer*>(handle); }

void DeviceProtocol::check_copy(asp_device_buffer* handle, const void* host, std::size_t bytes, const char* what) const {
  if (handle == nullptr || (host == nullptr && bytes > 0)) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, message(std::string(what) + " needs a buffer and host memory"));
  }
  const Buffer& to = *reinterpret_cast<const Buffer*>(handle);
  if (bytes > to.bytes) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, message(std::string(what) + ": " + std::to_string(bytes) +
                                                  " bytes do not fit the buffer of " + std::to_string(to.bytes)));
  }
}

void DeviceProtocol::copy_in(Call&, asp_device_buffer* to, const void* from, std::size_t bytes) {
  check_copy(to, from, bytes, "copying to the device");
  if (bytes > 0) write(buffer(to), from, bytes);
}

void DeviceProtocol::copy_out(Call&, void* to, asp_device_buffer* from, std::size_t bytes) {
  check_copy(from, to, bytes, "copying from the device");
  if (bytes > 0) read(to, buffer(from), bytes);
}

int DeviceProtocol::launch(Call&, asp_device_module* handle, const char* function,
                           std::span<const asp_device_arg> args, const asp_launch_config& config) {
  if (handle == nullptr) throw Error(ASP_ERR_INVALID_ARGUMENT, message("no device module given"));
  if (function == nullptr) throw Error(ASP_ERR_INVALID_ARGUMENT, message("no kernel named"));
  Module& module = *reinterpret_cast<Module*>(handle);
  const std::string name = std::string(ASP_C_ENTRY_PREFIX) + function;
  const std::string what = "launching " + name;
  check_shape(config, what);

  std::vector<Argument> checked;
  checked.reserve(args.size());
  for (std::size_t i = 0; i < args.size(); ++i) {
    const asp_device_arg& arg = args[i];
    if (!ASP_HAS_FIELD(&arg, asp_device_arg, scalar_size)) {
      throw Error(ASP_ERR_INVALID_ARGUMENT, message(what + ", argument " + std::to_string(i) + " is malformed"));
    }
    if (arg.buffer != nullptr) {
      checked.push_back({&buffer(arg.buffer), nullptr, 0});
    } else if (arg.scalar != nullptr && arg.scalar_size > 0) {
      checked.push_back({nullptr, arg.scalar, arg.scalar_size});
    } else {
      throw Error(ASP_ERR_INVALID_ARGUMENT,
                  message(what + ", argument " + std::to_string(i) + " is neither a buffer nor a scalar"));
    }
  }
  const auto zero = [](std::uint64_t n) { return n == 0; };
  const bool empty = std::any_of(std::begin(config.grid), std::end(config.grid), zero) ||
                     std::any_of(std::begin(config.block), std::end(config.block), zero);

  std::unique_lock lock(module.mutex);
  auto found = module.kernels.find(name);
  if (found == module.kernels.end()) {
    std::unique_ptr<Kernel> kernel = find_kernel(module, name);
    if (kernel->parameters == std::size_t{0}) {
      throw Error(ASP_ERR_INVALID_ARGUMENT, message("kernel " + name + " has no status word parameter"));
    }
    found = module.kernels.emplace(name, std::move(kernel)).first;
  }
  Kernel& kernel = *found->second;
  if (kernel.parameters && *kernel.parameters != args.size() + 1) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, message(what + ": the kernel takes " + std::to_string(*kernel.parameters - 1) +
                                                  " parameters before the status word, the launch passes " +
                                                  std::to_string(args.size())));
  }
  Launch launch{name, what, kernel, checked, config, *module.status, lock};
  check_launch(launch);
  if (empty) return ASP_C_OK;  // nothing to run: no iteration can fail
  return run(launch);
}

}  // namespace asp::backends
