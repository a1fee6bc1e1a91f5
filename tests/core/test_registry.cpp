// The registry against good and deliberately broken plugins: every failure is
// one clear diagnostic, and the other plugins still load.
#include "asp/core/paths.hpp"
#include "asp/core/kernel.hpp"
#include "asp/core/registry.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using asp::core::BackendState;
using asp::core::Diagnostics;
using asp::core::Library;
using asp::core::Registry;
using asp::test::only_message;
using asp::test::TempDir;
using asp::test::test_plugin;
using testing::HasSubstr;

namespace {

std::string plugin_entry(const std::string& name, const std::string& path) {
  return "  " + name + ":\n    path: " + path + "\n";
}

std::unique_ptr<Registry> load_text(const TempDir& dir, const std::string& text, Diagnostics& diagnostics,
                                    std::map<std::string, std::string> env = {}) {
  auto file = dir.write("asp.yaml", text);
  return Registry::load(asp::test::load_files({file}, diagnostics, std::move(env)), diagnostics);
}

const Library& library(const Registry& registry, const std::string& name) {
  for (const auto& lib : registry.libraries()) {
    if (lib->name == name) return *lib;
  }
  throw std::runtime_error("no library " + name);
}

const BackendState& backend(Registry& registry, const std::string& name) {
  const BackendState* b = registry.backend(name);
  if (!b) throw std::runtime_error("no backend " + name);
  return *b;
}

// Loads one broken plugin next to the good one; returns the broken one's single diagnostic.
std::string load_broken(const std::string& path) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "plugins:\n" + plugin_entry("good", test_plugin("good_plugin")) +
                                     plugin_entry("broken", path), diagnostics);
  EXPECT_EQ(library(*registry, "good").state, Library::State::loaded);
  EXPECT_EQ(library(*registry, "broken").state, Library::State::failed);
  EXPECT_TRUE(registry->find(ASP_COMPONENT_FRONTEND, "echo"));
  return only_message(diagnostics);
}

TEST(Registry, LoadsAGoodPluginWithEveryComponentKind) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "plugins:\n" + plugin_entry("good", test_plugin("good_plugin")), diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  const Library& lib = library(*registry, "good");
  EXPECT_EQ(lib.state, Library::State::loaded);
  EXPECT_EQ(lib.plugin_name, "good");
  EXPECT_EQ(lib.version, "2.3.4");
  EXPECT_EQ(lib.abi_version, ASP_ABI_VERSION);
  EXPECT_EQ(lib.components.size(), 5u);
  EXPECT_TRUE(registry->find(ASP_COMPONENT_FRONTEND, "echo"));
  EXPECT_TRUE(registry->find(ASP_COMPONENT_OPTIMIZER, "upper"));
  EXPECT_TRUE(registry->find(ASP_COMPONENT_LOWERING, "lower"));
  EXPECT_TRUE(registry->find(ASP_COMPONENT_BACKEND, "testbackend"));
  EXPECT_FALSE(registry->find(ASP_COMPONENT_FRONTEND, "testbackend"));  // names are per kind
}

TEST(Registry, APluginWrittenInPlainCLoads) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "backends:\n" + plugin_entry("cbackend", test_plugin("c_plugin")), diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_TRUE(backend(*registry, "cbackend").available);
  EXPECT_EQ(backend(*registry, "cbackend").reason, "written in C");
}

