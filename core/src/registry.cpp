#include "asp/core/registry.hpp"

#include "asp/core/host_services.hpp"
#include "asp/core/log.hpp"
#include "asp/core/paths.hpp"
#include "host_context.hpp"

#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstring>
#include <map>

namespace asp::core {

namespace {

void host_log(asp_host_context* ctx, asp_log_level level, const char* message) {
  const LogLevel mapped = level <= ASP_LOG_DEBUG     ? LogLevel::debug
                          : level == ASP_LOG_INFO    ? LogLevel::info
                          : level == ASP_LOG_WARNING ? LogLevel::warning
                                                     : LogLevel::error;
  log(mapped, ctx ? ctx->who : "plugin", message ? message : "");
}

void host_set_error(asp_host_context* ctx, asp_status status, const char* message, const asp_source_location* where) {
  if (ctx == nullptr) return;
  ctx->error.status = status;
  ctx->error.message = message ? message : "";
  ctx->error.where.reset();
  if (ASP_HAS_FIELD(where, asp_source_location, column)) {
    ctx->error.where = Origin{where->file ? where->file : "", where->line, where->column};
  }
}

// Libraries are never unloaded (DESIGN.md §4): the handles live until exit,
// on purpose never destroyed so no static destructor can unload one.
void keep_loaded(boost::dll::shared_library library) {
  static std::mutex mutex;
  static auto* kept = new std::vector<boost::dll::shared_library>();
  std::lock_guard lock(mutex);
  kept->push_back(std::move(library));
}

std::string status_name(asp_status status) {
  switch (status) {
    case ASP_OK: return "ok";
    case ASP_ERR_INVALID_ARGUMENT: return "invalid argument";
    case ASP_ERR_UNSUPPORTED: return "unsupported";
    case ASP_ERR_VERSION: return "version mismatch";
    case ASP_ERR_INIT: return "initialisation failed";
    case ASP_ERR_COMPILE: return "compile error";
    case ASP_ERR_RUNTIME: return "runtime error";
    case ASP_ERR_OUT_OF_MEMORY: return "out of memory";
    case ASP_ERR_INTERNAL: return "internal error";
  }
  return "status " + std::to_string(static_cast<int>(status));
}

std::string version_text(std::uint32_t version) {
  return std::to_string(ASP_ABI_VERSION_MAJOR_OF(version)) + "." + std::to_string(ASP_ABI_VERSION_MINOR_OF(version));
}

std::filesystem::path resolve(const std::string& configured, const Origin& origin) {
  std::filesystem::path path(configured);
  if (path.is_absolute()) return path;
  if (path.has_parent_path()) {
    // Relative to the file that set it; from an environment variable, to the working directory.
    const std::filesystem::path base =
        origin.is_file() ? std::filesystem::path(origin.source).parent_path() : std::filesystem::current_path();
    return (base / path).lexically_normal();
  }
  return plugin_dir() / path;
}

// The kind as the plugin stored it. A plugin may store any integer there, and
// reading one outside the enumeration's values as an asp_component_kind is
// undefined behaviour, so the core reads the integer and checks it first.
int raw_kind(const asp_component& c) {
  int raw = 0;
  static_assert(sizeof raw == sizeof c.kind);
  std::memcpy(&raw, &c.kind, sizeof raw);
  return raw;
}

bool known_kind(int kind) {
  return kind == ASP_COMPONENT_FRONTEND || kind == ASP_COMPONENT_OPTIMIZER || kind == ASP_COMPONENT_LOWERING ||
         kind == ASP_COMPONENT_BACKEND || kind == ASP_COMPONENT_KERNEL_SOURCE;
}

// The struct_size every vtable of a kind must reach: the fields of the ABI version that introduced the kind.
size_t first_vtable_size(asp_component_kind kind) {
  switch (kind) {
    case ASP_COMPONENT_FRONTEND: return offsetof(asp_frontend, translate) + sizeof(void*);
    case ASP_COMPONENT_OPTIMIZER: return offsetof(asp_optimizer, run) + sizeof(void*);
    case ASP_COMPONENT_LOWERING: return offsetof(asp_lowering, lower) + sizeof(void*);
    case ASP_COMPONENT_BACKEND: return offsetof(asp_backend, probe) + sizeof(void*);
    case ASP_COMPONENT_KERNEL_SOURCE: return offsetof(asp_kernel_source, source) + sizeof(void*);  // ABI 1.2's first form
  }
  return 0;
}

// Checks what a plugin returned before the core trusts it; returns a problem or "".
std::string check_component(const asp_component& c, uint32_t abi_version) {
  if (c.struct_size < offsetof(asp_component, vtable) + sizeof(c.vtable)) {
    return "a component's struct_size is too small";
  }
  if (c.name == nullptr || *c.name == '\0') return "a component has no name";
  if (!known_kind(raw_kind(c))) {
    return "component '" + std::string(c.name) + "' has unknown kind " + std::to_string(raw_kind(c));
  }
  if (c.vtable == nullptr) return "component '" + std::string(c.name) + "' has no function table";
  // Every vtable starts with its struct_size, which must cover the ABI 1.0 fields.
  if (*static_cast<const size_t*>(c.vtable) < first_vtable_size(c.kind)) {
    return "component '" + std::string(c.name) + "' has a function table whose struct_size is too small";
  }
  if (c.kind == ASP_COMPONENT_KERNEL_SOURCE) {
    if (ASP_ABI_VERSION_MINOR_OF(abi_version) < 2) {
      return "kernel source '" + std::string(c.name) + "' needs ABI 1.2, but the plugin speaks " +
             std::to_string(ASP_ABI_VERSION_MAJOR_OF(abi_version)) + "." +
             std::to_string(ASP_ABI_VERSION_MINOR_OF(abi_version));
    }
    const auto* k = static_cast<const asp_kernel_source*>(c.vtable);
    if (!c.domain || !k->kernel || !k->variant || !k->language || !k->source) {
      return "kernel source '" + std::string(c.name) + "' lacks its domain, kernel, variant, language or source";
    }
  }
  return "";
}

Diagnostic error_at(const Origin& origin, std::string message) {
  return {Diagnostic::Severity::error, origin, std::move(message)};
}

}  // namespace

const char* state_name(Library::State state) {
  switch (state) {
    case Library::State::loaded: return "loaded";
    case Library::State::disabled: return "disabled";
    case Library::State::failed: return "failed";
  }
  return "";
}

const char* kind_name(asp_component_kind kind) {
  switch (kind) {
    case ASP_COMPONENT_FRONTEND: return "frontend";
    case ASP_COMPONENT_OPTIMIZER: return "optimizer";
    case ASP_COMPONENT_LOWERING: return "lowering";
    case ASP_COMPONENT_BACKEND: return "backend";
    case ASP_COMPONENT_KERNEL_SOURCE: return "kernel source";
  }
  return "unknown";
}

const asp_host* host_table() {
  static const asp_host host = [] {
    asp_host h{};
    h.struct_size = sizeof h;
    h.abi_version = ASP_ABI_VERSION;
    h.core_version = ASP_CORE_VERSION;
    h.log = &host_log;
    h.set_error = &host_set_error;
    fill_host_services(h);
    return h;
  }();
  return &host;
}

std::optional<PluginError> call_plugin(const std::string& who,
                                       const std::function<asp_status(asp_host_context*)>& call) {
  asp_host_context ctx{who, {}};
  const asp_status status = call(&ctx);
  if (status == ASP_OK) return std::nullopt;
  PluginError error = std::move(ctx.error);
  if (error.message.empty()) error.message = "returned '" + status_name(status) + "' without a message";
  error.status = status;
  return error;
}

std::unique_ptr<Registry> Registry::load(Config config, Diagnostics& diagnostics) {
  std::unique_ptr<Registry> registry(new Registry(std::move(config)));
  for (const char* section : {"plugins", "backends"}) {
    for (const auto& [name, origin] : registry->config_.names(section)) {
      registry->load_entry(section, name, origin, diagnostics);
    }
  }
  registry->diagnostics_ = diagnostics;
  return registry;
}

void Registry::load_entry(const std::string& section, const std::string& name, const Origin& origin,
                          Diagnostics& diagnostics) {
  auto library = std::make_unique<Library>();
  library->section = section;
  library->name = name;
  library->origin = origin;
  const std::string prefix = section + "." + name;
  const Setting* enabled = config_.find(prefix + ".enabled");
  const Setting* path = config_.find(prefix + ".path");
  if (path) library->path = resolve(std::get<std::string>(path->value), path->origin);
  if (enabled && !std::get<bool>(enabled->value)) {
    library->state = Library::State::disabled;
    library->reason = "disabled in config (" + enabled->origin.str() + ")";
    libraries_.push_back(std::move(library));
    return;
  }
  if (!path) {
    library->reason = "no path given: set " + prefix + ".path";
    diagnostics.push_back(error_at(origin, prefix + ": " + library->reason));
    libraries_.push_back(std::move(library));
    return;
  }
  Library& lib = open_library(std::move(library), diagnostics);
  if (section != "backends" || lib.state != Library::State::loaded) return;
  const bool provides = std::any_of(lib.components.begin(), lib.components.end(), [&](const asp_component* c) {
    return c->kind == ASP_COMPONENT_BACKEND && name == c->name;
  });
  if (!provides) {
    lib.state = Library::State::failed;
    lib.reason = "the library provides no backend named '" + name + "'";
    diagnostics.push_back(error_at(origin, prefix + ": " + lib.reason + " (" + lib.path.string() + ")"));
  }
}

// Loads the library, calls its entry point and registers its components.
// Returns the stored record (loaded or failed).
Library& Registry::open_library(std::unique_ptr<Library> library, Diagnostics& diagnostics) {
  Library& lib = *library;
  libraries_.push_back(std::move(library));
  const std::string prefix = lib.section + "." + lib.name;
  auto fail = [&](std::string reason) -> Library& {
    lib.state = Library::State::failed;
    lib.reason = std::move(reason);
    diagnostics.push_back(error_at(lib.origin, prefix + ": " + lib.reason));
    return lib;
  };
  // A second entry naming a library already loaded shares its components.
  for (const auto& other : libraries_) {
    if (other.get() != &lib && other->state == Library::State::loaded && other->path == lib.path) {
      lib.state = Library::State::loaded;
      lib.plugin_name = other->plugin_name;
      lib.version = other->version;
      lib.description = other->description;
      lib.abi_version = other->abi_version;
      lib.components = other->components;
      return lib;
    }
  }
  std::error_code ec;
  if (!std::filesystem::exists(lib.path, ec)) return fail("library not found: " + lib.path.string());
  boost::dll::shared_library handle;
  try {
    // rtld_now: an unresolved symbol fails here, with a message, not later with a crash.
    handle.load(lib.path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return fail("library does not load: " + std::string(e.what()));
  }
  if (!handle.has(ASP_PLUGIN_ENTRY_SYMBOL)) {
    keep_loaded(std::move(handle));
    return fail(std::string("no entry symbol '") + ASP_PLUGIN_ENTRY_SYMBOL + "' in " + lib.path.string() +
                ": not an Asp plugin (define one with ASP_PLUGIN(...) from <asp/plugin.hpp>)");
  }
  auto entry = handle.get<std::remove_pointer_t<asp_plugin_entry_fn>>(ASP_PLUGIN_ENTRY_SYMBOL);
  keep_loaded(std::move(handle));

  std::uint32_t version = ASP_ABI_VERSION;
  const asp_plugin_info* info = nullptr;
  auto error = call_plugin(prefix, [&](asp_host_context* ctx) {
    info = entry(host_table(), ctx, &version);
    return info ? ASP_OK : ASP_ERR_INIT;
  });
  if (error) return fail("plugin refused to initialise: " + error->message);
  if (ASP_ABI_VERSION_MAJOR_OF(version) != ASP_ABI_VERSION_MAJOR ||
      ASP_ABI_VERSION_MINOR_OF(version) > ASP_ABI_VERSION_MINOR) {
    return fail("ABI version mismatch: the plugin speaks " + version_text(version) + ", this core speaks " +
                version_text(ASP_ABI_VERSION) + "; rebuild the plugin against this Asp");
  }
  if (info->struct_size < offsetof(asp_plugin_info, components) + sizeof(info->components) || info->name == nullptr ||
      (info->component_count > 0 && info->components == nullptr)) {
    return fail("the plugin's description is malformed (struct_size, name or component list)");
  }
  lib.abi_version = version;
  lib.plugin_name = info->name;
  lib.version = info->version ? info->version : "";
  lib.description = info->description ? info->description : "";
  for (size_t i = 0; i < info->component_count; ++i) {
    if (std::string problem = check_component(info->components[i], version); !problem.empty()) return fail(problem);
    lib.components.push_back(&info->components[i]);
  }
  lib.state = Library::State::loaded;
  add_components(lib, diagnostics);
  return lib;
}

void Registry::add_components(Library& library, Diagnostics& diagnostics) {
  for (const asp_component* c : library.components) {
    if (const Component* existing = find(c->kind, c->name)) {
      diagnostics.push_back(error_at(library.origin, library.section + "." + library.name + ": " + kind_name(c->kind) +
                                                         " '" + c->name + "' is already provided by " +
                                                         existing->library->path.string() + "; this one is ignored"));
      continue;
    }
    components_.push_back({c, &library});
  }
}

const Component* Registry::find(asp_component_kind kind, const std::string& name) const {
  for (const Component& c : components_) {
    if (c.description->kind == kind && name == c.description->name) return &c;
  }
  return nullptr;
}

BackendState Registry::probe_backend(const std::string& name) {
  const std::string prefix = "backends." + name;
  BackendState state;
  state.name = name;
  state.enabled = config_.get_bool(prefix + ".enabled", true);
  state.priority = config_.get_int(prefix + ".priority", 0);
  for (const auto& lib : libraries_) {
    if (lib->section == "backends" && lib->name == name) state.library = lib.get();
  }
  if (state.library == nullptr || state.library->state != Library::State::loaded) {
    state.reason = state.library ? state.library->reason : "not loaded";
    return state;
  }
  const Component* component = find(ASP_COMPONENT_BACKEND, name);
  if (component == nullptr || component->library->path != state.library->path) {
    state.reason = "its backend component is provided by another library";
    return state;
  }
  state.vtable = static_cast<const asp_backend*>(component->description->vtable);
  if (!ASP_HAS_FIELD(state.vtable, asp_backend, probe) || state.vtable->probe == nullptr) {
    state.reason = "the backend provides no probe";
    return state;
  }
  const auto jit = config_.get_string(prefix + ".jit");
  const auto compiler = config_.get_string(prefix + ".compiler");
  const auto flags = config_.get_list(prefix + ".flags");
  std::vector<const char*> flag_pointers;
  if (flags) {
    for (const std::string& flag : *flags) flag_pointers.push_back(flag.c_str());
  }
  const asp_backend_config backend_config{sizeof(asp_backend_config), jit ? jit->c_str() : nullptr,
                                          compiler ? compiler->c_str() : nullptr,
                                          flags ? flag_pointers.data() : nullptr, flag_pointers.size()};
  std::string reason;
  const asp_text_sink sink{sizeof(asp_text_sink), &reason, [](void* context, const char* data, size_t length) {
                             static_cast<std::string*>(context)->append(data, length);
                           }};
  asp_probe_result result{sizeof(asp_probe_result), 0, &sink};
  auto error = call_plugin(prefix, [&](asp_host_context* ctx) {
    return state.vtable->probe(state.vtable->self, ctx, &backend_config, &result);
  });
  if (error) {
    state.reason = "probe failed: " + error->message;
  } else {
    state.available = result.available != 0;
    state.reason = reason;
  }
  if (!state.enabled) {
    state.available = false;
    state.reason = "disabled in config (" + config_.find(prefix + ".enabled")->origin.str() + ")";
  }
  return state;
}

const BackendState* Registry::backend(const std::string& name) {
  const auto& names = config_.names("backends");
  if (std::none_of(names.begin(), names.end(), [&](const auto& n) { return n.first == name; })) return nullptr;
  std::lock_guard lock(probe_mutex_);
  auto& slot = probed_[name];
  if (!slot) slot = std::make_unique<BackendState>(probe_backend(name));
  return slot.get();
}

std::vector<const BackendState*> Registry::backends() {
  std::vector<const BackendState*> all;
  for (const auto& [name, origin] : config_.names("backends")) all.push_back(backend(name));
  return all;
}

BackendSelection Registry::select() {
  BackendSelection selection;
  if (const Setting* forced = config_.find("backend")) {
    const std::string& name = std::get<std::string>(forced->value);
    selection.forced_by = forced->origin.str();
    const BackendState* chosen = backend(name);
    if (!chosen) {
      std::string names;
      for (const auto& [configured, origin] : config_.names("backends")) names += (names.empty() ? "" : ", ") + configured;
      selection.problem = "backend '" + name + "' (" + selection.forced_by + ") is not configured; configured: " + names;
    } else if (!chosen->available) {
      selection.problem = "backend '" + name + "' (" + selection.forced_by + ") is unavailable: " + chosen->reason;
    } else {
      selection.order.push_back(chosen);
    }
    return selection;
  }
  for (const BackendState* b : backends()) {
    if (b->available) selection.order.push_back(b);
  }
  std::stable_sort(selection.order.begin(), selection.order.end(),
                   [](const BackendState* a, const BackendState* b) { return a->priority > b->priority; });
  if (selection.order.empty()) selection.problem = "no backend is available; `asp info` says why for each";
  return selection;
}

}  // namespace asp::core
