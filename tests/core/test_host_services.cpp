// The host table's ABI 1.5 services, called by a plugin (tests/plugins/host_services.cpp)
// through the C++ helpers and directly through the C table: platform facts, code cache, JIT.
#include "asp/core/code_cache.hpp"
#include "asp/core/host_services.hpp"
#include "asp/core/platform.hpp"
#include "asp/core/registry.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hwloc.h>

#include <cstring>
#include <fstream>

using asp::core::CodeCache;
using asp::core::Diagnostics;
using asp::core::Library;
using asp::core::Registry;
using asp::test::TempDir;
using asp::test::test_plugin;
using testing::HasSubstr;

namespace {

// A registry with the services plugin next to plugins of ABI 1.0 and 1.1, and the services pointed at
// its configuration and a cache in a private directory (or none); reset when the test ends.
class HostServices : public testing::Test {
 protected:
  void SetUp() override {
    Diagnostics diagnostics;
    const auto file = dir_.write("asp.yaml", "plugins:\n  hostsvc:\n    path: " + test_plugin("host_services") +
                                                 "\nbackends:\n  abi10:\n    path: " + test_plugin("abi_1_0") +
                                                 "\n  abi11:\n    path: " + test_plugin("abi_1_1") +
                                                 "\n  sys:\n    jit: system\n    compiler: cc\n    flags: [-O1, -shared, -fPIC]\n");
    registry_ = Registry::load(asp::test::load_files({file}, diagnostics), diagnostics);
    // "sys" is there for its JIT settings only: its library is not found, which is its one diagnostic.
    for (const auto& d : diagnostics) EXPECT_THAT(d.str(), HasSubstr("sys")) << d.str();
    cache_ = std::make_unique<CodeCache>(dir_.path() / "cache");
    asp::core::set_host_services(&registry_->config(), cache_.get());
  }
  void TearDown() override { asp::core::set_host_services(nullptr, nullptr); }

  // What the plugin's frontend answers to `command`, called as the core calls it for `who`; throws with its error.
  std::string run(const std::string& command, const std::string& who = "plugins.hostsvc") const {
    const asp::core::Component* c = registry_->find(ASP_COMPONENT_FRONTEND, "hostsvc");
    if (!c) throw std::runtime_error("the services plugin did not load");
    const auto* f = static_cast<const asp_frontend*>(c->description->vtable);
    std::string text;
    const asp_text_sink sink{sizeof(asp_text_sink), &text, [](void* t, const char* data, size_t n) {
                               static_cast<std::string*>(t)->append(data, n);
                             }};
    auto error = asp::core::call_plugin(
        who, [&](asp_host_context* ctx) { return f->translate(f->self, ctx, command.c_str(), nullptr, 0, &sink); });
    if (error) throw std::runtime_error("status " + std::to_string(error->status) + ": " + error->message);
    return text;
  }

  TempDir dir_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<CodeCache> cache_;
};

TEST_F(HostServices, LoadNextToPluginsOfAbi10And11) {
  for (const auto& lib : registry_->libraries()) {
    if (lib->name == "sys") continue;
    EXPECT_EQ(lib->state, Library::State::loaded) << lib->name << ": " << lib->reason;
  }
  EXPECT_EQ(asp::core::host_table()->abi_version, ASP_MAKE_ABI_VERSION(1, 5));
  EXPECT_TRUE(ASP_HAS_FIELD(asp::core::host_table(), asp_host, jit_release));
  EXPECT_EQ(run("platform").substr(0, 6), "cores ");
}

TEST_F(HostServices, PlatformFactsAreTheCoresProbe) {
  const asp::core::Platform& p = asp::core::platform();
  ASSERT_TRUE(p.error.empty()) << p.error;
  const asp::core::CacheLevel* l1 = nullptr;
  const asp::core::CacheLevel* l2 = nullptr;
  const asp::core::CacheLevel* last = nullptr;
  for (const auto& c : p.caches) {
    if (c.kind == "instruction") continue;
    if (c.depth == 1) l1 = &c;
    if (c.depth == 2) l2 = &c;
    if (!last || c.depth >= last->depth) last = &c;
  }
  ASSERT_TRUE(l1 && l2 && last);
  const std::string expected =
      "cores " + std::to_string(p.cores) + " threads " + std::to_string(p.pus) + " l1d " + std::to_string(l1->size) +
      "/" + std::to_string(l1->total) + " l2 " + std::to_string(l2->size) + "/" + std::to_string(l2->total) + " llc L" +
      std::to_string(last->depth) + " " + std::to_string(last->size) + "/" + std::to_string(last->total) + " line " +
      std::to_string(l1->line_size);
  EXPECT_EQ(run("platform"), expected);
  EXPECT_GE(last->total, last->size);  // all instances together
}

// The stencil plugin used to probe hwloc itself; the host's number must be the one it found.
TEST_F(HostServices, LastLevelCacheIsWhatTheStencilPluginProbedItself) {
  hwloc_topology_t topology = nullptr;
  ASSERT_EQ(hwloc_topology_init(&topology), 0);
  ASSERT_EQ(hwloc_topology_load(topology), 0);
  std::uint64_t total = 0;
  for (hwloc_obj_type_t type : {HWLOC_OBJ_L5CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L1CACHE}) {
    for (hwloc_obj_t c = hwloc_get_next_obj_by_type(topology, type, nullptr); c; c = hwloc_get_next_obj_by_type(topology, type, c)) {
      total += c->attr->cache.size;
    }
    if (total > 0) break;
  }
  hwloc_topology_destroy(topology);
  asp_platform_info info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(asp::core::host_table()->platform(nullptr, &info), ASP_OK);
  EXPECT_GT(total, 0u);
  EXPECT_EQ(info.llc_total, total);
}

// R4: a plugin built against a shorter asp_platform_info gets only what it has room for.
TEST_F(HostServices, AShorterPlatformInfoIsFilledOnlyAsFarAsItReaches) {
  asp_platform_info info;
  std::memset(&info, 0xAB, sizeof info);
  info.struct_size = offsetof(asp_platform_info, memory);
  ASSERT_EQ(asp::core::host_table()->platform(nullptr, &info), ASP_OK);
  EXPECT_EQ(info.struct_size, offsetof(asp_platform_info, memory));
  EXPECT_EQ(info.threads, asp::core::platform().pus);
  EXPECT_FALSE(ASP_HAS_FIELD(&info, asp_platform_info, memory));
  EXPECT_EQ(info.memory, 0xABABABABABABABABull);  // beyond its struct_size: untouched
}

TEST_F(HostServices, CacheStoreThenLoadRoundTripsAndAMissingKeyIsAMiss) {
  // Bytes, not text (the command crosses as a C string, so the test's bytes hold no NUL).
  const std::string bytes = "binary\x01\xff\x7f data\n";
  EXPECT_EQ(run("store table\n" + bytes), "stored");
  EXPECT_EQ(run("load table"), "found " + bytes);
  EXPECT_EQ(run("load other"), "missing");
  // Another plugin asks for the same key in its own namespace.
  EXPECT_EQ(run("load table", "plugins.other"), "missing");
  const auto entries = cache_->list();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].kind, "plugin data");
  EXPECT_EQ(entries[0].problem, "");
  // A second store replaces the entry atomically.
  EXPECT_EQ(run("store table\nnew"), "stored");
  EXPECT_EQ(run("load table"), "found new");
}

