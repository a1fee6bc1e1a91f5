// The layered YAML configuration of DESIGN.md §7.
//
// Layers, later wins: the installed default < /etc/asp/asp.yaml <
// $XDG_CONFIG_HOME/asp/asp.yaml < the file named by $ASP_CONFIG < environment
// variables. Every setting remembers where its value came from. A file that is
// not valid YAML is skipped whole; a bad key or value is skipped alone; each
// problem becomes one Diagnostic with file:line:column.
#pragma once

#include "asp/core/diagnostic.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace asp::core {

using Value = std::variant<bool, std::int64_t, std::string, std::vector<std::string>>;

std::string format_value(const Value& value);

// A boolean as configuration files and environment variables spell it:
// true/false, yes/no, on/off, 1/0, in any case; std::nullopt for anything else.
std::optional<bool> parse_boolean(const std::string& text);

struct Setting {
  Value value;
  Origin origin;
};

// Reads an environment variable; injectable so tests do not touch the process environment.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

struct ConfigLayer {
  std::filesystem::path path;
  bool required = false;  // a missing required file is an error, a missing optional one is skipped
};

// One line of the schema: a dotted key, where "*" stands for a user-chosen name.
struct SchemaEntry {
  enum class Type { boolean, integer, string, string_list, choice };
  std::string key;
  Type type;
  std::vector<std::string> choices;  // for Type::choice
  std::string env;                   // the environment variable that overrides it, if any
  std::string help;
};
const std::vector<SchemaEntry>& config_schema();

class Config {
 public:
  // The standard layers for this process: the installed default, /etc, XDG, $ASP_CONFIG.
  static std::vector<ConfigLayer> standard_layers(const Environment& env);
  // Reads the layers, then the environment variables, then fills built-in defaults.
  static Config load(const std::vector<ConfigLayer>& layers, const Environment& env, Diagnostics& diagnostics);
  // Validates one file on its own (for `asp config check`).
  static Diagnostics check_file(const std::filesystem::path& path);

  const Setting* find(const std::string& key) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::int64_t get_int(const std::string& key, std::int64_t fallback) const;
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<std::vector<std::string>> get_list(const std::string& key) const;

  // The names given under a section of named entries ("plugins" or "backends"),
  // in order of first appearance, with the place each was first defined.
  const std::vector<std::pair<std::string, Origin>>& names(const std::string& section) const;

  const std::map<std::string, Setting>& settings() const { return settings_; }
  // The files that were read (existing layers), lowest first.
  const std::vector<std::filesystem::path>& files() const { return files_; }

 private:
  void read_file(const std::filesystem::path& path, bool required, Diagnostics& diagnostics);
  void read_environment(const Environment& env, Diagnostics& diagnostics);
  void fill_defaults(const Environment& env);

  std::map<std::string, Setting> settings_;
  std::map<std::string, std::vector<std::pair<std::string, Origin>>> names_;
  std::vector<std::filesystem::path> files_;
  friend class ConfigReader;
};

}  // namespace asp::core
