// A component whose constructor throws: an init failure the host must report.
#include <asp/plugin.hpp>

namespace {
struct Unconstructible : asp::Backend {
  Unconstructible() { throw asp::Error(ASP_ERR_INIT, "cannot open the device list"); }
  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override { return asp::Probe::yes(""); }
};
}  // namespace

ASP_PLUGIN("initfails", "1.0", nullptr, asp::backend<Unconstructible>("initfails"))
