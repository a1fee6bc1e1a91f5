// DeviceRuntime backends as the core uses them (ABI 1.1, <asp/plugin.h>): the C
// vtable with its errors turned into exceptions, device buffers that free
// themselves, and the residency of host arrays in device memory.
//
// Residency. A host array that an owner (a StencilGrid) wraps in a Mirror is
// copied to the device on its first use by a device kernel and stays there:
// consecutive device kernels use the device copy, and a kernel that writes it
// leaves the device copy newer than the host's. The host copy is brought up to
// date (copied out) by sync(), which the owner calls when Python reads the
// array, and before a host (CPU) kernel uses it. Once the owner has handed the
// host array out it may change there, so the next device use copies it in
// again. Arrays without a Mirror are copied in before and out after each call.
#pragma once

#include <asp/plugin.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace asp::core {

class DeviceRuntime {
 public:
  // `vtable` must provide the device fields (ABI 1.1); throws std::runtime_error otherwise.
  DeviceRuntime(std::string backend, const asp_backend* vtable);

  const std::string& backend() const { return backend_; }
  std::int32_t device_type() const { return vtable_->device_type; }

  // Each throws std::runtime_error naming the backend, compile() CompileError when the source is rejected.
  std::string target() const;
  std::string compile(const std::string& source) const;
  asp_device_module* load(const std::string& binary) const;
  void unload(asp_device_module* module) const noexcept;
  asp_device_buffer* allocate(std::size_t bytes) const;
  asp_device_buffer* wrap(void* device_pointer, std::size_t bytes) const;
  void release(asp_device_buffer* buffer) const noexcept;
  void copy_in(asp_device_buffer* to, const void* from, std::size_t bytes) const;
  void copy_out(void* to, asp_device_buffer* from, std::size_t bytes) const;
  // Returns the kernel's status word.
  int launch(asp_device_module* module, const std::string& function, const asp_device_arg* args, std::size_t count,
             const asp_launch_config& config) const;

 private:
  [[noreturn]] void fail(const std::string& what, const std::string& detail) const;

  std::string backend_;
  const asp_backend* vtable_;
  std::string who_;
};

// A device buffer that releases itself.
class DeviceBuffer {
 public:
  DeviceBuffer(std::shared_ptr<const DeviceRuntime> device, asp_device_buffer* handle, std::size_t bytes)
      : device_(std::move(device)), handle_(handle), bytes_(bytes) {}
  ~DeviceBuffer() { device_->release(handle_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  const DeviceRuntime& device() const { return *device_; }
  asp_device_buffer* handle() const { return handle_; }
  std::size_t bytes() const { return bytes_; }

 private:
  std::shared_ptr<const DeviceRuntime> device_;
  asp_device_buffer* handle_;
  std::size_t bytes_;
};

// The device copy of one host array (see Residency above). Thread-safe.
class Mirror {
 public:
  Mirror() = default;
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // The buffer on `device` with the array's current contents (`bytes` at
  // `host`), copied in when the host copy is newer. A mirror on another
  // device is synced and moved.
  asp_device_buffer* on_device(const std::shared_ptr<const DeviceRuntime>& device, void* host, std::size_t bytes);
  // A device kernel wrote the buffer: the device copy is now the newer one.
  void device_wrote();
  // Copies the device copy out when it is newer; afterwards both are equal.
  void sync();
  // sync(), then the host copy may change behind the mirror's back (it was
  // handed out, or a host kernel writes it): the next device use copies in.
  void release_to_host();
  // Whether the device copy is newer than the host's (for tests and `repr`).
  bool device_newer() const;

 private:
  enum class State { host_newer, same, device_newer };
  void sync_locked();

  mutable std::mutex mutex_;
  std::unique_ptr<DeviceBuffer> buffer_;
  // Whether buffer_ is set, read without the lock: a mirror that never went to
  // a device (every grid a host kernel takes) costs a host kernel's call nothing.
  std::atomic<bool> on_a_device_{false};
  void* host_ = nullptr;
  State state_ = State::host_newer;
};

}  // namespace asp::core
