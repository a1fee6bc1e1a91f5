// Compiled with hidden visibility, like jit_orc.cpp: see there.
#pragma GCC visibility push(default)
#include "asp/core/jit.hpp"
#pragma GCC visibility pop
#include "jit_common.hpp"

#include <llvm/ADT/StringMap.h>
#include <llvm/TargetParser/Host.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <system_error>

namespace asp::core::jit_detail {

const HostTarget& host_target() {
  static const HostTarget target = [] {
    HostTarget t;
    t.triple = llvm::sys::getProcessTriple();
    t.cpu = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> features;
    // An empty list (features not detectable here) is a valid answer: the CPU name then decides.
    llvm::sys::getHostCPUFeatures(features);
    for (const auto& feature : features) t.features.push_back((feature.second ? "+" : "-") + feature.first().str());
    std::sort(t.features.begin(), t.features.end(),
              [](const std::string& a, const std::string& b) { return a.substr(1) < b.substr(1); });
    std::string joined;
    for (const auto& f : t.features) joined += f + ",";
    t.features_digest = hex_digest(joined);
    return t;
  }();
  return target;
}

std::string hex_digest(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash));
  return out;
}

std::string source_file_name(const CompileRequest& request) {
  // The name comes from a kernel; keep it to characters that are safe in any
  // file name, and never let it start with '-', which a compiler reads as a flag.
  std::string name = request.name;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  if (name.empty() || name.front() == '-') name.insert(0, "kernel");
  return name + "-" + hex_digest(request.source) + request.extension;
}

std::filesystem::path save_source(const CompileRequest& request, std::string& problem) {
  if (request.save_dir.empty()) return {};
  const auto path = request.save_dir / source_file_name(request);
  std::error_code ec;
  std::filesystem::create_directories(request.save_dir, ec);
  if (ec) {
    problem = "cannot create " + request.save_dir.string() + ": " + ec.message();
    return {};
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << request.source;
  out.close();
  if (!out) {
    problem = "cannot write " + path.string();
    return {};
  }
  return path;
}

CompileError compile_error(const CompileRequest& request, const std::string& what, std::string log) {
  std::string problem;
  auto path = save_source(request, problem);
  std::string message = what;
  // The first error line makes the exception useful on its own; the whole log stays in log().
  const auto at = log.find("error:");
  if (at != std::string::npos) {
    const auto begin = log.rfind('\n', at);
    const auto start = begin == std::string::npos ? 0 : begin + 1;
    message += ": " + log.substr(start, log.find('\n', at) - start);
  }
  if (!path.empty())
    message += " (source saved to " + path.string() + ")";
  else if (!problem.empty())
    message += " (source not saved: " + problem + ")";
  return CompileError(message, std::move(log), std::move(path));
}

}  // namespace asp::core::jit_detail
