// Provides a backend under a name the good plugin already uses.
#include <asp/plugin.hpp>

namespace {
struct Twin : asp::Backend {
  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override { return asp::Probe::yes("twin"); }
};
}  // namespace

ASP_PLUGIN("duplicate", "1.0", nullptr, asp::backend<Twin>("testbackend"), asp::backend<Twin>("uniquetwin"))
