// Shared test helpers: a private temporary directory and configurations built from text.
#pragma once

#include "asp/core/config.hpp"

#include <filesystem>
#include <map>
#include <string>

namespace asp::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to `name` inside the directory and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// An environment with only the given variables.
core::Environment fake_environment(std::map<std::string, std::string> vars);

// The path of a test plugin library built by tests/plugins.
std::string test_plugin(const std::string& name);

// Loads just these files (no installed default, no /etc, no XDG) and `vars`.
core::Config load_files(const std::vector<std::filesystem::path>& files, core::Diagnostics& diagnostics,
                        std::map<std::string, std::string> vars = {});

// The one diagnostic text, or a failure listing them all when there is not exactly one.
std::string only_message(const core::Diagnostics& diagnostics);

}  // namespace asp::test