// ABI 1.2 and 1.3 only append (R3/R4): plugins built against 1.0 and 1.1 load unchanged next to current ones.
TEST(Registry, PluginsOfEveryEarlierMinorVersionLoadNextToCurrentOnes) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir,
                            "plugins:\n" + plugin_entry("good", test_plugin("good_plugin")) + "backends:\n" +
                                plugin_entry("abi10", test_plugin("abi_1_0")) + plugin_entry("abi11", test_plugin("abi_1_1")),
                            diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(library(*registry, "good").abi_version, ASP_ABI_VERSION);
  EXPECT_EQ(ASP_ABI_VERSION, ASP_MAKE_ABI_VERSION(1, 5));
  EXPECT_EQ(library(*registry, "abi10").abi_version, ASP_MAKE_ABI_VERSION(1, 0));
  EXPECT_EQ(library(*registry, "abi11").abi_version, ASP_MAKE_ABI_VERSION(1, 1));
  EXPECT_TRUE(backend(*registry, "abi10").available);
  EXPECT_EQ(backend(*registry, "abi10").reason, "an ABI 1.0 backend");
  EXPECT_EQ(backend(*registry, "abi11").reason, "an ABI 1.1 backend");
  // A 1.0 table ends before the fields 1.1 appended: the core reads them as not provided.
  const asp::core::Component* optimizer = registry->find(ASP_COMPONENT_OPTIMIZER, "abi10.identity");
  ASSERT_TRUE(optimizer);
  EXPECT_FALSE(ASP_HAS_FIELD(static_cast<const asp_optimizer*>(optimizer->description->vtable), asp_optimizer, backend));
  EXPECT_FALSE(ASP_HAS_FIELD(backend(*registry, "abi10").vtable, asp_backend, launch));
  // Neither generates code, which the specializer reads from the table, not from a list of names.
  EXPECT_EQ(asp::core::KernelCompiler::cannot_build(backend(*registry, "abi10").vtable), "it generates no code");
  EXPECT_EQ(asp::core::KernelCompiler::cannot_build(backend(*registry, "abi11").vtable), "it generates no code");
}

TEST(Registry, AKernelSourceNeedsAPluginOfAbi12) {
  EXPECT_THAT(load_broken(test_plugin("abi_1_1_kernel_source")),
              HasSubstr("kernel source 'abi11ks.k' needs ABI 1.2, but the plugin speaks 1.1"));
}

TEST(Registry, MissingFile) {
  EXPECT_THAT(load_broken("/nonexistent/libnothing.so"), HasSubstr("plugins.broken: library not found: /nonexistent/libnothing.so"));
}

TEST(Registry, FileThatIsNotALibrary) {
  EXPECT_THAT(load_broken(test_plugin("not_a_library")), HasSubstr("plugins.broken: library does not load:"));
}

TEST(Registry, LibraryWithAnUnresolvedSymbol) {
  const std::string message = load_broken(test_plugin("unresolved"));
  EXPECT_THAT(message, HasSubstr("library does not load"));
  EXPECT_THAT(message, HasSubstr("asp_test_symbol_that_does_not_exist"));
}

TEST(Registry, LibraryWithoutTheEntrySymbol) {
  EXPECT_THAT(load_broken(test_plugin("no_entry")), HasSubstr("no entry symbol 'asp_plugin_entry'"));
}

// This core's ABI version as messages print it, e.g. "1.1".
std::string abi_text() {
  return std::to_string(ASP_ABI_VERSION_MAJOR) + "." + std::to_string(ASP_ABI_VERSION_MINOR);
}

TEST(Registry, PluginSpeakingAnotherMajorVersion) {
  EXPECT_THAT(load_broken(test_plugin("wrong_major")),
              HasSubstr("ABI version mismatch: the plugin speaks 2.0, this core speaks " + abi_text()));
}

TEST(Registry, PluginThatNeedsANewerHost) {
  EXPECT_THAT(load_broken(test_plugin("needs_newer_host")),
              HasSubstr("plugin refused to initialise: plugin needs ABI version 1.999 or later, the host offers " + abi_text()));
}

TEST(Registry, PluginWhoseInitReportsAnError) {
  EXPECT_THAT(load_broken(test_plugin("init_fails")),
              HasSubstr("plugin refused to initialise: cannot open the device list"));
}

TEST(Registry, PluginThatRefusesWithoutSayingWhy) {
  EXPECT_THAT(load_broken(test_plugin("refuses_silently")), HasSubstr("without a message"));
}

TEST(Registry, PluginWithAMalformedDescription) {
  EXPECT_THAT(load_broken(test_plugin("malformed_info")), HasSubstr("component 'strange' has unknown kind 77"));
}

TEST(Registry, TwoComponentsWithTheSameName) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "plugins:\n" + plugin_entry("good", test_plugin("good_plugin")) +
                                     plugin_entry("dup", test_plugin("duplicate")), diagnostics);
  EXPECT_THAT(only_message(diagnostics), HasSubstr("plugins.dup: backend 'testbackend' is already provided by " +
                                                   test_plugin("good_plugin") + "; this one is ignored"));
  const auto* first = registry->find(ASP_COMPONENT_BACKEND, "testbackend");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->library->name, "good");
  EXPECT_TRUE(registry->find(ASP_COMPONENT_BACKEND, "uniquetwin"));  // the rest of that plugin is kept
}

