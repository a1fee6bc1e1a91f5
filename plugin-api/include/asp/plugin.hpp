// asp/plugin.hpp — header-only C++ helpers for plugin authors.
//
// Write ordinary C++: derive from asp::Frontend, asp::Optimizer, asp::Lowering
// or asp::Backend, describe hand-written kernels with asp::KernelSource,
// throw asp::Error on failure, and register everything with one
// ASP_PLUGIN(...) line. These helpers implement the rules of <asp/plugin.h>:
// they negotiate the ABI version, build the C tables, and turn every exception
// into an asp_status plus a message reported through the host (nothing throws
// across the boundary).
//
//   #include <asp/plugin.hpp>
//   struct MyBackend : asp::Backend {
//     asp::Probe probe(asp::Call&, const asp::BackendConfig&) override {
//       return asp::Probe::yes("always here");
//     }
//   };
//   ASP_PLUGIN("mine", "1.0.0", "an example", asp::backend<MyBackend>("mine"))
#pragma once

#include <asp/ir_text.hpp>
#include <asp/plugin.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

// The lowest host ABI minor version this plugin works with; define before
// including this header to require features appended in a later minor version.
#ifndef ASP_PLUGIN_MIN_ABI_MINOR
#define ASP_PLUGIN_MIN_ABI_MINOR 0
#endif

namespace asp {

// A source location in the user's program, for errors such as "unsupported construct".
struct Location {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

// Throw this from a component to report a failure with a status other than ASP_ERR_INTERNAL.
class Error : public std::runtime_error {
 public:
  Error(asp_status status, const std::string& message, std::optional<Location> where = std::nullopt)
      : std::runtime_error(message), status_(status), where_(std::move(where)) {}
  asp_status status() const noexcept { return status_; }
  const std::optional<Location>& where() const noexcept { return where_; }

 private:
  asp_status status_;
  std::optional<Location> where_;
};

// A host service failed and has already reported its error on the call's
// context (the compiler's messages, for one): the helpers return its status
// without reporting again, so the host's message is what the user reads.
class HostError : public Error {
 public:
  using Error::Error;
};

// Loaded code from Call::jit_compile, released (through the host table) when
// the last copy goes. Keep it while any of its functions may run.
class JitModule {
 public:
  JitModule() = default;
  JitModule(const asp_host* host, asp_jit_module* module)
      : module_(module, [host](asp_jit_module* m) { host->jit_release(m); }), host_(host) {}
  explicit operator bool() const { return module_ != nullptr; }
  // The address of an exported symbol, or nullptr when absent.
  void* symbol(const std::string& name) const {
    return module_ ? host_->jit_symbol(module_.get(), name.c_str()) : nullptr;
  }
  template <class Function>
  Function* function(const std::string& name) const {
    return reinterpret_cast<Function*>(symbol(name));
  }

 private:
  std::shared_ptr<asp_jit_module> module_;
  const asp_host* host_ = nullptr;
};

// The host services for the duration of one call into the plugin.
class Call {
 public:
  Call(const asp_host* host, asp_host_context* ctx) : host_(host), ctx_(ctx) {}
  void log(asp_log_level level, const std::string& message) const {
    if (host_ != nullptr && host_->log != nullptr) host_->log(ctx_, level, message.c_str());
  }
  const asp_host& host() const { return *host_; }
  asp_host_context* context() const { return ctx_; }

