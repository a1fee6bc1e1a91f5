// Where the installed pieces are, found relative to libasp_core itself so that
// an installed tree and the build tree (which mirrors it) both work unmoved.
#pragma once

#include <filesystem>

namespace asp::core {

// The directory holding libasp_core.
std::filesystem::path library_dir();
// The directory where bare plugin file names in the configuration are looked up.
std::filesystem::path plugin_dir();
// The installed default configuration (the lowest layer).
std::filesystem::path default_config_path();

}  // namespace asp::core