TEST_F(HostServices, ACorruptEntryIsAMissNeverLoaded) {
  EXPECT_EQ(run("store table\nsome bytes"), "stored");
  const auto entries = cache_->list();
  ASSERT_EQ(entries.size(), 1u);
  {
    std::fstream file(cache_->dir() / (entries[0].key + ".bin"), std::ios::in | std::ios::out | std::ios::binary);
    file.put('X');  // the payload no longer matches its checksum
  }
  EXPECT_EQ(run("load table"), "missing");
}

TEST_F(HostServices, WithoutACacheLoadsMissAndStoresKeepNothing) {
  asp::core::set_host_services(&registry_->config(), nullptr);
  EXPECT_EQ(run("store table\nbytes"), "stored");
  EXPECT_EQ(run("load table"), "missing");
  EXPECT_TRUE(cache_->list().empty());
}

TEST_F(HostServices, BadArgumentsAreReportedNotCrashed) {
  const asp_host* host = asp::core::host_table();
  int found = 1;
  EXPECT_EQ(host->cache_load(nullptr, "k", nullptr, &found), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(found, 0);
  EXPECT_EQ(host->cache_store(nullptr, "k", nullptr, 3), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(host->platform(nullptr, nullptr), ASP_ERR_INVALID_ARGUMENT);
  asp_jit_module* module = nullptr;
  EXPECT_EQ(host->jit_compile(nullptr, nullptr, &module), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(host->jit_symbol(nullptr, "f"), nullptr);
  host->jit_release(nullptr);
  EXPECT_THAT([&] { return run("store \nx"); }, testing::Throws<std::runtime_error>());
}

TEST_F(HostServices, JitCompilesAFunctionAndTheCacheKeepsIt) {
  EXPECT_EQ(run("jit\nint f(int x) { return 2 * x; }\n"), "f(21) = 42, no symbol 'absent'");
  const auto entries = cache_->list();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].kind, "object");  // ORC's artifact
  EXPECT_EQ(run("jit\nint f(int x) { return 2 * x; }\n"), "f(21) = 42, no symbol 'absent'");
  EXPECT_EQ(cache_->list().size(), 1u);  // loaded, not compiled again
}

TEST_F(HostServices, ACompileErrorCarriesTheCompilersMessage) {
  try {
    run("jit\nint f(int x) { return 2 * y; }\n");
    FAIL() << "compiled";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("status " + std::to_string(ASP_ERR_COMPILE)));
    EXPECT_THAT(e.what(), HasSubstr("error:"));
    EXPECT_THAT(e.what(), HasSubstr("'y'"));
  }
}

// Directly through the C table: the system driver a backend's configuration names, and one it does not name.
TEST_F(HostServices, JitUsesTheDriverConfiguredForTheBackendNamed) {
  const asp_host* host = asp::core::host_table();
  const std::string source = "int f(int x) { return 2 * x; }\n";
  asp_jit_request request{sizeof(asp_jit_request), source.c_str(), "twice", 0, "sys"};
  asp_jit_module* module = nullptr;
  ASSERT_EQ(host->jit_compile(nullptr, &request, &module), ASP_OK);
  auto* f = reinterpret_cast<int (*)(int)>(host->jit_symbol(module, "f"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f(-4), -8);
  host->jit_release(module);
  bool shared_library = false;
  for (const auto& entry : cache_->list()) shared_library = shared_library || entry.kind == "shared-library";
  EXPECT_TRUE(shared_library);

  request.backend = "nosuch";
  module = reinterpret_cast<asp_jit_module*>(&request);
  EXPECT_EQ(host->jit_compile(nullptr, &request, &module), ASP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(module, nullptr);
}

}  // namespace
