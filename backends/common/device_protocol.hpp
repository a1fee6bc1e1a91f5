// The half of a device backend that does not depend on its API: what the
// CUDA and OpenCL backends would otherwise both write, and what an
// out-of-tree device backend reuses (installed as <asp/backends/...> with
// the plugin API; link Asp::backend_common).
//
// DeviceProtocol implements asp::DeviceBackend's buffer, copy, module and
// launch entry points around a few API hooks. It owns
//   - the buffer bookkeeping: each asp_device_buffer is a DeviceProtocol::Buffer
//     (the backend's subclass) that knows its size; release() deletes it;
//   - the copy checks: a buffer, host memory, and no more bytes than the buffer holds;
//   - the module bookkeeping: each asp_device_module is a DeviceProtocol::Module
//     (the backend's subclass) with its status word, a buffer of one int that
//     every launch of the module shares, and its per-name kernel cache;
//   - the launch checks, in one order for every backend: well-formed
//     arguments (each a buffer or a scalar), the kernel asp_entry_<function>
//     found once per module and name, the number of its parameters, and an
//     empty grid, which runs nothing and reports ASP_C_OK;
//   - the module's lock, held from the kernel lookup until the backend's run
//     hook lets it go: a kernel's arguments and the status word are shared by
//     every thread that launches from the module (rule R10: any thread may call).
// The backend adds its API calls: allocate and wrap (which create Buffers),
// load (which creates a Module and hands it to adopt()), the copies, the kernel
// lookup, and the launch itself, which zeroes the status word, runs the kernel
// and returns the word's value (ASP_C_* codes; the core interprets them).
//
// Every message of the protocol names the backend ("OpenCL: launching asp_entry_f: ...").
#pragma once

#include <asp/plugin.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

namespace asp::backends {

class DeviceProtocol : public DeviceBackend {
 public:
  // What asp_device_buffer stands for; the backend derives its own from it
  // and frees its memory in the destructor (which must not throw).
  struct Buffer {
    virtual ~Buffer() = default;
    std::size_t bytes = 0;  // what copies may move; the memory may be larger
  };

  // A kernel of a module, created by the backend's find_kernel hook.
  struct Kernel {
    virtual ~Kernel() = default;
    // The kernel's parameters, the status word's included, where the API can say.
    std::optional<std::size_t> parameters;
  };

  // What asp_device_module stands for; the backend derives its own from it
  // and frees the API's module in the destructor (which must not throw).
  struct Module {
    virtual ~Module() = default;

   private:
    friend class DeviceProtocol;
    std::unique_ptr<Buffer> status;  // the status word: one int
    std::mutex mutex;                // guards `kernels`, the kernels' arguments and the status word
    std::unordered_map<std::string, std::unique_ptr<Kernel>> kernels;
  };

  // One argument of a launch, checked: a buffer, or a scalar's bytes.
  struct Argument {
    Buffer* buffer = nullptr;
    const void* scalar = nullptr;
    std::size_t scalar_size = 0;
  };

  // What the run hook launches.
  struct Launch {
    const std::string& kernel_name;  // asp_entry_<function>
    const std::string& what;         // "launching asp_entry_<function>", for messages
    Kernel& kernel;
    std::span<const Argument> args;
    const asp_launch_config& config;  // no dimension of it is 0
    Buffer& status;                   // the module's status word
    // The module's lock, held on entry. The hook may unlock it once the
    // kernel's arguments and the status word are no longer its alone (an
    // in-order queue has taken the launch and the read of the word).
    std::unique_lock<std::mutex>& lock;
  };

  // `api` names the backend in messages: "CUDA", "OpenCL".
  explicit DeviceProtocol(std::string api) : api_(std::move(api)) {}

  void unload(asp_device_module* module) noexcept final;
  void release(asp_device_buffer* buffer) noexcept final;
  void copy_in(Call& call, asp_device_buffer* to, const void* from, std::size_t bytes) final;
  void copy_out(Call& call, void* to, asp_device_buffer* from, std::size_t bytes) final;
  int launch(Call& call, asp_device_module* module, const char* function, std::span<const asp_device_arg> args,
             const asp_launch_config& config) final;

 protected:
  // A new buffer as the handle allocate() and wrap() return.
  static asp_device_buffer* handle(std::unique_ptr<Buffer> buffer) {
    return reinterpret_cast<asp_device_buffer*>(buffer.release());
  }
  // A loaded module as the handle load() returns, with its status word allocated (allocate(call, sizeof(int))).
  asp_device_module* adopt(Call& call, std::unique_ptr<Module> module);

  // "OpenCL: " + text: how the protocol's messages begin.
  std::string message(const std::string& text) const { return api_ + ": " + text; }

  // ---- the API's part ----

  // The copies, of 1 to buffer.bytes bytes between checked buffers and host memory.
  virtual void write(Buffer& to, const void* from, std::size_t bytes) = 0;
  virtual void read(void* to, Buffer& from, std::size_t bytes) = 0;
  // Throws for a launch shape the API cannot take (before any kernel is looked up).
  virtual void check_shape(const asp_launch_config& config, const std::string& what) = 0;
  // The kernel `name` of `module`, looked up once per module and name; a
  // missing one is ASP_ERR_INVALID_ARGUMENT. Called under the module's lock.
  virtual std::unique_ptr<Kernel> find_kernel(Module& module, const std::string& name) = 0;
  // Checks the API can make of a launch beyond the number of arguments (their sizes, the block's);
  // called under the module's lock, also for an empty grid.
  virtual void check_launch(const Launch&) {}
  // Zeroes the status word, runs the kernel to completion and returns the word.
  virtual int run(Launch& launch) = 0;

 private:
  static Buffer& buffer(asp_device_buffer* handle);
  void check_copy(asp_device_buffer* handle, const void* host, std::size_t bytes, const char* what) const;

  std::string api_;
};

}  // namespace asp::backends
