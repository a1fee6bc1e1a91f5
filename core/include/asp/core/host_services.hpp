// The services the host table offers plugins from ABI 1.5 on (DESIGN.md §4):
// the platform facts, the code cache and the JIT drivers, the same ones the
// core uses for generated code.
#pragma once

#include "asp/core/code_cache.hpp"
#include "asp/core/config.hpp"
#include "asp/core/jit.hpp"

#include <asp/plugin.h>

#include <memory>
#include <string>

namespace asp::core {

// The JIT driver the configuration gives `backend`: backends.<backend>.jit
// "system" runs backends.<backend>.compiler (default cc) with its flags;
// anything else, or no setting, is the in-process ORC driver.
std::unique_ptr<JitDriver> configured_driver(const Config& config, const std::string& backend);

// What the cache and JIT services work on from now on: the configuration the
// drivers are chosen by and the code cache; either may be null (no backend's
// settings: ORC; no cache: loads miss, stores keep nothing, everything JIT
// compiles is compiled again). Both must outlive every later service call:
// the runtime's are never destroyed; a test resets them before its own go.
void set_host_services(const Config* config, const CodeCache* cache);

// Sets the ABI 1.5 entries of the host table.
void fill_host_services(asp_host& host);

}  // namespace asp::core
