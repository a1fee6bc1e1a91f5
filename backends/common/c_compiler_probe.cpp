#include "c_compiler_probe.hpp"

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <unistd.h>

namespace asp::backends {

std::string find_program(const std::string& program) {
  auto runnable = [](const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) return runnable(program) ? program : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
    if (runnable(candidate)) return candidate.string();
  }
  return "";
}

Probe probe_c_compiler(const BackendConfig& config, const std::string& backend) {
  // The core compiles with clang's libraries when no driver is configured (the default).
  const std::string jit = config.jit.value_or("orc");
  if (jit == "orc") return Probe::yes("ORC JIT driver (clang in process)");
  const std::string compiler = config.compiler.value_or("cc");
  const std::string found = find_program(compiler);
  if (found.empty()) {
    return Probe::no("no compiler found: '" + compiler + "' is not on PATH; install one or set backends." + backend +
                     ".compiler");
  }
  return Probe::yes("system JIT driver, compiler " + found);
}

}  // namespace asp::backends
