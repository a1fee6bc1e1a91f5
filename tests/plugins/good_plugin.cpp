// A well-behaved plugin with one component of each kind, used to test the
// registry and the C++ helpers' translation of exceptions into statuses.
#include <asp/plugin.hpp>

#include <algorithm>
#include <cctype>

namespace {

// Echoes the tree into a DSIR text; rejects a "while" the way a real frontend would.
struct EchoFrontend : asp::Frontend {
  std::string translate(asp::Call& call, std::string_view tree, std::span<const asp_arg> args) override {
    call.log(ASP_LOG_INFO, "translating");
    if (tree.find("while") != std::string_view::npos) {
      throw asp::Error(ASP_ERR_UNSUPPORTED, "a while loop cannot be specialized", asp::Location{"kernel.py", 7, 5});
    }
    if (tree.find("crash") != std::string_view::npos) throw std::logic_error("invariant broken");
    std::string dsir = asp::ir::header_line(1, "dsir.test");
    for (const asp_arg& arg : args) dsir += std::string(arg.name) + " ndim=" + std::to_string(arg.tensor.ndim) + "\n";
    return dsir + std::string(tree);
  }
};

struct UpperOptimizer : asp::Optimizer {
  std::string run(asp::Call&, std::string_view ir) override {
    auto header = asp::ir::parse_header(ir);
    if (!header || header->dialect != "dsir.test") throw asp::Error(ASP_ERR_VERSION, "expected dsir.test");
    std::string body(header->body);
    std::transform(body.begin(), body.end(), body.begin(), [](unsigned char c) { return std::toupper(c); });
    return asp::ir::header_line(1, "dsir.test") + body;
  }
};

struct TestLowering : asp::Lowering {
  std::string lower(asp::Call&, std::string_view dsir) override {
    return asp::ir::header_line(1, "psir") + std::string(asp::ir::parse_header(dsir)->body);
  }
};

// Available exactly when the configuration names a compiler, which it echoes.
struct TestBackend : asp::Backend {
  asp::Probe probe(asp::Call&, const asp::BackendConfig& config) override {
    if (!config.compiler) return asp::Probe::no("no compiler configured");
    std::string flags;
    for (const std::string& f : config.flags.value_or(std::vector<std::string>{})) flags += " " + f;
    return asp::Probe::yes("compiler " + *config.compiler + flags + " jit " + config.jit.value_or("unset"));
  }
};

struct ThrowingProbe : asp::Backend {
  asp::Probe probe(asp::Call&, const asp::BackendConfig&) override { throw std::runtime_error("probe exploded"); }
};

}  // namespace

ASP_PLUGIN("good", "2.3.4", "test plugin", asp::frontend<EchoFrontend>("echo", "test"),
           asp::optimizer<UpperOptimizer>("upper", "test", "dsir.test"),
           asp::lowering<TestLowering>("lower", "test", "dsir.test"), asp::backend<TestBackend>("testbackend"),
           asp::backend<ThrowingProbe>("throwingprobe"))
