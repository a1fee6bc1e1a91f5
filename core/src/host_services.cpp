#include "asp/core/host_services.hpp"

#include "asp/core/log.hpp"
#include "asp/core/platform.hpp"
#include "host_context.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

// A loaded module as a plugin holds it (R6: released through jit_release).
struct asp_jit_module {
  std::shared_ptr<asp::core::LoadedCode> code;
};

namespace asp::core {

std::unique_ptr<JitDriver> configured_driver(const Config& config, const std::string& backend) {
  const std::string prefix = "backends." + backend;
  if (config.get_string(prefix + ".jit").value_or("orc") == "system") {
    return make_system_driver(config.get_string(prefix + ".compiler").value_or("cc"),
                              config.get_list(prefix + ".flags").value_or(std::vector<std::string>{}));
  }
  return make_orc_driver();
}

namespace {

struct Services {
  std::mutex mutex;
  const Config* config = nullptr;
  const CodeCache* cache = nullptr;
  std::map<std::string, std::shared_ptr<const JitDriver>> drivers;  // per backend; "" is ORC's defaults
};

// Never destroyed: plugins may call in while static destructors run.
Services& services() {
  static auto* s = new Services();
  return *s;
}

const CodeCache* current_cache() {
  std::lock_guard lock(services().mutex);
  return services().cache;
}

asp_status fail(asp_host_context* ctx, asp_status status, std::string message) {
  if (ctx != nullptr) {
    ctx->error.status = status;
    ctx->error.message = std::move(message);
    ctx->error.where.reset();
  }
  return status;
}

// The entry a caller's key names: hashed with the name the core made the
// call for ("plugins.<name>", "backends.<name>", "optimizer <component>"),
// which is unique in the process, so no two plugins read each other's entries.
std::string component_key(const asp_host_context& ctx, const char* key) {
  return cache_key({"plugin data", ctx.who, key});
}

// The deepest data or unified level of depth `depth` (0: the deepest with a size).
const CacheLevel* cache_level(const Platform& p, unsigned depth) {
  const CacheLevel* found = nullptr;
  for (const CacheLevel& level : p.caches) {
    if (level.kind == "instruction" || level.total == 0) continue;
    if (depth ? level.depth == depth : (!found || level.depth >= found->depth)) found = &level;
  }
  return found;
}

asp_status host_platform(asp_host_context* ctx, asp_platform_info* info) {
  if (info == nullptr || info->struct_size < sizeof info->struct_size) {
    return fail(ctx, ASP_ERR_INVALID_ARGUMENT, "platform needs an asp_platform_info with its struct_size set");
  }
  const Platform& p = platform();
  asp_platform_info full{};
  full.struct_size = sizeof full;
  full.packages = p.packages;
  full.cores = p.cores;
  full.threads = p.pus;
  full.numa_nodes = p.numa_nodes;
  full.memory = p.memory;
  if (const CacheLevel* l1 = cache_level(p, 1)) {
    full.l1d_size = l1->size;
    full.l1d_total = l1->total;
    full.cache_line = l1->line_size;
  }
  if (const CacheLevel* l2 = cache_level(p, 2)) {
    full.l2_size = l2->size;
    full.l2_total = l2->total;
  }
  if (const CacheLevel* llc = cache_level(p, 0)) {
    full.llc_level = llc->depth;
    full.llc_size = llc->size;
    full.llc_total = llc->total;
  }
  // R4: an older plugin's struct is shorter; a newer one's longer part stays as it was.
  const size_t room = std::min(info->struct_size, sizeof full);
  std::memcpy(info, &full, room);
  info->struct_size = room;
  return ASP_OK;
}

asp_status host_cache_load(asp_host_context* ctx, const char* key, const asp_text_sink* out, int* found) {
  if (found) *found = 0;
  if (ctx == nullptr || key == nullptr || *key == '\0' || !ASP_HAS_FIELD(out, asp_text_sink, write) ||
      out->write == nullptr || found == nullptr) {
    return fail(ctx, ASP_ERR_INVALID_ARGUMENT, "cache_load needs a context, a non-empty key, an output sink and a result");
  }
  const CodeCache* cache = current_cache();
  if (!cache) return ASP_OK;
  try {
    if (auto bytes = cache->load(component_key(*ctx, key))) {
      out->write(out->context, bytes->data(), bytes->size());
      *found = 1;
    }
    return ASP_OK;
  } catch (const std::exception& e) {
    return fail(ctx, ASP_ERR_RUNTIME, std::string("the code cache could not be read: ") + e.what());
  }
}

asp_status host_cache_store(asp_host_context* ctx, const char* key, const void* bytes, size_t size) {
  if (ctx == nullptr || key == nullptr || *key == '\0' || (bytes == nullptr && size != 0)) {
    return fail(ctx, ASP_ERR_INVALID_ARGUMENT, "cache_store needs a context, a non-empty key and the bytes");
  }
  const CodeCache* cache = current_cache();
  if (!cache) return ASP_OK;
  try {
    cache->store(component_key(*ctx, key), std::string_view(static_cast<const char*>(bytes), size), "plugin data");
    return ASP_OK;
  } catch (const std::exception& e) {
    return fail(ctx, ASP_ERR_RUNTIME, std::string("the code cache could not store an entry: ") + e.what());
  }
}

// The driver for `backend`, made once; throws for a backend the configuration does not name.
std::shared_ptr<const JitDriver> driver_for(const std::string& backend) {
  Services& s = services();
  std::lock_guard lock(s.mutex);
  auto& driver = s.drivers[backend];
  if (!driver) {
    if (backend.empty()) {
      driver = make_orc_driver();
    } else {
      const auto& named = s.config ? s.config->names("backends") : std::vector<std::pair<std::string, Origin>>{};
      if (std::none_of(named.begin(), named.end(), [&](const auto& entry) { return entry.first == backend; })) {
        s.drivers.erase(backend);
        throw std::invalid_argument("no backend '" + backend + "' is configured, whose JIT driver the plugin asked for");
      }
      driver = configured_driver(*s.config, backend);
    }
  }
  return driver;
}

asp_status host_jit_compile(asp_host_context* ctx, const asp_jit_request* request, asp_jit_module** module) {
  if (module) *module = nullptr;
  if (!ASP_HAS_FIELD(request, asp_jit_request, backend) || request->source == nullptr || module == nullptr) {
    return fail(ctx, ASP_ERR_INVALID_ARGUMENT, "jit_compile needs a request with its source and a result");
  }
  try {
    const std::shared_ptr<const JitDriver> driver = driver_for(request->backend ? request->backend : "");
    const CodeCache* cache = current_cache();
    CompileRequest compile;
    compile.source = request->source;
    compile.name = request->name && *request->name ? request->name : "plugin";
    compile.openmp = request->openmp != 0;
    // Failing sources are kept where the core keeps its own (kernel.cpp).
    compile.save_dir = cache ? cache->dir() / "failed"
                             : std::filesystem::temp_directory_path() / ("asp-failed-" + std::to_string(getuid()));
    const std::string key = cache_key({"plugin jit", std::to_string(ASP_ABI_VERSION), driver->name(), driver->identity(),
                                       compile.openmp ? "openmp" : "", compile.source});
    // As for generated code: a shared library is loaded from its verified cache file, an object from memory.
    const bool needs_file = driver->artifact_kind() == "shared-library";
    std::optional<std::string> artifact;
    std::filesystem::path file;
    if (cache && needs_file) {
      if (auto path = cache->load_file(key)) {
        artifact.emplace();
        file = *path;
      }
    } else if (cache) {
      artifact = cache->load(key);
    }
    if (!artifact) {
      artifact = driver->compile(compile);
      if (cache) {
        cache->store(key, *artifact, driver->artifact_kind());
        if (needs_file) {
          if (auto path = cache->load_file(key)) file = *path;
        }
      }
    }
    *module = new asp_jit_module{driver->load(*artifact, file)};
    log(LogLevel::debug, "host", (ctx ? ctx->who : std::string("plugin")) + ": " + compile.name + " JIT-compiled (" +
                                     driver->name() + ")");
    return ASP_OK;
  } catch (const CompileError& e) {
    return fail(ctx, ASP_ERR_COMPILE, std::string(e.what()) + "\n" + e.log());
  } catch (const std::invalid_argument& e) {
    return fail(ctx, ASP_ERR_INVALID_ARGUMENT, e.what());
  } catch (const std::bad_alloc&) {
    return fail(ctx, ASP_ERR_OUT_OF_MEMORY, "out of memory while JIT-compiling");
  } catch (const std::exception& e) {
    return fail(ctx, ASP_ERR_RUNTIME, std::string("JIT compilation failed: ") + e.what());
  }
}

void* host_jit_symbol(asp_jit_module* module, const char* name) {
  if (module == nullptr || name == nullptr) return nullptr;
  try {
    return module->code->symbol(name);
  } catch (...) {
    return nullptr;  // R1: nothing throws into a plugin
  }
}

void host_jit_release(asp_jit_module* module) { delete module; }

}  // namespace

void set_host_services(const Config* config, const CodeCache* cache) {
  Services& s = services();
  std::lock_guard lock(s.mutex);
  if (s.config != config) s.drivers.clear();  // chosen by the old configuration
  s.config = config;
  s.cache = cache;
}

void fill_host_services(asp_host& host) {
  host.platform = &host_platform;
  host.cache_load = &host_cache_load;
  host.cache_store = &host_cache_store;
  host.jit_compile = &host_jit_compile;
  host.jit_symbol = &host_jit_symbol;
  host.jit_release = &host_jit_release;
}

}  // namespace asp::core
