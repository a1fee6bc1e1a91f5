// The per-call state behind the opaque asp_host_context of the C ABI, shared
// by the host table's callbacks (registry.cpp, host_services.cpp).
#pragma once

#include "asp/core/registry.hpp"

#include <string>

struct asp_host_context {
  std::string who;  // the component or library the call is made for
  asp::core::PluginError error;
};
