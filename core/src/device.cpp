#include "asp/core/device.hpp"

#include "asp/core/jit.hpp"
#include "asp/core/registry.hpp"

#include <stdexcept>

namespace asp::core {

namespace {

asp_text_sink string_sink(std::string& out) {
  return {sizeof(asp_text_sink), &out,
          [](void* context, const char* data, size_t length) { static_cast<std::string*>(context)->append(data, length); }};
}

}  // namespace

DeviceRuntime::DeviceRuntime(std::string backend, const asp_backend* vtable)
    : backend_(std::move(backend)), vtable_(vtable), who_("backends." + backend_) {
  if (!ASP_HAS_FIELD(vtable, asp_backend, launch) || !vtable->target || !vtable->compile || !vtable->load ||
      !vtable->unload || !vtable->allocate || !vtable->release || !vtable->copy_in || !vtable->copy_out ||
      !vtable->launch) {
    throw std::runtime_error("backend '" + backend_ + "' declares a device language but lacks the device functions of ABI 1.1");
  }
}

void DeviceRuntime::fail(const std::string& what, const std::string& detail) const {
  throw std::runtime_error(who_ + ": " + what + " failed: " + detail);
}

std::string DeviceRuntime::target() const {
  std::string out;
  const asp_text_sink sink = string_sink(out);
  if (auto e = call_plugin(who_, [&](asp_host_context* ctx) { return vtable_->target(vtable_->self, ctx, &sink); })) {
    fail("target", e->message);
  }
  return out;
}

std::string DeviceRuntime::compile(const std::string& source) const {
  std::string out;
  const asp_text_sink sink = string_sink(out);
  if (auto e = call_plugin(who_, [&](asp_host_context* ctx) { return vtable_->compile(vtable_->self, ctx, source.c_str(), &sink); })) {
    if (e->status == ASP_ERR_COMPILE) throw CompileError(who_ + ": the device compiler rejected the generated source", e->message, {});
    fail("compile", e->message);
  }
  return out;
}

asp_device_module* DeviceRuntime::load(const std::string& binary) const {
  asp_device_module* module = nullptr;
  if (auto e = call_plugin(who_, [&](asp_host_context* ctx) {
        return vtable_->load(vtable_->self, ctx, binary.data(), binary.size(), &module);
      })) {
    fail("loading the kernel", e->message);
  }
  return module;
}

void DeviceRuntime::unload(asp_device_module* module) const noexcept { vtable_->unload(vtable_->self, module); }

asp_device_buffer* DeviceRuntime::allocate(std::size_t bytes) const {
  asp_device_buffer* buffer = nullptr;
  if (auto e = call_plugin(who_, [&](asp_host_context* ctx) { return vtable_->allocate(vtable_->self, ctx, bytes, &buffer); })) {
    fail("allocating " + std::to_string(bytes) + " bytes", e->message);
  }
  return buffer;
}

asp_device_buffer* DeviceRuntime::wrap(void* device_pointer, std::size_t bytes) const {
  if (!vtable_->wrap) throw std::runtime_error(who_ + " cannot use arrays that already live on its device");
  asp_device_buffer* buffer = nullptr;
  if (auto e = call_plugin(who_, [&](asp_host_context* ctx) {
        return vtable_->wrap(vtable_->self, ctx, device_pointer, bytes, &buffer);
      })) {
    fail("using a device array in place", e->message);
  }
  return buffer;
}

void DeviceRuntime::release(asp_device_buffer* buffer) const noexcept { vtable_->release(vtable_->self, buffer); }

void DeviceRuntime::copy_in(asp_device_buffer* to, const void* from, std::size_t bytes) const {
  if (auto e = call_plugin(who_, [&](asp_host_context* ctx) { return vtable_->copy_in(vtable_->self, ctx, to, from, bytes); })) {
    fail("copying to the device", e->message);
  }
}

void DeviceRuntime::copy_out(void* to, asp_device_buffer* from, std::size_t bytes) const {
  if (auto e = call_plugin(who_, [&](asp_host_context* ctx) { return vtable_->copy_out(vtable_->self, ctx, to, from, bytes); })) {
    fail("copying from the device", e->message);
  }
}

int DeviceRuntime::launch(asp_device_module* module, const std::string& function, const asp_device_arg* args,
                   std::size_t count, const asp_launch_config& config) const {
  int status = 0;
  if (auto e = call_plugin(who_, [&](asp_host_context* ctx) {
        return vtable_->launch(vtable_->self, ctx, module, function.c_str(), args, count, &config, &status);
      })) {
    fail("launching " + function, e->message);
  }
  return status;
}

// ---- Mirror ----------------------------------------------------------------

asp_device_buffer* Mirror::on_device(const std::shared_ptr<const DeviceRuntime>& device, void* host, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  if (buffer_ && (&buffer_->device() != device.get() || buffer_->bytes() != bytes || host_ != host)) {
    sync_locked();
    buffer_.reset();
    state_ = State::host_newer;
  }
  host_ = host;
  if (!buffer_) buffer_ = std::make_unique<DeviceBuffer>(device, device->allocate(bytes), bytes);
  on_a_device_.store(true, std::memory_order_release);
  if (state_ == State::host_newer) {
    device->copy_in(buffer_->handle(), host, bytes);
    state_ = State::same;
  }
  return buffer_->handle();
}

void Mirror::device_wrote() {
  std::lock_guard lock(mutex_);
  if (buffer_) state_ = State::device_newer;
}

void Mirror::sync_locked() {
  if (state_ != State::device_newer) return;
  buffer_->device().copy_out(host_, buffer_->handle(), buffer_->bytes());
  state_ = State::same;
}

void Mirror::sync() {
  std::lock_guard lock(mutex_);
  sync_locked();
}

void Mirror::release_to_host() {
  // Without a device copy the host copy is the only one (state_ is host_newer).
  if (!on_a_device_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  sync_locked();
  state_ = State::host_newer;
}

bool Mirror::device_newer() const {
  std::lock_guard lock(mutex_);
  return state_ == State::device_newer;
}

}  // namespace asp::core