  // ABI 1.5 services. Each is there only when the host provides it (R4/R5):
  // the platform facts are then std::nullopt, the others throw Error(ASP_ERR_UNSUPPORTED).
  std::optional<asp_platform_info> platform() const {
    if (!ASP_HAS_FIELD(host_, asp_host, platform) || host_->platform == nullptr) return std::nullopt;
    asp_platform_info info{};
    info.struct_size = sizeof info;
    check(host_->platform(ctx_, &info));
    return info;
  }
  // The bytes stored under `key` in this component's namespace of the code cache, or std::nullopt on a miss.
  std::optional<std::string> cache_load(const std::string& key) const {
    require(ASP_HAS_FIELD(host_, asp_host, cache_load) && host_->cache_load != nullptr, "a code cache");
    std::string bytes;
    const asp_text_sink sink{sizeof(asp_text_sink), &bytes, &append};
    int found = 0;
    check(host_->cache_load(ctx_, key.c_str(), &sink, &found));
    if (!found) return std::nullopt;
    return bytes;
  }
  void cache_store(const std::string& key, std::string_view bytes) const {
    require(ASP_HAS_FIELD(host_, asp_host, cache_store) && host_->cache_store != nullptr, "a code cache");
    check(host_->cache_store(ctx_, key.c_str(), bytes.data(), bytes.size()));
  }
  // Compiles C11 `source` with the JIT driver configured for `backend` (empty: ORC) and loads it.
  // A source the compiler rejects throws HostError(ASP_ERR_COMPILE) with the compiler's messages.
  JitModule jit_compile(const std::string& source, const std::string& name = "", bool openmp = false,
                        const std::string& backend = "") const {
    require(ASP_HAS_FIELD(host_, asp_host, jit_release) && host_->jit_compile != nullptr &&
                host_->jit_symbol != nullptr && host_->jit_release != nullptr,
            "a JIT driver");
    const asp_jit_request request{sizeof(asp_jit_request), source.c_str(), name.empty() ? nullptr : name.c_str(),
                                  openmp ? 1 : 0, backend.empty() ? nullptr : backend.c_str()};
    asp_jit_module* module = nullptr;
    check(host_->jit_compile(ctx_, &request, &module));
    return JitModule(host_, module);
  }

 private:
  static void append(void* bytes, const char* data, size_t length) { static_cast<std::string*>(bytes)->append(data, length); }
  void require(bool provided, const char* what) const {
    if (!provided) throw Error(ASP_ERR_UNSUPPORTED, std::string("the host does not offer ") + what + " (it needs ABI 1.5)");
  }
  static void check(asp_status status) {
    if (status != ASP_OK) throw HostError(status, "a host service failed");
  }

