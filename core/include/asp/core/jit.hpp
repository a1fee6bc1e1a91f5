// The JIT drivers of DESIGN.md §6: C source in, callable native code out.
//
//  - OrcDriver: compiles C in process with clang's libraries (LLVM 16) to an
//    object file for the host CPU and its features, links it with LLVM ORC
//    LLJIT; OpenMP through libomp. No temporary files, no external process.
//  - SystemDriver: runs the configured compiler (an argument vector, never a
//    shell) to build a shared library, then loads it with Boost.DLL.
//
// compile() produces the bytes the code cache stores; load() turns those
// bytes (or the cached file) into code, so a cache hit never compiles.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace asp::core {

// The compiler rejected the source. Carries the compiler's log and where the source was saved.
class CompileError : public std::runtime_error {
 public:
  CompileError(const std::string& message, std::string log, std::filesystem::path source_path)
      : std::runtime_error(message), log_(std::move(log)), source_path_(std::move(source_path)) {}
  const std::string& log() const { return log_; }
  const std::filesystem::path& source_path() const { return source_path_; }

 private:
  std::string log_;
  std::filesystem::path source_path_;
};

struct CompileRequest {
  std::string source;               // C11 source text
  std::string name;                 // a short name for logs and saved files, e.g. "laplacian3d"
  bool openmp = false;              // compile with OpenMP
  std::vector<std::string> flags;   // extra flags (the system driver's configured flags; ORC: -O levels, -D, -f...)
  std::filesystem::path save_dir;   // where failing sources (and, with ASP_DUMP, every source) are saved
  std::string extension = ".c";     // of the saved source file
};

// Loaded native code; keeps it alive (and mapped) while referenced.
class LoadedCode {
 public:
  virtual ~LoadedCode() = default;
  // The address of an exported function, or nullptr when absent.
  virtual void* symbol(const std::string& name) const = 0;
};

class JitDriver {
 public:
  virtual ~JitDriver() = default;
  virtual std::string name() const = 0;  // "orc" or "system"
  // Everything that changes the generated binary besides the source and flags:
  // compiler identity and version, target triple, CPU and its features. Part of the cache key.
  virtual std::string identity() const = 0;
  // What compile() returns: "object" (ORC) or "shared-library" (system).
  virtual std::string artifact_kind() const = 0;
  // Compiles; throws CompileError when the compiler rejects the source.
  virtual std::string compile(const CompileRequest& request) const = 0;
  // Loads what compile() returned, from memory or from the verified cache file holding it.
  virtual std::shared_ptr<LoadedCode> load(const std::string& artifact, const std::filesystem::path& file) const = 0;
};

std::unique_ptr<JitDriver> make_orc_driver();
// `compiler` is a program name or path; `flags` the configured flags (e.g. -O3 -march=native -fopenmp -shared -fPIC).
std::unique_ptr<JitDriver> make_system_driver(std::string compiler, std::vector<std::string> flags);

}  // namespace asp::core
