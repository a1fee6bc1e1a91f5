// The layered configuration: precedence, provenance, and one clear diagnostic
// (file:line:column) for each kind of mistake.
#include "asp/core/config.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using asp::core::Config;
using asp::core::Diagnostics;
using asp::test::load_files;
using asp::test::only_message;
using asp::test::TempDir;
using testing::HasSubstr;

namespace {

TEST(Config, LaterLayerWinsAndRemembersWhere) {
  TempDir dir;
  auto low = dir.write("low.yaml", "backends:\n  openmp:\n    path: a.so\n    priority: 5\n");
  auto high = dir.write("high.yaml", "backends:\n  openmp:\n    priority: 7\n");
  Diagnostics diagnostics;
  Config config = load_files({low, high}, diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(config.get_int("backends.openmp.priority", 0), 7);
  EXPECT_EQ(config.find("backends.openmp.priority")->origin.str(), high.string() + ":3:15");
  // Keys the higher layer does not set keep the lower layer's value and origin.
  EXPECT_EQ(config.get_string("backends.openmp.path"), "a.so");
  EXPECT_EQ(config.find("backends.openmp.path")->origin.str(), low.string() + ":3:11");
  ASSERT_EQ(config.files().size(), 2u);
}

TEST(Config, EnvironmentOverridesFiles) {
  TempDir dir;
  auto file = dir.write("a.yaml", "backend: openmp\nstrict: false\nlog: error\n");
  Diagnostics diagnostics;
  Config config = load_files({file}, diagnostics, {{"ASP_BACKEND", "pthreads"}, {"ASP_STRICT", "1"}});
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(config.get_string("backend"), "pthreads");
  EXPECT_EQ(config.find("backend")->origin.str(), "environment variable ASP_BACKEND");
  EXPECT_TRUE(config.get_bool("strict", false));
  EXPECT_EQ(config.get_string("log"), "error");  // not overridden: ASP_LOG unset
}

TEST(Config, EmptyEnvironmentVariableMeansUnset) {
  Diagnostics diagnostics;
  Config config = load_files({}, diagnostics, {{"ASP_BACKEND", ""}});
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_FALSE(config.get_string("backend"));
}

TEST(Config, MalformedYamlNamesTheLineAndOtherLayersStillApply) {
  TempDir dir;
  auto good = dir.write("good.yaml", "log: info\n");
  auto broken = dir.write("broken.yaml", "log: debug\nbackends:\n  openmp: [unclosed\n");
  Diagnostics diagnostics;
  Config config = load_files({good, broken}, diagnostics);
  const std::string message = only_message(diagnostics);
  EXPECT_THAT(message, HasSubstr(broken.string() + ":"));
  EXPECT_THAT(message, HasSubstr("not valid YAML"));
  EXPECT_EQ(diagnostics.front().where.line, 4u) << message;  // the parser notices at end of input
  EXPECT_EQ(config.get_string("log"), "info");                // the broken file is ignored whole
}

TEST(Config, UnknownKeySuggestsTheNearestKnownKey) {
  TempDir dir;
  auto file = dir.write("a.yaml", "backends:\n  openmp:\n    path: x.so\n    priorty: 3\n");
  Diagnostics diagnostics;
  Config config = load_files({file}, diagnostics);
  EXPECT_EQ(only_message(diagnostics), file.string() +
                                           ":4:5: error: unknown key 'priorty' in backends.openmp; did you mean "
                                           "'priority'?");
  EXPECT_EQ(config.get_string("backends.openmp.path"), "x.so");  // the good key of the same entry stays
}

TEST(Config, UnknownTopLevelKeyListsTheKnownOnes) {
  TempDir dir;
  auto file = dir.write("a.yaml", "colour: blue\n");
  Diagnostics diagnostics;
  load_files({file}, diagnostics);
  const std::string message = only_message(diagnostics);
  EXPECT_THAT(message, HasSubstr(":1:1: error: unknown key 'colour'"));
  EXPECT_THAT(message, HasSubstr("backends"));
}

TEST(Config, WrongTypesAreNamedWithTheirValue) {
  TempDir dir;
  auto file = dir.write("a.yaml",
                        "backends:\n"
                        "  openmp:\n"
                        "    priority: high\n"
                        "    enabled: \"true\"\n"
                        "    jit: gcc\n"
                        "    flags: -O3\n"
                        "    compiler: [cc]\n");
  Diagnostics diagnostics;
  Config config = load_files({file}, diagnostics);
  ASSERT_EQ(diagnostics.size(), 5u);
  EXPECT_EQ(diagnostics[0].str(),
            file.string() + ":3:15: error: backends.openmp.priority: expected an integer, got 'high'");
  EXPECT_THAT(diagnostics[1].str(), HasSubstr(":4:14: error: backends.openmp.enabled: expected a boolean"));
  EXPECT_THAT(diagnostics[1].str(), HasSubstr("quoted string"));
  EXPECT_THAT(diagnostics[2].str(), HasSubstr(":5:10: error: backends.openmp.jit: expected one of orc, system, got 'gcc'"));
  EXPECT_THAT(diagnostics[3].str(), HasSubstr(":6:12: error: backends.openmp.flags: expected a list of strings"));
  EXPECT_THAT(diagnostics[4].str(), HasSubstr(":7:15: error: backends.openmp.compiler: expected a string"));
  EXPECT_FALSE(config.find("backends.openmp.jit"));
}

TEST(Config, ListElementsMustBeStrings) {
  TempDir dir;
  auto file = dir.write("a.yaml", "backends:\n  openmp:\n    flags: [-O3, {a: b}]\n");
  Diagnostics diagnostics;
  load_files({file}, diagnostics);
  EXPECT_THAT(only_message(diagnostics), HasSubstr(":3:18: error: backends.openmp.flags: every element must be a string"));
}

TEST(Config, SectionEntriesMustBeMappings) {
  TempDir dir;
  auto file = dir.write("a.yaml", "backends:\n  openmp: libx.so\n");
  Diagnostics diagnostics;
  load_files({file}, diagnostics);
  EXPECT_THAT(only_message(diagnostics), HasSubstr(":2:11: error: backends.openmp: expected a mapping with keys path"));
}

TEST(Config, DuplicateKeysAreErrors) {
  TempDir dir;
  auto file = dir.write("a.yaml", "log: info\nlog: debug\n");
  Diagnostics diagnostics;
  Config config = load_files({file}, diagnostics);
  EXPECT_EQ(only_message(diagnostics), file.string() + ":2:1: error: duplicate key 'log' (first given at line 1)");
  EXPECT_EQ(config.get_string("log"), "info");
}

TEST(Config, InvalidEntryNamesAreRejected) {
  TempDir dir;
  auto file = dir.write("a.yaml", "plugins:\n  \"bad name\":\n    path: x.so\n");
  Diagnostics diagnostics;
  Config config = load_files({file}, diagnostics);
  EXPECT_THAT(only_message(diagnostics), HasSubstr(":2:3: error: 'bad name' is not a valid name under plugins"));
  EXPECT_TRUE(config.names("plugins").empty());
}

TEST(Config, OnlyVersionOneIsRead) {
  TempDir dir;
  auto file = dir.write("a.yaml", "version: 2\n");
  Diagnostics diagnostics;
  load_files({file}, diagnostics);
  EXPECT_THAT(only_message(diagnostics), HasSubstr(":1:10: error: version: unsupported configuration version 2; this Asp reads version 1"));
}

TEST(Config, TopLevelMustBeAMapping) {
  TempDir dir;
  auto file = dir.write("a.yaml", "- just\n- a list\n");
  Diagnostics diagnostics;
  load_files({file}, diagnostics);
  EXPECT_THAT(only_message(diagnostics), HasSubstr(":1:1: error: the top level must be a mapping"));
}

TEST(Config, EmptyFileSetsNothing) {
  TempDir dir;
  auto file = dir.write("a.yaml", "# only a comment\n");
  Diagnostics diagnostics;
  Config config = load_files({file}, diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(config.find("log")->origin.str(), "built-in default");
}

TEST(Config, MissingRequiredFileIsAnErrorMissingOptionalIsNot) {
  TempDir dir;
  Diagnostics diagnostics;
  std::vector<asp::core::ConfigLayer> layers{{dir.path() / "optional.yaml", false}, {dir.path() / "required.yaml", true}};
  Config::load(layers, asp::test::fake_environment({}), diagnostics);
  EXPECT_EQ(only_message(diagnostics), (dir.path() / "required.yaml").string() + ": error: configuration file not found");
}

TEST(Config, BadEnvironmentValuesAreReportedAndIgnored) {
  Diagnostics diagnostics;
  Config config = load_files({}, diagnostics, {{"ASP_STRICT", "maybe"}, {"ASP_LOG", "loud"}});
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_EQ(diagnostics[0].str(),
            "environment variable ASP_LOG: error: expected one of debug, info, warning, error, off, got 'loud'; the "
            "variable is ignored");
  EXPECT_THAT(diagnostics[1].str(), HasSubstr("environment variable ASP_STRICT: error: expected a boolean"));
  EXPECT_FALSE(config.get_bool("strict", true));
  EXPECT_EQ(config.get_string("log"), "warning");
}

TEST(Config, DefaultsFillWhatNoLayerSets) {
  TempDir dir;
  auto file = dir.write("a.yaml", "plugins:\n  p:\n    path: p.so\nbackends:\n  b:\n    path: b.so\n");
  Diagnostics diagnostics;
  Config config = load_files({file}, diagnostics, {{"XDG_CACHE_HOME", "/var/tmp/xdg"}});
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(config.get_string("cache.dir"), "/var/tmp/xdg/asp");
  EXPECT_TRUE(config.get_bool("plugins.p.enabled", false));
  EXPECT_EQ(config.get_int("backends.b.priority", -1), 0);
  EXPECT_EQ(config.find("backends.b.enabled")->origin.str(), "built-in default");
  ASSERT_EQ(config.names("backends").size(), 1u);
  EXPECT_EQ(config.names("backends")[0].second.str(), file.string() + ":5:3");
}

TEST(Config, StandardLayersFollowTheDesignOrder) {
  auto layers = Config::standard_layers(
      asp::test::fake_environment({{"XDG_CONFIG_HOME", "/x"}, {"ASP_CONFIG", "/y/mine.yaml"}, {"HOME", "/h"}}));
  ASSERT_EQ(layers.size(), 4u);
  EXPECT_TRUE(layers[0].required);  // the installed default
  EXPECT_EQ(layers[1].path, "/etc/asp/asp.yaml");
  EXPECT_FALSE(layers[1].required);
  EXPECT_EQ(layers[2].path, "/x/asp/asp.yaml");
  EXPECT_EQ(layers[3].path, "/y/mine.yaml");
  EXPECT_TRUE(layers[3].required);
  auto without = Config::standard_layers(asp::test::fake_environment({{"HOME", "/h"}}));
  ASSERT_EQ(without.size(), 3u);
  EXPECT_EQ(without[2].path, "/h/.config/asp/asp.yaml");
}

TEST(Config, TheShippedDefaultConfigurationIsValid) {
  EXPECT_TRUE(Config::check_file(ASP_TEST_DEFAULT_CONFIG).empty());
}

}  // namespace