  const asp_host* host_;
  asp_host_context* ctx_;
};

struct BackendConfig {
  std::optional<std::string> jit;
  std::optional<std::string> compiler;
  std::optional<std::vector<std::string>> flags;
};

struct Probe {
  bool available = false;
  std::string reason;
  static Probe yes(std::string what) { return {true, std::move(what)}; }
  static Probe no(std::string why) { return {false, std::move(why)}; }
};

class Frontend {
 public:
  virtual ~Frontend() = default;
  virtual std::string translate(Call& call, std::string_view tree, std::span<const asp_arg> args) = 0;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string run(Call& call, std::string_view ir) = 0;
};

class Lowering {
 public:
  virtual ~Lowering() = default;
  virtual std::string lower(Call& call, std::string_view dsir) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Probe probe(Call& call, const BackendConfig& config) = 0;
  // What generate() emits ("c", "c+openmp"); nullptr when the backend generates nothing.
  virtual const char* language() const { return nullptr; }
  // PSIR module text -> source in language(). Throw asp::Error to fail.
  virtual std::string generate(Call&, std::string_view /*psir*/) {
    throw Error(ASP_ERR_UNSUPPORTED, "this backend does not generate code");
  }
  // The runtime handed to each loaded module's asp_runtime_init, or nullptr.
  virtual const void* runtime() { return nullptr; }
};

// A device backend (ABI 1.1; language() "opencl-c" or "cuda-c"): it also
// compiles, loads and launches, and manages device memory. See the device
// entry convention in <asp/plugin.h>. Throw asp::Error to fail.
class DeviceBackend : public Backend {
 public:
  // DLPack device type of the backend's memory (kDLOpenCL, kDLCUDA).
  virtual std::int32_t device_type() const = 0;
  // Device, driver and compiler identity: part of the code-cache key.
  virtual std::string target(Call&) = 0;
  // Source -> binary bytes. A rejected source is ASP_ERR_COMPILE with the compiler's log.
  virtual std::string compile(Call&, std::string_view source) = 0;
  virtual asp_device_module* load(Call&, std::string_view binary) = 0;
  virtual void unload(asp_device_module* module) noexcept = 0;
  virtual asp_device_buffer* allocate(Call&, std::size_t bytes) = 0;
  // Memory the caller owns on the device, used in place; release() frees the handle only.
  virtual asp_device_buffer* wrap(Call&, void* /*device_pointer*/, std::size_t /*bytes*/) {
    throw Error(ASP_ERR_UNSUPPORTED, "this backend cannot use arrays that already live on its device");
  }
  virtual void release(asp_device_buffer* buffer) noexcept = 0;
  virtual void copy_in(Call&, asp_device_buffer* to, const void* from, std::size_t bytes) = 0;
  virtual void copy_out(Call&, void* to, asp_device_buffer* from, std::size_t bytes) = 0;
  // Runs asp_entry_<function> to completion; returns the kernel's status word.
  virtual int launch(Call&, asp_device_module* module, const char* function, std::span<const asp_device_arg> args,
                     const asp_launch_config& config) = 0;
};

namespace detail {

// The host table of the first host that called the entry point. The host
// table is static in the core, so one pointer serves every later call.
inline const asp_host*& host_table() {
  static const asp_host* host = nullptr;
  return host;
}

inline void report(asp_host_context* ctx, asp_status status, const std::string& message,
                   const std::optional<Location>& where = std::nullopt) {
  const asp_host* host = host_table();
  if (host == nullptr || host->set_error == nullptr) return;
  if (where) {
    asp_source_location loc{sizeof(asp_source_location), where->file.empty() ? nullptr : where->file.c_str(),
                            where->line, where->column};
    host->set_error(ctx, status, message.c_str(), &loc);
  } else {
    host->set_error(ctx, status, message.c_str(), nullptr);
  }
}

// Runs `body`, converting every exception into a status reported to the host (rule R1/R7).
template <class Body>
asp_status guarded(asp_host_context* ctx, Body&& body) noexcept {
  try {
    body();
    return ASP_OK;
  } catch (const HostError& e) {
    return e.status();
  } catch (const Error& e) {
    report(ctx, e.status(), e.what(), e.where());
    return e.status();
  } catch (const std::bad_alloc&) {
    report(ctx, ASP_ERR_OUT_OF_MEMORY, "out of memory");
    return ASP_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    report(ctx, ASP_ERR_INTERNAL, std::string("internal error: ") + e.what());
    return ASP_ERR_INTERNAL;
  } catch (...) {
    report(ctx, ASP_ERR_INTERNAL, "internal error: unknown exception");
    return ASP_ERR_INTERNAL;
  }
}

inline void write(const asp_text_sink* sink, std::string_view text) {
  if (sink == nullptr || sink->write == nullptr) throw Error(ASP_ERR_INVALID_ARGUMENT, "no output sink given");
  sink->write(sink->context, text.data(), text.size());
}

inline Call call_for(asp_host_context* ctx) { return Call(host_table(), ctx); }

inline asp_status frontend_translate(void* self, asp_host_context* ctx, const char* tree, const asp_arg* args,
                                     size_t count, const asp_text_sink* out) {
  return guarded(ctx, [&] {
    Call call = call_for(ctx);
    write(out, static_cast<Frontend*>(self)->translate(call, tree ? tree : "", {args, args ? count : 0}));
  });
}

inline asp_status optimizer_run(void* self, asp_host_context* ctx, const char* ir, const asp_text_sink* out) {
  return guarded(ctx, [&] {
    Call call = call_for(ctx);
    write(out, static_cast<Optimizer*>(self)->run(call, ir ? ir : ""));
  });
}

inline asp_status lowering_lower(void* self, asp_host_context* ctx, const char* dsir, const asp_text_sink* out) {
  return guarded(ctx, [&] {
    Call call = call_for(ctx);
    write(out, static_cast<Lowering*>(self)->lower(call, dsir ? dsir : ""));
  });
}

inline BackendConfig backend_config_from(const asp_backend_config* c) {
  BackendConfig config;
  if (ASP_HAS_FIELD(c, asp_backend_config, jit) && c->jit) config.jit = c->jit;
  if (ASP_HAS_FIELD(c, asp_backend_config, compiler) && c->compiler) config.compiler = c->compiler;
  if (ASP_HAS_FIELD(c, asp_backend_config, flag_count) && c->flags) {
    config.flags.emplace(c->flags, c->flags + c->flag_count);
  }
  return config;
}

inline asp_status backend_generate(void* self, asp_host_context* ctx, const char* psir, const asp_text_sink* out) {
  return guarded(ctx, [&] {
    Call call = call_for(ctx);
    write(out, static_cast<Backend*>(self)->generate(call, psir ? psir : ""));
  });
}

// Not guarded: returning a pointer cannot throw across the boundary unless the override does, which it must not.
inline const void* backend_runtime(void* self) { return static_cast<Backend*>(self)->runtime(); }

// Trampolines of DeviceBackend.
inline DeviceBackend* device_of(void* self) { return static_cast<DeviceBackend*>(static_cast<Backend*>(self)); }

inline asp_status device_target(void* self, asp_host_context* ctx, const asp_text_sink* out) {
  return guarded(ctx, [&] {
    Call call = call_for(ctx);
    write(out, device_of(self)->target(call));
  });
}
inline asp_status device_compile(void* self, asp_host_context* ctx, const char* source, const asp_text_sink* out) {
  return guarded(ctx, [&] {
    Call call = call_for(ctx);
    write(out, device_of(self)->compile(call, source ? source : ""));
  });
}
inline asp_status device_load(void* self, asp_host_context* ctx, const void* binary, size_t size,
                              asp_device_module** module) {
  return guarded(ctx, [&] {
    if (module == nullptr || binary == nullptr) throw Error(ASP_ERR_INVALID_ARGUMENT, "load needs a binary and a result");
    Call call = call_for(ctx);
    *module = device_of(self)->load(call, std::string_view(static_cast<const char*>(binary), size));
  });
}
inline void device_unload(void* self, asp_device_module* module) {
  if (module) device_of(self)->unload(module);
}
inline asp_status device_allocate(void* self, asp_host_context* ctx, size_t bytes, asp_device_buffer** buffer) {
  return guarded(ctx, [&] {
    if (buffer == nullptr) throw Error(ASP_ERR_INVALID_ARGUMENT, "allocate needs a result");
    Call call = call_for(ctx);
    *buffer = device_of(self)->allocate(call, bytes);
  });
}
inline asp_status device_wrap(void* self, asp_host_context* ctx, void* pointer, size_t bytes, asp_device_buffer** buffer) {
  return guarded(ctx, [&] {
    if (buffer == nullptr) throw Error(ASP_ERR_INVALID_ARGUMENT, "wrap needs a result");
    Call call = call_for(ctx);
    *buffer = device_of(self)->wrap(call, pointer, bytes);
  });
}
inline void device_release(void* self, asp_device_buffer* buffer) {
  if (buffer) device_of(self)->release(buffer);
}
inline asp_status device_copy_in(void* self, asp_host_context* ctx, asp_device_buffer* to, const void* from, size_t bytes) {
  return guarded(ctx, [&] {
    Call call = call_for(ctx);
    device_of(self)->copy_in(call, to, from, bytes);
  });
}
inline asp_status device_copy_out(void* self, asp_host_context* ctx, void* to, asp_device_buffer* from, size_t bytes) {
  return guarded(ctx, [&] {
    Call call = call_for(ctx);
    device_of(self)->copy_out(call, to, from, bytes);
  });
}
inline asp_status device_launch(void* self, asp_host_context* ctx, asp_device_module* module, const char* function,
                                const asp_device_arg* args, size_t count, const asp_launch_config* config,
                                int* kernel_status) {
  return guarded(ctx, [&] {
    if (!module || !function || !ASP_HAS_FIELD(config, asp_launch_config, block) || !kernel_status) {
      throw Error(ASP_ERR_INVALID_ARGUMENT, "launch needs a module, a function, a launch configuration and a status");
    }
    Call call = call_for(ctx);
    *kernel_status = device_of(self)->launch(call, module, function, {args, args ? count : 0}, *config);
  });
}

inline asp_status backend_probe(void* self, asp_host_context* ctx, const asp_backend_config* config,
                                asp_probe_result* result) {
  return guarded(ctx, [&] {
    if (!ASP_HAS_FIELD(result, asp_probe_result, reason)) {
      throw Error(ASP_ERR_INVALID_ARGUMENT, "probe called without a result");
    }
    Call call = call_for(ctx);
    Probe probe = static_cast<Backend*>(self)->probe(call, backend_config_from(config));
    result->available = probe.available ? 1 : 0;
    if (result->reason != nullptr) write(result->reason, probe.reason);
  });
}

}  // namespace detail

// A hand-written variant of a program kernel (ABI 1.2; see asp_kernel_source
// in <asp/plugin.h> for what each field means). A plugin that registers one
// needs a host of ABI 1.2 or later: define ASP_PLUGIN_MIN_ABI_MINOR 2.
struct KernelSource {
  struct TemplateParam {
    std::string name;
    std::vector<std::int64_t> values;
  };
  std::string kernel, variant, language, source;
  std::string requires_{};  // empty: always runnable
  std::vector<TemplateParam> template_params{};
  std::string grid{}, block{};  // device languages; empty: one thread
};

namespace detail {

// A KernelSource and the C tables that point into it, kept together so the pointers stay valid.
struct KernelSourceTables {
  explicit KernelSourceTables(KernelSource s) : source(std::move(s)) {
    for (const KernelSource::TemplateParam& p : source.template_params) {
      params.push_back({sizeof(asp_template_param), p.name.c_str(), p.values.data(), p.values.size()});
    }
    auto text = [](const std::string& t) { return t.empty() ? nullptr : t.c_str(); };
    table = {sizeof(asp_kernel_source), source.kernel.c_str(), source.variant.c_str(), source.language.c_str(),
             source.source.c_str(), text(source.requires_), params.data(), params.size(), text(source.grid),
             text(source.block)};
  }
  KernelSource source;
  std::vector<asp_template_param> params;
  asp_kernel_source table{};
};

}  // namespace detail

// One component of a plugin: its C description and the C++ object behind it.
class ComponentSpec {
 public:
  ComponentSpec(asp_component_kind kind, const char* name, const char* domain, const char* reads,
                std::shared_ptr<void> object, const char* backend = nullptr, bool device = false)
      : kind_(kind), name_(name), domain_(domain), reads_(reads), backend_name_(backend), device_(device),
        object_(std::move(object)) {}

