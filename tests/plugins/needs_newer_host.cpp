// Requires a host minor version far beyond this one: the plugin side of the
// negotiation must refuse, with a message, through the C++ helpers.
#define ASP_PLUGIN_MIN_ABI_MINOR 999
#include <asp/plugin.hpp>

namespace {
struct Unused : asp::Backend {
  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override { return asp::Probe::yes(""); }
};
}  // namespace

ASP_PLUGIN("needsnewer", "1.0", nullptr, asp::backend<Unused>("needsnewer"))
