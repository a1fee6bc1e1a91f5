// The probe shared by the backends that emit C for a host compiler
// (openmp, pthreads): is the configured JIT driver there, and its compiler?
#pragma once

#include <asp/plugin.hpp>

#include <string>

namespace asp::backends {

// The full path of `program` (searched on PATH unless it contains a '/'), or "" if absent.
std::string find_program(const std::string& program);

Probe probe_c_compiler(const BackendConfig& config, const std::string& backend);

}  // namespace asp::backends