  // Fills the C tables; the spec must not move afterwards (pointers into it escape).
  asp_component describe() {
    void* self = object_.get();
    const void* vtable = nullptr;
    switch (kind_) {
      case ASP_COMPONENT_FRONTEND:
        frontend_ = {sizeof(asp_frontend), self, &detail::frontend_translate};
        vtable = &frontend_;
        break;
      case ASP_COMPONENT_OPTIMIZER:
        optimizer_ = {sizeof(asp_optimizer), self, reads_, &detail::optimizer_run, backend_name_};
        vtable = &optimizer_;
        break;
      case ASP_COMPONENT_LOWERING:
        lowering_ = {sizeof(asp_lowering), self, reads_, &detail::lowering_lower};
        vtable = &lowering_;
        break;
      case ASP_COMPONENT_BACKEND: {
        const char* language = static_cast<Backend*>(self)->language();
        backend_ = {};
        backend_.struct_size = sizeof(asp_backend);
        backend_.self = self;
        backend_.probe = &detail::backend_probe;
        backend_.language = language;
        backend_.generate = language ? &detail::backend_generate : nullptr;
        backend_.runtime = &detail::backend_runtime;
        backend_.device_type = 1;  // kDLCPU
        if (device_) {
          backend_.device_type = detail::device_of(self)->device_type();
          backend_.target = &detail::device_target;
          backend_.compile = &detail::device_compile;
          backend_.load = &detail::device_load;
          backend_.unload = &detail::device_unload;
          backend_.allocate = &detail::device_allocate;
          backend_.wrap = &detail::device_wrap;
          backend_.release = &detail::device_release;
          backend_.copy_in = &detail::device_copy_in;
          backend_.copy_out = &detail::device_copy_out;
          backend_.launch = &detail::device_launch;
        }
        vtable = &backend_;
        break;
      }
      case ASP_COMPONENT_KERNEL_SOURCE:
        vtable = &static_cast<detail::KernelSourceTables*>(self)->table;
        break;
    }
    return {sizeof(asp_component), kind_, name_, domain_, vtable};
  }

