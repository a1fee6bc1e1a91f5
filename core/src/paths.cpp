#include "asp/core/paths.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

namespace asp::core {

std::filesystem::path library_dir() {
  static const std::filesystem::path dir = boost::dll::this_line_location().parent_path();
  return dir;
}

// ASP_REL_PLUGIN_DIR and ASP_REL_DEFAULT_CONFIG are relative to the library
// directory; CMake computes them from the install layout.
std::filesystem::path plugin_dir() { return (library_dir() / ASP_REL_PLUGIN_DIR).lexically_normal(); }

std::filesystem::path default_config_path() {
  return (library_dir() / ASP_REL_DEFAULT_CONFIG).lexically_normal();
}

}  // namespace asp::core
