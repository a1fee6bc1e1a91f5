// The registry: loads every plugin and backend library the configuration
// lists (Boost.DLL), negotiates the ABI with each, and keeps them loaded for
// the life of the process. A library that fails in any way is reported with
// one Diagnostic and skipped; the others still load.
#pragma once

#include "asp/core/config.hpp"
#include "asp/core/diagnostic.hpp"

#include <asp/plugin.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace asp::core {

struct Library {
  enum class State { loaded, disabled, failed };
  std::string section;  // "plugins" or "backends"
  std::string name;     // the name it has in the configuration
  Origin origin;        // where the configuration defined it
  std::filesystem::path path;
  State state = State::failed;
  std::string reason;  // why it is disabled or failed
  // When loaded:
  std::string plugin_name;
  std::string version;
  std::string description;
  std::uint32_t abi_version = 0;
  std::vector<const asp_component*> components;
};

const char* state_name(Library::State state);
const char* kind_name(asp_component_kind kind);

struct Component {
  const asp_component* description;
  const Library* library;
};

struct BackendState {
  std::string name;
  const Library* library = nullptr;
  const asp_backend* vtable = nullptr;  // null when the library did not load
  bool enabled = true;
  std::int64_t priority = 0;
  bool available = false;
  std::string reason;  // why it is unavailable, or what the probe found
};

struct BackendSelection {
  std::vector<const BackendState*> order;  // the backends to try, best first
  std::string forced_by;                   // set when the `backend` setting chose: where it came from
  std::string problem;                     // why nothing, or not the forced backend, can be used
};

// The error a plugin reported through the host table during one call.
struct PluginError {
  asp_status status = ASP_OK;
  std::string message;
  std::optional<Origin> where;
};

class Registry {
 public:
  static std::unique_ptr<Registry> load(Config config, Diagnostics& diagnostics);

  const Config& config() const { return config_; }
  const Diagnostics& diagnostics() const { return diagnostics_; }
  const std::vector<std::unique_ptr<Library>>& libraries() const { return libraries_; }
  const std::vector<Component>& components() const { return components_; }
  const Component* find(asp_component_kind kind, const std::string& name) const;

  // Probes every configured backend (each once per registry).
  std::vector<const BackendState*> backends();
  // Probes just this backend (once); nullptr when it is not configured.
  const BackendState* backend(const std::string& name);
  BackendSelection select();

 private:
  Registry(Config config) : config_(std::move(config)) {}
  void load_entry(const std::string& section, const std::string& name, const Origin& origin,
                  Diagnostics& diagnostics);
  Library& open_library(std::unique_ptr<Library> library, Diagnostics& diagnostics);
  void add_components(Library& library, Diagnostics& diagnostics);
  BackendState probe_backend(const std::string& name);

  Config config_;
  Diagnostics diagnostics_;
  std::vector<std::unique_ptr<Library>> libraries_;
  std::vector<Component> components_;
  std::mutex probe_mutex_;
  std::map<std::string, std::unique_ptr<BackendState>> probed_;
};

// The host table the core hands every plugin (ABI version ASP_ABI_VERSION).
const asp_host* host_table();

// Runs one call into a plugin with a fresh host context labelled `who`;
// returns the error it reported when the status is not ASP_OK.
std::optional<PluginError> call_plugin(const std::string& who,
                                       const std::function<asp_status(asp_host_context*)>& call);

}  // namespace asp::core