 private:
  asp_component_kind kind_;
  const char* name_;
  const char* domain_;
  const char* reads_;
  const char* backend_name_;
  bool device_;
  std::shared_ptr<void> object_;
  asp_frontend frontend_{};
  asp_optimizer optimizer_{};
  asp_lowering lowering_{};
  asp_backend backend_{};
};

// Each factory upcasts before erasing the type, so `self` in the C table is
// exactly the base-class pointer the trampolines cast back to.
template <class T, class... A>
ComponentSpec frontend(const char* name, const char* domain, A&&... ctor_args) {
  std::shared_ptr<Frontend> object = std::make_shared<T>(std::forward<A>(ctor_args)...);
  return {ASP_COMPONENT_FRONTEND, name, domain, nullptr, std::shared_ptr<void>(object, object.get())};
}

template <class T, class... A>
ComponentSpec optimizer(const char* name, const char* domain, const char* reads, A&&... ctor_args) {
  std::shared_ptr<Optimizer> object = std::make_shared<T>(std::forward<A>(ctor_args)...);
  return {ASP_COMPONENT_OPTIMIZER, name, domain, reads, std::shared_ptr<void>(object, object.get())};
}

// A platform-specific PSIR optimizer that the core runs on every module compiled for `backend`.
template <class T, class... A>
ComponentSpec backend_optimizer(const char* name, const char* backend, A&&... ctor_args) {
  std::shared_ptr<Optimizer> object = std::make_shared<T>(std::forward<A>(ctor_args)...);
  return {ASP_COMPONENT_OPTIMIZER, name, nullptr, "psir", std::shared_ptr<void>(object, object.get()), backend};
}

template <class T, class... A>
ComponentSpec lowering(const char* name, const char* domain, const char* reads, A&&... ctor_args) {
  std::shared_ptr<Lowering> object = std::make_shared<T>(std::forward<A>(ctor_args)...);
  return {ASP_COMPONENT_LOWERING, name, domain, reads, std::shared_ptr<void>(object, object.get())};
}

template <class T, class... A>
ComponentSpec backend(const char* name, A&&... ctor_args) {
  std::shared_ptr<Backend> object = std::make_shared<T>(std::forward<A>(ctor_args)...);
  return {ASP_COMPONENT_BACKEND, name,  nullptr, nullptr, std::shared_ptr<void>(object, object.get()),
          nullptr, std::is_base_of_v<DeviceBackend, T>};
}

// A hand-written kernel variant of `domain`'s programs.
inline ComponentSpec kernel_source(const char* name, const char* domain, KernelSource source) {
  auto tables = std::make_shared<detail::KernelSourceTables>(std::move(source));
  return {ASP_COMPONENT_KERNEL_SOURCE, name, domain, nullptr, std::shared_ptr<void>(tables, tables.get())};
}

namespace detail {

// Everything a plugin describes, built once and kept for the process lifetime (rule R8).
struct PluginHolder {
  std::vector<ComponentSpec> specs;
  std::vector<asp_component> components;
  asp_plugin_info info{};

