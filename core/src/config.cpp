#include "asp/core/config.hpp"

#include "asp/core/paths.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace asp::core {

namespace {

using Type = SchemaEntry::Type;

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::stringstream in(key);
  for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
  return parts;
}

std::string join_key(const std::vector<std::string>& parts) {
  std::string key;
  for (const std::string& part : parts) key += (key.empty() ? "" : ".") + part;
  return key;
}

// Does `pattern` (split) match the first path.size() parts of a key of that pattern?
bool matches_prefix(const std::vector<std::string>& pattern, const std::vector<std::string>& path) {
  if (path.size() > pattern.size()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (pattern[i] != "*" && pattern[i] != path[i]) return false;
  }
  return true;
}

const SchemaEntry* find_leaf(const std::vector<std::string>& path) {
  for (const SchemaEntry& entry : config_schema()) {
    const auto pattern = split_key(entry.key);
    if (pattern.size() == path.size() && matches_prefix(pattern, path)) return &entry;
  }
  return nullptr;
}

bool is_inner(const std::vector<std::string>& path) {
  return std::any_of(config_schema().begin(), config_schema().end(), [&](const SchemaEntry& entry) {
    const auto pattern = split_key(entry.key);
    return pattern.size() > path.size() && matches_prefix(pattern, path);
  });
}

// The keys allowed directly below `path`, for "unknown key" messages.
std::vector<std::string> keys_below(const std::vector<std::string>& path) {
  std::vector<std::string> keys;
  for (const SchemaEntry& entry : config_schema()) {
    const auto pattern = split_key(entry.key);
    if (pattern.size() > path.size() && matches_prefix(pattern, path)) {
      const std::string& next = pattern[path.size()] == "*" ? "<name>" : pattern[path.size()];
      if (std::find(keys.begin(), keys.end(), next) == keys.end()) keys.push_back(next);
    }
  }
  return keys;
}