TEST(Registry, EveryFailureAtOnceStillLoadsTheGoodPlugins) {
  const std::vector<std::string> broken = {"not_a_library", "unresolved",       "no_entry",       "wrong_major",
                                           "needs_newer_host", "init_fails",    "refuses_silently", "malformed_info"};
  std::string text = "plugins:\n" + plugin_entry("good", test_plugin("good_plugin"));
  for (const std::string& name : broken) text += plugin_entry(name, test_plugin(name));
  text += plugin_entry("missing", "/nonexistent/lib.so") + plugin_entry("c", test_plugin("c_plugin"));
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, text, diagnostics);
  EXPECT_EQ(diagnostics.size(), broken.size() + 1);
  EXPECT_EQ(library(*registry, "good").state, Library::State::loaded);
  EXPECT_EQ(library(*registry, "c").state, Library::State::loaded);
  for (const std::string& name : broken) EXPECT_EQ(library(*registry, name).state, Library::State::failed) << name;
}

TEST(Registry, BackendEntryWhoseLibraryLacksThatBackend) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "backends:\n" + plugin_entry("nosuch", test_plugin("good_plugin")), diagnostics);
  EXPECT_THAT(only_message(diagnostics), HasSubstr("backends.nosuch: the library provides no backend named 'nosuch'"));
  EXPECT_FALSE(backend(*registry, "nosuch").available);
}

TEST(Registry, OneLibraryMayBackSeveralEntries) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "backends:\n" + plugin_entry("testbackend", test_plugin("good_plugin")) +
                                     plugin_entry("throwingprobe", test_plugin("good_plugin")), diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << only_message(diagnostics);
  EXPECT_EQ(registry->components().size(), 5u);
}

TEST(Registry, DisabledEntriesAreNotLoaded) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "plugins:\n  off:\n    path: /nonexistent.so\n    enabled: false\n", diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(library(*registry, "off").state, Library::State::disabled);
  EXPECT_THAT(library(*registry, "off").reason, HasSubstr("disabled in config (" + (dir.path() / "asp.yaml").string() + ":4:14)"));
}

TEST(Registry, EntryWithoutAPath) {
  TempDir dir;
  Diagnostics diagnostics;
  load_text(dir, "backends:\n  nopath:\n    priority: 3\n", diagnostics);
  EXPECT_EQ(only_message(diagnostics),
            (dir.path() / "asp.yaml").string() + ":2:3: error: backends.nopath: no path given: set backends.nopath.path");
}

TEST(Registry, RelativePathsResolveAgainstTheirConfigFile) {
  TempDir dir;
  std::filesystem::create_directory_symlink(ASP_TEST_PLUGIN_DIR, dir.path() / "plugins");
  Diagnostics diagnostics;
  auto registry = load_text(dir, "plugins:\n" + plugin_entry("good", "plugins/libasp_test_good_plugin.so"), diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << only_message(diagnostics);
  EXPECT_EQ(library(*registry, "good").path, dir.path() / "plugins/libasp_test_good_plugin.so");
}

TEST(Registry, BareFileNamesResolveInThePluginDirectory) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "backends:\n" + plugin_entry("openmp", "libasp_backend_openmp.so"), diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << only_message(diagnostics);
  EXPECT_EQ(library(*registry, "openmp").path, asp::core::plugin_dir() / "libasp_backend_openmp.so");
  EXPECT_EQ(library(*registry, "openmp").state, Library::State::loaded);
}

TEST(Registry, ProbesReceiveTheirConfigurationAndFailuresAreReasons) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir,
                            "backends:\n"
                            "  testbackend:\n    path: " + test_plugin("good_plugin") +
                                "\n    compiler: mycc\n    flags: [-O2, -g]\n    jit: orc\n"
                                "  throwingprobe:\n    path: " + test_plugin("good_plugin") + "\n",
                            diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_TRUE(backend(*registry, "testbackend").available);
  EXPECT_EQ(backend(*registry, "testbackend").reason, "compiler mycc -O2 -g jit orc");
  EXPECT_FALSE(backend(*registry, "throwingprobe").available);
  EXPECT_EQ(backend(*registry, "throwingprobe").reason, "probe failed: internal error: probe exploded");
}