  PluginHolder(const PluginHolder&) = delete;
  PluginHolder& operator=(const PluginHolder&) = delete;
  PluginHolder(const char* name, const char* version, const char* description, std::vector<ComponentSpec> s)
      : specs(std::move(s)) {
    components.reserve(specs.size());
    for (ComponentSpec& spec : specs) components.push_back(spec.describe());
    info = {sizeof(asp_plugin_info), name, version, description, components.size(), components.data()};
  }
};

// Rule R3 from the plugin's side. `min_minor` is the lowest host minor version this plugin accepts.
inline bool negotiate(asp_host_context* ctx, uint32_t* abi_version, uint32_t min_minor) {
  const uint32_t offered = *abi_version;
  if (ASP_ABI_VERSION_MAJOR_OF(offered) != ASP_ABI_VERSION_MAJOR) {
    report(ctx, ASP_ERR_VERSION,
           "plugin speaks ABI major version " + std::to_string(ASP_ABI_VERSION_MAJOR) + ", the host offers " +
               std::to_string(ASP_ABI_VERSION_MAJOR_OF(offered)) + "; rebuild the plugin against this Asp");
    return false;
  }
  if (ASP_ABI_VERSION_MINOR_OF(offered) < min_minor) {
    report(ctx, ASP_ERR_VERSION,
           "plugin needs ABI version " + std::to_string(ASP_ABI_VERSION_MAJOR) + "." + std::to_string(min_minor) +
               " or later, the host offers " + std::to_string(ASP_ABI_VERSION_MAJOR_OF(offered)) + "." +
               std::to_string(ASP_ABI_VERSION_MINOR_OF(offered)) + "; upgrade Asp");
    return false;
  }
  const uint32_t minor = std::min<uint32_t>(ASP_ABI_VERSION_MINOR, ASP_ABI_VERSION_MINOR_OF(offered));
  *abi_version = ASP_MAKE_ABI_VERSION(ASP_ABI_VERSION_MAJOR, minor);
  return true;
}

template <class Make>
const asp_plugin_info* entry(const asp_host* host, asp_host_context* ctx, uint32_t* abi_version, Make make) noexcept {
  if (host == nullptr || abi_version == nullptr) return nullptr;
  if (host_table() == nullptr) host_table() = host;
  if (!negotiate(ctx, abi_version, ASP_PLUGIN_MIN_ABI_MINOR)) return nullptr;
  const asp_plugin_info* info = nullptr;
  const asp_status status = guarded(ctx, [&] {
    static PluginHolder holder = make();  // a throw leaves it unbuilt; the next call retries
    info = &holder.info;
  });
  return status == ASP_OK ? info : nullptr;
}

}  // namespace detail
}  // namespace asp

// Defines the library's entry point: ASP_PLUGIN(name, version, description, components...).
// Component objects are constructed on the first call; a constructor that
// throws becomes an init error the host reports.
#define ASP_PLUGIN(NAME, VERSION, DESCRIPTION, ...)                                                       \
  extern "C" ASP_PLUGIN_EXPORT const asp_plugin_info* asp_plugin_entry(const asp_host* host,              \
                                                                       asp_host_context* ctx,             \
                                                                       uint32_t* abi_version) {           \
    return ::asp::detail::entry(host, ctx, abi_version, [] {                                              \
      return ::asp::detail::PluginHolder(NAME, VERSION, DESCRIPTION, std::vector<::asp::ComponentSpec>{__VA_ARGS__}); \
    });                                                                                                   \
  }

// The same for a plugin that builds its list of components in a function
// (`std::vector<asp::ComponentSpec> FUNCTION()`), e.g. one kernel source per
// element type and index encoding.
#define ASP_PLUGIN_COMPONENTS(NAME, VERSION, DESCRIPTION, FUNCTION)                                      \
  extern "C" ASP_PLUGIN_EXPORT const asp_plugin_info* asp_plugin_entry(const asp_host* host,              \
                                                                       asp_host_context* ctx,             \
                                                                       uint32_t* abi_version) {           \
    return ::asp::detail::entry(host, ctx, abi_version,                                                   \
                                [] { return ::asp::detail::PluginHolder(NAME, VERSION, DESCRIPTION, FUNCTION()); }); \
  }
