#include "support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace asp::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "asp-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) const {
  const auto file = path_ / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
  return file;
}

core::Environment fake_environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string test_plugin(const std::string& name) {
  return std::string(ASP_TEST_PLUGIN_DIR) + "/libasp_test_" + name + ".so";
}

core::Config load_files(const std::vector<std::filesystem::path>& files, core::Diagnostics& diagnostics,
                        std::map<std::string, std::string> vars) {
  std::vector<core::ConfigLayer> layers;
  for (const auto& file : files) layers.push_back({file, true});
  return core::Config::load(layers, fake_environment(std::move(vars)), diagnostics);
}

std::string only_message(const core::Diagnostics& diagnostics) {
  std::string all;
  for (const auto& d : diagnostics) all += d.str() + "\n";
  EXPECT_EQ(diagnostics.size(), 1u) << all;
  return diagnostics.empty() ? "" : diagnostics.front().str();
}

}  // namespace asp::test
