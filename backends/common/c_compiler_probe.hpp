// The probe shared by the backends that emit C for a host compiler
// (openmp, pthreads): the ORC driver is part of the core; the system driver
// needs its compiler on PATH.
#pragma once

#include <asp/plugin.hpp>

#include <string>

namespace asp::backends {

// The full path of `program` (searched on PATH unless it contains a '/'), or "" if absent.
std::string find_program(const std::string& program);

Probe probe_c_compiler(const BackendConfig& config, const std::string& backend);

}  // namespace asp::backends