bool names_a_section(const std::vector<std::string>& path) {
  return std::any_of(config_schema().begin(), config_schema().end(), [&](const SchemaEntry& entry) {
    const auto pattern = split_key(entry.key);
    return pattern.size() > path.size() && matches_prefix(pattern, path) && pattern[path.size()] == "*";
  });
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

bool valid_name(const std::string& name) {
  if (name.empty() || !(std::isalnum(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::optional<std::int64_t> parse_int(const std::string& text) {
  std::int64_t value = 0;
  const char* begin = text.data() + (text.size() > 1 && text[0] == '+' ? 1 : 0);
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

const char* type_name(const SchemaEntry& entry) {
  switch (entry.type) {
    case Type::boolean: return "a boolean (true or false)";
    case Type::integer: return "an integer";
    case Type::string: return "a string";
    case Type::string_list: return "a list of strings";
    case Type::choice: return "one of the listed choices";
  }
  return "";
}

std::string list_words(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : ", ") + word;
  return text;
}

// Converts `text` (from YAML or the environment) to the entry's type; on failure returns
// std::nullopt and sets `problem`.
std::optional<Value> convert_scalar(const SchemaEntry& entry, const std::string& text, std::string& problem) {
  switch (entry.type) {
    case Type::boolean:
      if (auto b = parse_boolean(text)) return Value(*b);
      break;
    case Type::integer:
      if (auto i = parse_int(text)) return Value(*i);
      break;
    case Type::string:
      return Value(text);
    case Type::choice:
      if (std::find(entry.choices.begin(), entry.choices.end(), text) != entry.choices.end()) return Value(text);
      problem = "expected one of " + list_words(entry.choices) + ", got '" + text + "'";
      return std::nullopt;
    case Type::string_list:
      break;
  }
  problem = std::string("expected ") + type_name(entry) + ", got '" + text + "'";
  return std::nullopt;
}

Origin origin_of(const std::filesystem::path& file, const YAML::Mark& mark) {
  return {file.string(), static_cast<unsigned>(mark.line + 1), static_cast<unsigned>(mark.column + 1)};
}

}  // namespace

std::optional<bool> parse_boolean(const std::string& text) {
  const std::string t = lower(text);
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return std::nullopt;
}

std::string format_value(const Value& value) {
  struct Formatter {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<std::string>& list) const { return "[" + list_words(list) + "]"; }
  };
  return std::visit(Formatter{}, value);
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

const std::vector<SchemaEntry>& config_schema() {
  static const std::vector<SchemaEntry> schema = {
      {"version", Type::integer, {}, "", "schema version of the file; only 1 exists"},
      {"log", Type::choice, {"debug", "info", "warning", "error", "off"}, "ASP_LOG", "least severe message logged"},
      {"backend", Type::string, {}, "ASP_BACKEND", "use this backend instead of the priority order"},
      {"disable", Type::boolean, {}, "ASP_DISABLE", "run every kernel as plain Python"},
      {"strict", Type::boolean, {}, "ASP_STRICT", "raise instead of falling back to Python"},
      {"dump", Type::string, {}, "ASP_DUMP", "directory receiving every IR, source and log"},
      {"cache.dir", Type::string, {}, "ASP_CACHE_DIR", "code cache and tuning database directory"},
      {"plugins.*.path", Type::string, {}, "", "plugin library: absolute, relative to this file, or a bare file name in the plugin directory"},
      {"plugins.*.enabled", Type::boolean, {}, "", "load this plugin"},
      {"backends.*.path", Type::string, {}, "", "backend library, resolved like plugins.*.path"},
      {"backends.*.enabled", Type::boolean, {}, "", "consider this backend"},
      {"backends.*.priority", Type::integer, {}, "", "higher is tried first"},
      {"backends.*.jit", Type::choice, {"orc", "system"}, "", "JIT driver: LLVM ORC in process, or the system compiler"},
      {"backends.*.compiler", Type::string, {}, "", "compiler program for the system JIT driver"},
      {"backends.*.flags", Type::string_list, {}, "", "compiler flags"},
  };
  return schema;
}

// Walks one YAML document against the schema, writing good values into a Config.
class ConfigReader {
 public:
  ConfigReader(Config& config, const std::filesystem::path& file, Diagnostics& diagnostics)
      : config_(config), file_(file), diagnostics_(diagnostics) {}

  void read_document(const YAML::Node& root) {
    if (!root || root.IsNull()) return;  // an empty file sets nothing
    if (!root.IsMap()) {
      error(root.Mark(), "the top level must be a mapping of settings (key: value)");
      return;
    }
    walk_map(root, {});
  }

 private:
  void error(const YAML::Mark& mark, const std::string& message) {
    diagnostics_.push_back({Diagnostic::Severity::error, origin_of(file_, mark), message});
  }

  void walk_map(const YAML::Node& map, const std::vector<std::string>& path) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& item : map) {
      const YAML::Node& key_node = item.first;
      if (!key_node.IsScalar()) {
        error(key_node.Mark(), "keys must be plain names");
        continue;
      }
      const std::string key = key_node.Scalar();
      if (auto [it, fresh] = seen.emplace(key, key_node.Mark()); !fresh) {
        error(key_node.Mark(), "duplicate key '" + key + "' (first given at line " +
                                   std::to_string(it->second.line + 1) + ")");
        continue;
      }
      std::vector<std::string> sub = path;
      sub.push_back(key);
      if (const SchemaEntry* entry = find_leaf(sub)) {
        set_value(*entry, sub, item.second);
      } else if (is_inner(sub)) {
        enter(sub, key_node, item.second);
      } else {
        unknown_key(path, key, key_node.Mark());
      }
    }
  }

  void enter(const std::vector<std::string>& path, const YAML::Node& key_node, const YAML::Node& value) {
    const std::string where = join_key(path);
    const std::vector<std::string> parent(path.begin(), path.end() - 1);
    if (names_a_section(parent)) {
      if (!valid_name(path.back())) {
        error(key_node.Mark(), "'" + path.back() + "' is not a valid name under " + join_key(parent) +
                                   " (letters, digits, '_', '-', '.')");
        return;
      }
      auto& names = config_.names_[join_key(parent)];
      const bool known = std::any_of(names.begin(), names.end(), [&](const auto& n) { return n.first == path.back(); });
      if (!known) names.emplace_back(path.back(), origin_of(file_, key_node.Mark()));
    }
    if (!value.IsMap()) {
      error(value.Mark(), where + ": expected a mapping with keys " + list_words(keys_below(path)));
      return;
    }
    walk_map(value, path);
  }

  void unknown_key(const std::vector<std::string>& path, const std::string& key, const YAML::Mark& mark) {
    const std::vector<std::string> known = keys_below(path);
    std::string message = "unknown key '" + key + "'" + (path.empty() ? "" : " in " + join_key(path));
    auto best = std::min_element(known.begin(), known.end(), [&](const std::string& a, const std::string& b) {
      return edit_distance(key, a) < edit_distance(key, b);
    });
    if (best != known.end() && *best != "<name>" && edit_distance(key, *best) <= 2) {
      message += "; did you mean '" + *best + "'?";
    } else {
      message += " (known keys: " + list_words(known) + ")";
    }
    error(mark, message);
  }

  void set_value(const SchemaEntry& entry, const std::vector<std::string>& path, const YAML::Node& node) {
    const std::string key = join_key(path);
    std::string problem;
    std::optional<Value> value;
    if (entry.type == Type::string_list) {
      if (node.IsSequence()) {
        std::vector<std::string> list;
        for (const YAML::Node& element : node) {
          if (!element.IsScalar()) {
            error(element.Mark(), key + ": every element must be a string");
            return;
          }
          list.push_back(element.Scalar());
        }
        value = Value(std::move(list));
      } else {
        problem = "expected a list of strings, e.g. [-O3, -fopenmp]";
      }
    } else if (node.IsScalar()) {
      // Quoted scalars carry the tag "!": "true" in quotes is a string, never a boolean.
      const bool quoted = node.Tag() == "!";
      if (quoted && (entry.type == Type::boolean || entry.type == Type::integer)) {
        problem = std::string("expected ") + type_name(entry) + ", got the quoted string \"" + node.Scalar() + "\"";
      } else {
        value = convert_scalar(entry, node.Scalar(), problem);
      }
    } else {
      problem = std::string("expected ") + type_name(entry) + (node.IsNull() ? ", got nothing" : ", got a collection");
    }
    if (value && key == "version" && std::get<std::int64_t>(*value) != 1) {
      problem = "unsupported configuration version " + format_value(*value) + "; this Asp reads version 1";
      value.reset();
    }
    if (!value) {
      error(node.Mark(), key + ": " + problem);
      return;
    }
    config_.settings_[key] = Setting{std::move(*value), origin_of(file_, node.Mark())};
  }

  Config& config_;
  const std::filesystem::path& file_;
  Diagnostics& diagnostics_;
};

std::vector<ConfigLayer> Config::standard_layers(const Environment& env) {
  std::vector<ConfigLayer> layers{{default_config_path(), true}, {"/etc/asp/asp.yaml", false}};
  if (auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
    layers.push_back({std::filesystem::path(*xdg) / "asp" / "asp.yaml", false});
  } else if (auto home = env("HOME"); home && !home->empty()) {
    layers.push_back({std::filesystem::path(*home) / ".config" / "asp" / "asp.yaml", false});
  }
  if (auto file = env("ASP_CONFIG"); file && !file->empty()) layers.push_back({*file, true});
  return layers;
}

Config Config::load(const std::vector<ConfigLayer>& layers, const Environment& env, Diagnostics& diagnostics) {
  Config config;
  for (const ConfigLayer& layer : layers) config.read_file(layer.path, layer.required, diagnostics);
  config.read_environment(env, diagnostics);
  config.fill_defaults(env);
  return config;
}

Diagnostics Config::check_file(const std::filesystem::path& path) {
  Config config;
  Diagnostics diagnostics;
  config.read_file(path, true, diagnostics);
  return diagnostics;
}

void Config::read_file(const std::filesystem::path& given, bool required, Diagnostics& diagnostics) {
  std::error_code ec;
  // Absolute, so that origins name the file unambiguously and relative paths
  // in it resolve against its directory whatever the working directory.
  const std::filesystem::path path = std::filesystem::absolute(given, ec).lexically_normal();
  if (!std::filesystem::exists(path, ec)) {
    if (required) {
      diagnostics.push_back({Diagnostic::Severity::error, {path.string()}, "configuration file not found"});
    }
    return;
  }
  std::ifstream in(path);
  if (!in) {
    diagnostics.push_back({Diagnostic::Severity::error, {path.string()}, "cannot read configuration file"});
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    diagnostics.push_back({Diagnostic::Severity::error, origin_of(path, e.mark),
                           "not valid YAML: " + e.msg + "; the whole file is ignored"});
    return;
  }
  files_.push_back(path);
  ConfigReader(*this, path, diagnostics).read_document(root);
}

void Config::read_environment(const Environment& env, Diagnostics& diagnostics) {
  for (const SchemaEntry& entry : config_schema()) {
    if (entry.env.empty()) continue;
    const auto text = env(entry.env);
    if (!text || text->empty()) continue;
    Origin origin{"environment variable " + entry.env};
    std::string problem;
    if (auto value = convert_scalar(entry, *text, problem)) {
      settings_[entry.key] = Setting{std::move(*value), origin};
    } else {
      diagnostics.push_back({Diagnostic::Severity::error, origin, problem + "; the variable is ignored"});
    }
  }
}

void Config::fill_defaults(const Environment& env) {
  const Origin builtin{"built-in default"};
  auto fallback = [&](const std::string& key, Value value) { settings_.try_emplace(key, Setting{std::move(value), builtin}); };
  fallback("log", std::string("warning"));
  fallback("disable", false);
  fallback("strict", false);
  std::filesystem::path cache;
  if (auto xdg = env("XDG_CACHE_HOME"); xdg && !xdg->empty()) {
    cache = std::filesystem::path(*xdg) / "asp";
  } else if (auto home = env("HOME"); home && !home->empty()) {
    cache = std::filesystem::path(*home) / ".cache" / "asp";
  } else {
    cache = std::filesystem::temp_directory_path() / "asp-cache";
  }
  fallback("cache.dir", cache.string());
  for (const auto& [name, origin] : names("plugins")) fallback("plugins." + name + ".enabled", true);
  for (const auto& [name, origin] : names("backends")) {
    fallback("backends." + name + ".enabled", true);
    fallback("backends." + name + ".priority", std::int64_t{0});
  }
}

const Setting* Config::find(const std::string& key) const {
  auto it = settings_.find(key);
  return it == settings_.end() ? nullptr : &it->second;
}

bool Config::get_bool(const std::string& key, bool fallback) const {
  const Setting* s = find(key);
  return s ? std::get<bool>(s->value) : fallback;
}

std::int64_t Config::get_int(const std::string& key, std::int64_t fallback) const {
  const Setting* s = find(key);
  return s ? std::get<std::int64_t>(s->value) : fallback;
}

std::optional<std::string> Config::get_string(const std::string& key) const {
  const Setting* s = find(key);
  if (!s) return std::nullopt;
  return std::get<std::string>(s->value);
}

std::optional<std::vector<std::string>> Config::get_list(const std::string& key) const {
  const Setting* s = find(key);
  if (!s) return std::nullopt;
  return std::get<std::vector<std::string>>(s->value);
}

const std::vector<std::pair<std::string, Origin>>& Config::names(const std::string& section) const {
  static const std::vector<std::pair<std::string, Origin>> none;
  auto it = names_.find(section);
  return it == names_.end() ? none : it->second;
}

}  // namespace asp::core
