// The C++ helpers of <asp/plugin.hpp>, exercised through the C ABI the way the
// core calls them: exceptions become statuses with messages and locations.
#include "asp/core/registry.hpp"

#include <asp/ir_text.hpp>
#include <asp/plugin.hpp>

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using asp::core::call_plugin;
using asp::core::Diagnostics;
using asp::core::Registry;
using testing::HasSubstr;

namespace {

class Components : public testing::Test {
 protected:
  void SetUp() override {
    Diagnostics diagnostics;
    auto file = dir_.write("asp.yaml", "plugins:\n  good:\n    path: " + asp::test::test_plugin("good_plugin") + "\n");
    registry_ = Registry::load(asp::test::load_files({file}, diagnostics), diagnostics);
    ASSERT_TRUE(diagnostics.empty());
  }

  template <class T>
  const T* vtable(asp_component_kind kind, const std::string& name) {
    const auto* c = registry_->find(kind, name);
    return c ? static_cast<const T*>(c->description->vtable) : nullptr;
  }

  static asp_text_sink sink_into(std::string& out) {
    return {sizeof(asp_text_sink), &out,
            [](void* context, const char* data, size_t n) { static_cast<std::string*>(context)->append(data, n); }};
  }

  std::optional<asp::core::PluginError> translate(const std::string& tree, std::string& out) {
    const auto* frontend = vtable<asp_frontend>(ASP_COMPONENT_FRONTEND, "echo");
    int64_t shape[2] = {4, 5};
    asp_arg arg{};
    arg.struct_size = sizeof arg;
    arg.name = "grid";
    arg.kind = ASP_ARG_TENSOR;
    arg.tensor.ndim = 2;
    arg.tensor.shape = shape;
    arg.tensor.dtype = {kDLFloat, 64, 1};
    const asp_text_sink sink = sink_into(out);
    return call_plugin("test", [&](asp_host_context* ctx) {
      return frontend->translate(frontend->self, ctx, tree.c_str(), &arg, 1, &sink);
    });
  }

  asp::test::TempDir dir_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(Components, FrontendOutputReachesTheSink) {
  std::string out;
  EXPECT_FALSE(translate("for x in grid", out));
  EXPECT_EQ(out, "asp-ir 1 dsir.test\ngrid ndim=2\nfor x in grid");
}

TEST_F(Components, UnsupportedConstructCarriesItsSourceLocation) {
  std::string out;
  auto error = translate("while True", out);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, ASP_ERR_UNSUPPORTED);
  EXPECT_EQ(error->message, "a while loop cannot be specialized");
  ASSERT_TRUE(error->where);
  EXPECT_EQ(error->where->str(), "kernel.py:7:5");
}

TEST_F(Components, AStrayExceptionBecomesAnInternalError) {
  std::string out;
  auto error = translate("crash", out);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, ASP_ERR_INTERNAL);
  EXPECT_EQ(error->message, "internal error: invariant broken");
  EXPECT_FALSE(error->where);
}

TEST_F(Components, OptimizerAndLoweringChainThroughText) {
  const auto* optimizer = vtable<asp_optimizer>(ASP_COMPONENT_OPTIMIZER, "upper");
  const auto* lowering = vtable<asp_lowering>(ASP_COMPONENT_LOWERING, "lower");
  ASSERT_TRUE(optimizer && lowering);
  EXPECT_STREQ(optimizer->reads, "dsir.test");
  std::string optimized, lowered;
  const asp_text_sink to_optimized = sink_into(optimized), to_lowered = sink_into(lowered);
  EXPECT_FALSE(call_plugin("t", [&](asp_host_context* ctx) {
    return optimizer->run(optimizer->self, ctx, "asp-ir 1 dsir.test\nabc", &to_optimized);
  }));
  EXPECT_FALSE(call_plugin("t", [&](asp_host_context* ctx) {
    return lowering->lower(lowering->self, ctx, optimized.c_str(), &to_lowered);
  }));
  EXPECT_EQ(lowered, "asp-ir 1 psir\nABC");
  auto wrong = call_plugin("t", [&](asp_host_context* ctx) {
    return optimizer->run(optimizer->self, ctx, "asp-ir 1 psir\nabc", &to_optimized);
  });
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, ASP_ERR_VERSION);
}

