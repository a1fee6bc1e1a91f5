// A minimal host for testing one backend plugin through its C ABI alone:
// opens the library, negotiates the ABI, and finds the backend component,
// with the errors the plugin reports kept for the test to read.
//
// A plugin keeps the first host table it is given for the rest of the
// process: give each plugin one PluginHost that lives as long as the process
// (a static), never one per test fixture.
#pragma once

#include <asp/plugin.h>

#include <dlfcn.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace asp::test {

struct PluginHost {
  asp_status last_status = ASP_OK;
  std::string last_error;

  // Loads `path` (the library is never closed, as in the core) and returns
  // what its entry point describes, or throws.
  const asp_plugin_info& load_plugin(const std::string& path) {
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) throw std::runtime_error(std::string("dlopen: ") + dlerror());
    auto entry = reinterpret_cast<asp_plugin_entry_fn>(dlsym(library, ASP_PLUGIN_ENTRY_SYMBOL));
    if (!entry) throw std::runtime_error("no entry point in " + path);
    std::uint32_t version = ASP_ABI_VERSION;
    const asp_plugin_info* info = entry(&host_, context(), &version);
    if (!info) throw std::runtime_error("the plugin refused to load: " + last_error);
    return *info;
  }

  // Loads `path` and returns its component of this kind and name, or throws.
  const asp_component& load_component(const std::string& path, asp_component_kind kind, const std::string& name) {
    const asp_plugin_info* info = &load_plugin(path);
    for (std::size_t i = 0; i < info->component_count; ++i) {
      const asp_component& c = info->components[i];
      if (c.kind == kind && name == c.name) return c;
    }
    throw std::runtime_error("no component '" + name + "' in " + path);
  }

  const asp_backend* load_backend(const std::string& path, const std::string& name) {
    return static_cast<const asp_backend*>(load_component(path, ASP_COMPONENT_BACKEND, name).vtable);
  }

  // The context to pass to a call: errors it reports land in last_status / last_error.
  asp_host_context* context() { return reinterpret_cast<asp_host_context*>(this); }

  static asp_text_sink sink(std::string& out) {
    return {sizeof(asp_text_sink), &out, [](void* c, const char* data, size_t n) { static_cast<std::string*>(c)->append(data, n); }};
  }

 private:
  static void log(asp_host_context*, asp_log_level, const char*) {}
  static void set_error(asp_host_context* ctx, asp_status status, const char* message, const asp_source_location*) {
    auto* self = reinterpret_cast<PluginHost*>(ctx);
    self->last_status = status;
    self->last_error = message ? message : "";
  }
  // Logging and errors only: the services ABI 1.5 appended are NULL, not provided (R5).
  static asp_host make_host() {
    asp_host host{};
    host.struct_size = sizeof host;
    host.abi_version = ASP_ABI_VERSION;
    host.core_version = "test";
    host.log = &log;
    host.set_error = &set_error;
    return host;
  }
  asp_host host_ = make_host();
};

}  // namespace asp::test
