// Private helpers shared by the two JIT drivers (jit_orc.cpp, jit_system.cpp).
#pragma once

#include "asp/core/jit.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace asp::core::jit_detail {

// The CPU generated code is compiled for, as LLVM names it. Both drivers put it
// in their identity: code built for one CPU's features may not run on another.
struct HostTarget {
  std::string triple;
  std::string cpu;
  std::vector<std::string> features;  // "+avx2", "-avx512f", ... sorted by name
  std::string features_digest;        // hex digest of the feature list
};
const HostTarget& host_target();

// A 64-bit FNV-1a digest as 16 hex digits: stable across processes and builds,
// unlike std::hash, so it can name files and go into identities.
std::string hex_digest(std::string_view text);

// "<name>-<digest><extension>": the file name a request's source is compiled and saved
// under, so that compiler diagnostics name the file the user can open.
std::string source_file_name(const CompileRequest& request);

// Saves the source of a failing compile as <save_dir>/source_file_name() and
// returns its path, or an empty path when the request has no save_dir. Never
// throws: `problem` receives why saving failed, so the compile error can say so.
std::filesystem::path save_source(const CompileRequest& request, std::string& problem);

// The CompileError for a rejected source: saves the source and names where.
CompileError compile_error(const CompileRequest& request, const std::string& what, std::string log);

}  // namespace asp::core::jit_detail