TEST_F(Components, AMissingSinkIsAnInvalidArgumentNotACrash) {
  const auto* frontend = vtable<asp_frontend>(ASP_COMPONENT_FRONTEND, "echo");
  auto error = call_plugin("t", [&](asp_host_context* ctx) {
    return frontend->translate(frontend->self, ctx, "x", nullptr, 0, nullptr);
  });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, ASP_ERR_INVALID_ARGUMENT);
}

// Negotiation from the plugin's side, with a host that records what it is told.
struct RecordingHost {
  static inline std::string last_error;
  static void set_error(asp_host_context*, asp_status, const char* message, const asp_source_location*) {
    last_error = message;
  }
};

TEST(Negotiation, PluginAnswersTheLowerOfBothVersions) {
  asp_host host{};
  host.struct_size = sizeof host;
  host.core_version = "test";
  host.set_error = &RecordingHost::set_error;
  asp::detail::host_table() = &host;
  uint32_t version = ASP_MAKE_ABI_VERSION(1, 7);  // a newer host of the same major
  EXPECT_TRUE(asp::detail::negotiate(nullptr, &version, 0));
  EXPECT_EQ(version, ASP_ABI_VERSION);
  version = ASP_MAKE_ABI_VERSION(0, 9);
  EXPECT_FALSE(asp::detail::negotiate(nullptr, &version, 0));
  EXPECT_THAT(RecordingHost::last_error, HasSubstr("plugin speaks ABI major version 1, the host offers 0"));
  version = ASP_MAKE_ABI_VERSION(1, 0);
  EXPECT_FALSE(asp::detail::negotiate(nullptr, &version, 3));
  EXPECT_THAT(RecordingHost::last_error, HasSubstr("needs ABI version 1.3 or later"));
  asp::detail::host_table() = nullptr;
}

// A host of ABI 1.4 ends its table before the services: the helpers say "not provided", they never call past it.
TEST(HostServiceHelpers, AnOlderHostDoesNotProvideTheServices) {
  asp_host host{};
  host.struct_size = offsetof(asp_host, platform);
  host.abi_version = ASP_MAKE_ABI_VERSION(1, 4);
  const asp::Call call(&host, nullptr);
  EXPECT_FALSE(call.platform());
  try {
    call.cache_load("key");
    FAIL() << "no error";
  } catch (const asp::Error& e) {
    EXPECT_EQ(e.status(), ASP_ERR_UNSUPPORTED);
    EXPECT_THAT(e.what(), HasSubstr("the host does not offer a code cache (it needs ABI 1.5)"));
  }
  EXPECT_THROW(call.cache_store("key", "bytes"), asp::Error);
  EXPECT_THROW(call.jit_compile("int f(void) { return 0; }"), asp::Error);
}

TEST(IrText, HeaderRoundTrips) {
  const std::string text = asp::ir::header_line(1, "dsir.stencil") + "body line\nmore";
  auto header = asp::ir::parse_header(text);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->version, 1u);
  EXPECT_EQ(header->dialect, "dsir.stencil");
  EXPECT_EQ(header->body, "body line\nmore");
}

TEST(IrText, MalformedHeadersAreRejected) {
  for (const char* bad : {"", "asp-ir", "asp-ir x psir\n", "asp-ir 1\n", "asp-ir 1 \n", "asp-ir 1 two words\n",
                          "ir 1 psir\n", "asp-ir -1 psir\n"}) {
    EXPECT_FALSE(asp::ir::parse_header(bad)) << bad;
  }
  auto no_body = asp::ir::parse_header("asp-ir 2 psir");
  ASSERT_TRUE(no_body);
  EXPECT_TRUE(no_body->body.empty());
}

}  // namespace
