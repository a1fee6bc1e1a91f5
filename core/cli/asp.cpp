// The `asp` command: explains what Asp sees on this machine and how it is configured.
//
//   asp info                what the platform is; every plugin and backend, its state and why
//   asp config              every effective setting and where its value came from
//   asp config check FILE   validate one configuration file; non-zero exit on problems
//   asp cache info          where the code cache is, how many entries, their size, how many are invalid
//   asp cache list          every entry: key, kind, size, when it was written, why it would be refused
//   asp cache clear         remove every entry
#include "asp/core/code_cache.hpp"
#include "asp/core/config.hpp"
#include "asp/core/log.hpp"
#include "asp/core/mpi.hpp"
#include "asp/core/platform.hpp"
#include "asp/core/registry.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <string>

namespace {

using namespace asp::core;

std::string bytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  double value = static_cast<double>(n);
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 || value == static_cast<std::uint64_t>(value) ? "%.0f %s" : "%.1f %s",
                value, units[unit]);
  return text;
}

void print_diagnostics(const Diagnostics& diagnostics) {
  if (diagnostics.empty()) return;
  std::cout << "\nProblems\n";
  for (const Diagnostic& d : diagnostics) std::cout << "  " << d.str() << "\n";
}

Diagnostics load_config(Config& config) {
  const Environment env = process_environment();
  Diagnostics diagnostics;
  config = Config::load(Config::standard_layers(env), env, diagnostics);
  if (auto level = config.get_string("log")) set_log_level(parse_log_level(*level).value_or(LogLevel::warning));
  return diagnostics;
}

void print_platform(const Platform& p) {
  std::cout << "Platform (hwloc " << p.hwloc_version << ")\n";
  if (!p.error.empty()) std::cout << "  hwloc failed: " << p.error << "\n";
  std::cout << "  CPU:     " << (p.cpu_model.empty() ? "unknown model" : p.cpu_model) << ", " << p.architecture << "\n";
  std::cout << "  cores:   " << p.cores << " cores, " << p.pus << " hardware threads, " << p.packages
            << " package(s), " << p.numa_nodes << " NUMA node(s), " << bytes(p.memory) << " memory\n";
  for (const CacheLevel& c : p.caches) {
    std::cout << "  cache:   " << c.name() << " " << bytes(c.size) << " x" << c.instances << ", line "
              << c.line_size << " B\n";
  }
  if (devices().empty()) std::cout << "  devices: none seen by hwloc\n";
  for (const Device& d : devices()) std::cout << "  device:  " << d.kind << ": " << d.name << "\n";
}

void print_mpi(const MpiInfo& m) {
  std::cout << "\nMPI\n";
  if (!m.built) {
    std::cout << "  unavailable: " << m.reason << "\n";
    return;
  }
  std::cout << "  library: " << m.library << " (MPI " << m.standard_major << "." << m.standard_minor << ")\n";
  if (m.ranks > 0) {
    std::cout << "  ranks:   " << m.ranks << " (this is rank " << m.rank << ")\n";
  } else {
    std::cout << "  ranks:   1, not launched by mpirun (run `mpirun -n 4 python app.py` and pass comm= to a call)\n";
  }
}

int run_info() {
  Config config;
  Diagnostics diagnostics = load_config(config);
  auto registry = Registry::load(std::move(config), diagnostics);
  std::cout << "Asp " << ASP_CORE_VERSION << " (plugin ABI " << ASP_ABI_VERSION_MAJOR << "." << ASP_ABI_VERSION_MINOR
            << ")\n\n";
  print_platform(platform());
  print_mpi(mpi_info());

  std::cout << "\nPlugins\n";
  bool any = false;
  for (const auto& lib : registry->libraries()) {
    if (lib->section != "plugins") continue;
    any = true;
    std::cout << "  " << lib->name << ": " << state_name(lib->state);
    if (lib->state == Library::State::loaded) {
      std::cout << ", version " << lib->version << ", ABI " << ASP_ABI_VERSION_MAJOR_OF(lib->abi_version) << "."
                << ASP_ABI_VERSION_MINOR_OF(lib->abi_version) << ", " << lib->path.string() << "\n";
      for (const asp_component* c : lib->components) {
        std::cout << "      " << kind_name(c->kind) << " " << c->name << (c->domain ? " (domain " : "")
                  << (c->domain ? c->domain : "") << (c->domain ? ")" : "") << "\n";
      }
    } else {
      std::cout << ": " << lib->reason << " [" << lib->path.string() << "]\n";
    }
  }
  if (!any) std::cout << "  none configured\n";

  std::cout << "\nBackends\n";
  for (const BackendState* b : registry->backends()) {
    std::cout << "  " << b->name << ": " << (b->available ? "available" : "unavailable") << ", priority " << b->priority;
    if (b->library && b->library->state == Library::State::loaded) std::cout << ", version " << b->library->version;
    std::cout << "\n      " << (b->available ? "" : "reason: ") << b->reason << "\n";
    if (b->library) std::cout << "      " << b->library->path.string() << "\n";
  }
  const BackendSelection selection = registry->select();
  std::cout << "\nSelected backend: ";
  if (!selection.problem.empty()) {
    std::cout << "none: " << selection.problem << "\n";
  } else {
    std::cout << selection.order.front()->name
              << (selection.forced_by.empty() ? " (highest priority available)" : " (chosen by " + selection.forced_by + ")")
              << "\n";
  }
  print_diagnostics(diagnostics);
  return 0;
}

