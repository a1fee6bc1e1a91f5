#include "asp/core/runtime.hpp"

#include "asp/core/host_services.hpp"
#include "asp/core/log.hpp"

namespace asp::core {

Runtime& Runtime::global() {
  // Deliberately leaked: static destructors run after the interpreter has
  // finalized, when kernels may still refer to the registry and the database.
  static Runtime* runtime = new Runtime(process_environment());
  return *runtime;
}

Runtime::Runtime(const Environment& env) {
  Diagnostics diagnostics;
  Config config = Config::load(Config::standard_layers(env), env, diagnostics);
  if (auto level = config.get_string("log")) set_log_level(parse_log_level(*level).value_or(LogLevel::warning));
  registry_ = Registry::load(std::move(config), diagnostics);
  for (const Diagnostic& d : diagnostics) log(LogLevel::warning, "config", d.str());
  const Environment without_overrides = [&env](const std::string& name) -> std::optional<std::string> {
    for (const SchemaEntry& entry : config_schema()) {
      if (entry.env == name) return std::nullopt;
    }
    return env(name);
  };
  // The files were read and their problems logged just above; a second report would say the same.
  Diagnostics same_files;
  file_config_ = Config::load(Config::standard_layers(env), without_overrides, same_files);

  const std::filesystem::path dir = registry_->config().get_string("cache.dir").value_or("");
  try {
    cache_ = std::make_unique<CodeCache>(dir);
  } catch (const CacheError& e) {
    log(LogLevel::warning, "cache", std::string(e.what()) + "; running without the code cache and the tuning database");
  }
  if (cache_) {
    try {
      tuning_ = std::make_unique<TuningDatabase>(cache_->dir() / "tuning.sqlite");
    } catch (const std::runtime_error& e) {
      log(LogLevel::warning, "tuning", std::string(e.what()) + "; tuning results last only for this process");
    }
  }
  set_host_services(&registry_->config(), cache_.get());
  specializer_ = std::make_unique<Specializer>(*registry_, cache_.get(), tuning_.get());
}

}  // namespace asp::core