std::string two_backends(int first_priority, int second_priority) {
  return "backends:\n"
         "  testbackend:\n    path: " + test_plugin("good_plugin") + "\n    compiler: cc\n    priority: " +
         std::to_string(first_priority) + "\n  cbackend:\n    path: " + test_plugin("c_plugin") +
         "\n    priority: " + std::to_string(second_priority) + "\n  throwingprobe:\n    path: " +
         test_plugin("good_plugin") + "\n    priority: 1000\n";
}

TEST(Registry, SelectionFollowsPriorityAmongAvailableBackends) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, two_backends(10, 20), diagnostics);
  auto selection = registry->select();
  EXPECT_TRUE(selection.problem.empty());
  ASSERT_EQ(selection.order.size(), 2u);  // throwingprobe is unavailable despite its priority
  EXPECT_EQ(selection.order[0]->name, "cbackend");
  EXPECT_EQ(selection.order[1]->name, "testbackend");
  auto reversed = load_text(dir, two_backends(30, 20), diagnostics);
  EXPECT_EQ(reversed->select().order[0]->name, "testbackend");
}

TEST(Registry, TheBackendSettingForcesOne) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, two_backends(10, 20), diagnostics, {{"ASP_BACKEND", "testbackend"}});
  auto selection = registry->select();
  ASSERT_EQ(selection.order.size(), 1u);
  EXPECT_EQ(selection.order[0]->name, "testbackend");
  EXPECT_EQ(selection.forced_by, "environment variable ASP_BACKEND");
}

TEST(Registry, ForcingAnUnavailableOrUnknownBackendSaysWhy) {
  TempDir dir;
  Diagnostics diagnostics;
  auto unavailable = load_text(dir, two_backends(10, 20), diagnostics, {{"ASP_BACKEND", "throwingprobe"}});
  auto selection = unavailable->select();
  EXPECT_TRUE(selection.order.empty());
  EXPECT_EQ(selection.problem,
            "backend 'throwingprobe' (environment variable ASP_BACKEND) is unavailable: probe failed: internal "
            "error: probe exploded");
  auto unknown = load_text(dir, two_backends(10, 20), diagnostics, {{"ASP_BACKEND", "fortran"}});
  EXPECT_EQ(unknown->select().problem,
            "backend 'fortran' (environment variable ASP_BACKEND) is not configured; configured: testbackend, "
            "cbackend, throwingprobe");
}

TEST(Registry, ProbesOnlyWhatIsAskedFor) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, two_backends(10, 20), diagnostics);
  const BackendState* first = registry->backend("cbackend");
  ASSERT_TRUE(first);
  EXPECT_EQ(first, registry->backend("cbackend"));  // probed once, then remembered
  EXPECT_FALSE(registry->backend("fortran"));
  EXPECT_EQ(registry->backends().size(), 3u);
  EXPECT_EQ(registry->backends()[1], first);
}

TEST(Registry, NoBackendAtAll) {
  TempDir dir;
  Diagnostics diagnostics;
  auto registry = load_text(dir, "log: info\n", diagnostics);
  EXPECT_THAT(registry->select().problem, HasSubstr("no backend is available"));
}

TEST(Registry, TwoRegistriesInOneProcessShareTheLoadedLibrary) {
  TempDir dir;
  Diagnostics diagnostics;
  auto a = load_text(dir, "plugins:\n" + plugin_entry("good", test_plugin("good_plugin")), diagnostics);
  auto b = load_text(dir, "plugins:\n" + plugin_entry("good", test_plugin("good_plugin")), diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  EXPECT_EQ(a->find(ASP_COMPONENT_FRONTEND, "echo")->description, b->find(ASP_COMPONENT_FRONTEND, "echo")->description);
}

// The shipped backends load from the default configuration; their probes
// decide availability, each unavailable one with a reason.
TEST(Registry, TheShippedBackendsLoadAndExplainThemselves) {
  Diagnostics diagnostics;
  auto registry = Registry::load(asp::test::load_files({ASP_TEST_DEFAULT_CONFIG}, diagnostics), diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << only_message(diagnostics);
  for (const char* name : {"openmp", "pthreads", "cuda", "opencl"}) {
    const BackendState& b = backend(*registry, name);
    EXPECT_FALSE(b.reason.empty()) << name;
  }
}

}  // namespace