int run_config() {
  Config config;
  const Diagnostics diagnostics = load_config(config);
  std::cout << "Configuration files read, lowest precedence first:\n";
  for (const auto& file : config.files()) std::cout << "  " << file.string() << "\n";
  std::cout << "\nSettings (key = value  <- where it came from)\n";
  auto show = [&](const std::string& key, const SchemaEntry& entry) {
    std::cout << "  " << key << " = ";
    if (const Setting* s = config.find(key)) {
      std::cout << format_value(s->value) << "  <- " << s->origin.str();
    } else {
      std::cout << "(unset)";
    }
    if (!entry.env.empty()) std::cout << "  [" << entry.env << "]";
    std::cout << "\n";
  };
  for (const SchemaEntry& entry : config_schema()) {
    const auto star = entry.key.find(".*.");
    if (star == std::string::npos) {
      show(entry.key, entry);
      continue;
    }
    const std::string section = entry.key.substr(0, star);
    for (const auto& [name, origin] : config.names(section)) {
      show(section + "." + name + entry.key.substr(star + 2), entry);
    }
  }
  print_diagnostics(diagnostics);
  return has_errors(diagnostics) ? 1 : 0;
}

int run_check(const std::string& file) {
  const Diagnostics diagnostics = Config::check_file(file);
  for (const Diagnostic& d : diagnostics) std::cerr << d.str() << "\n";
  if (has_errors(diagnostics)) return 1;
  std::cout << file << ": ok\n";
  return 0;
}

const Setting& cache_dir_setting(const Config& config) {
  const Setting* dir = config.find("cache.dir");
  if (!dir) throw std::runtime_error("the setting cache.dir is not set");
  return *dir;
}

CodeCache open_cache(const Config& config) { return CodeCache(std::get<std::string>(cache_dir_setting(config).value)); }

std::string local_time(std::filesystem::file_time_type t) {
  const auto system = std::chrono::time_point_cast<std::chrono::system_clock::duration>(std::chrono::file_clock::to_sys(t));
  const std::time_t seconds = std::chrono::system_clock::to_time_t(system);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

int run_cache_info() {
  Config config;
  const Diagnostics diagnostics = load_config(config);
  const CodeCache cache = open_cache(config);
  const auto entries = cache.list();
  std::uint64_t size = 0;
  std::size_t invalid = 0;
  for (const CodeCache::Entry& e : entries) {
    size += e.size;
    if (!e.problem.empty()) ++invalid;
  }
  std::cout << "Code cache\n";
  std::cout << "  location: " << cache.dir().string() << "  <- " << cache_dir_setting(config).origin.str() << "\n";
  std::cout << "  entries:  " << entries.size() << "\n";
  std::cout << "  size:     " << bytes(size) << "\n";
  std::cout << "  invalid:  " << invalid;
  if (invalid) std::cout << " (see `asp cache list`; each is removed and rebuilt when next used)";
  std::cout << "\n";
  print_diagnostics(diagnostics);
  return 0;
}

int run_cache_list() {
  Config config;
  const Diagnostics diagnostics = load_config(config);
  const CodeCache cache = open_cache(config);
  const auto entries = cache.list();
  if (entries.empty()) std::cout << "No entries in " << cache.dir().string() << "\n";
  std::size_t key_width = 3;
  for (const CodeCache::Entry& e : entries) key_width = std::max(key_width, e.key.size());
  auto row = [&](const std::string& key, const std::string& kind, const std::string& size, const std::string& modified,
                 const std::string& problem) {
    std::cout << std::left << std::setw(static_cast<int>(key_width)) << key << "  " << std::setw(16) << kind << "  "
              << std::right << std::setw(10) << size << "  " << std::left << std::setw(19) << modified;
    if (!problem.empty()) std::cout << "  " << problem;
    std::cout << "\n";
  };
  if (!entries.empty()) row("KEY", "KIND", "SIZE", "MODIFIED", "PROBLEM");
  for (const CodeCache::Entry& e : entries) row(e.key, e.kind, bytes(e.size), local_time(e.modified), e.problem);
  print_diagnostics(diagnostics);
  return 0;
}

int run_cache_clear() {
  Config config;
  const Diagnostics diagnostics = load_config(config);
  const CodeCache cache = open_cache(config);
  const std::size_t removed = cache.clear();
  std::cout << "Removed " << removed << (removed == 1 ? " entry" : " entries") << " from " << cache.dir().string()
            << "\n";
  print_diagnostics(diagnostics);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Asp: selective embedded just-in-time specialization for Python"};
  app.set_version_flag("--version", std::string("asp ") + ASP_CORE_VERSION);
  app.require_subcommand(1);
  CLI::App* info = app.add_subcommand("info", "Show the platform, every plugin and backend, and why any is unavailable");
  CLI::App* config = app.add_subcommand("config", "Show every effective setting and where it came from");
  CLI::App* check = config->add_subcommand("check", "Validate a configuration file");
  std::string file;
  check->add_option("file", file, "the YAML file to check")->required();
  CLI::App* cache = app.add_subcommand("cache", "Inspect or empty the code cache (setting cache.dir)");
  cache->require_subcommand(1);
  CLI::App* cache_info = cache->add_subcommand("info", "Show where the code cache is, its entries, size and invalid entries");
  CLI::App* cache_list = cache->add_subcommand("list", "List every entry with its kind, size, time and any problem");
  CLI::App* cache_clear = cache->add_subcommand("clear", "Remove every entry");

  CLI11_PARSE(app, argc, argv);
  try {
    if (info->parsed()) return run_info();
    if (check->parsed()) return run_check(file);
    if (config->parsed()) return run_config();
    if (cache_info->parsed()) return run_cache_info();
    if (cache_list->parsed()) return run_cache_list();
    if (cache_clear->parsed()) return run_cache_clear();
  } catch (const std::exception& e) {
    std::cerr << "asp: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
