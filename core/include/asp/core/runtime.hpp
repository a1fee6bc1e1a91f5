// The process-wide runtime behind the Python binding: the configuration, the
// registry of plugins and backends, the code cache, the tuning database and
// the specializer, set up once on first use.
#pragma once

#include "asp/core/code_cache.hpp"
#include "asp/core/config.hpp"
#include "asp/core/registry.hpp"
#include "asp/core/specializer.hpp"
#include "asp/core/tuning.hpp"

#include <memory>

namespace asp::core {

class Runtime {
 public:
  // The runtime of this process, built on first use (thread-safe) from the
  // standard configuration layers and the process environment. Never
  // destroyed: kernels that Python objects still hold at exit keep working.
  static Runtime& global();

  // Loads the configuration (logging its problems as warnings), applies its
  // `log` setting, loads the registry, and opens the code cache at `cache.dir`
  // and the tuning database beside it; a cache or database that cannot be
  // used is logged as a warning and left out.
  explicit Runtime(const Environment& env);
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The configuration the runtime runs with (environment variables as they were at start).
  const Config& config() const { return registry_->config(); }
  // The same layers without the environment variables that override settings
  // (ASP_DISABLE, ...): what a setting falls back to when its variable is unset.
  const Config& file_config() const { return file_config_; }
  Registry& registry() { return *registry_; }
  const CodeCache* cache() const { return cache_.get(); }
  TuningDatabase* tuning() { return tuning_.get(); }
  Specializer& specializer() { return *specializer_; }

 private:
  Config file_config_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<CodeCache> cache_;
  std::unique_ptr<TuningDatabase> tuning_;
  std::unique_ptr<Specializer> specializer_;
};

}  // namespace asp::core
