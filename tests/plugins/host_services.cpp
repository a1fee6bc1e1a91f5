// A plugin that uses the host table's ABI 1.5 services through the C++
// helpers: its frontend runs the command the "tree" names and writes what it
// saw, so the tests compare that with the core's own view.
//   platform              the platform facts
//   store KEY\nBYTES      cache_store
//   load KEY              cache_load: "found <bytes>" or "missing"
//   jit\nSOURCE           compiles SOURCE, calls its int f(int) with 21
#include <asp/plugin.hpp>

#include <string>

namespace {

std::string platform_text(const asp_platform_info& p) {
  return "cores " + std::to_string(p.cores) + " threads " + std::to_string(p.threads) + " l1d " +
         std::to_string(p.l1d_size) + "/" + std::to_string(p.l1d_total) + " l2 " + std::to_string(p.l2_size) + "/" +
         std::to_string(p.l2_total) + " llc L" + std::to_string(p.llc_level) + " " + std::to_string(p.llc_size) + "/" +
         std::to_string(p.llc_total) + " line " + std::to_string(p.cache_line);
}

struct ServicesFrontend : asp::Frontend {
  std::string translate(asp::Call& call, std::string_view tree, std::span<const asp_arg>) override {
    const std::string text(tree);
    const std::size_t end = text.find('\n');
    const std::string command = text.substr(0, end);
    const std::string rest = end == std::string::npos ? "" : text.substr(end + 1);
    if (command == "platform") {
      const auto info = call.platform();
      if (!info) return "not provided";
      return platform_text(*info);
    }
    if (command.rfind("store ", 0) == 0) {
      call.cache_store(command.substr(6), rest);
      return "stored";
    }
    if (command.rfind("load ", 0) == 0) {
      const auto bytes = call.cache_load(command.substr(5));
      return bytes ? "found " + *bytes : "missing";
    }
    if (command == "jit") {
      const asp::JitModule module = call.jit_compile(rest, "twice");
      auto* f = module.function<int(int)>("f");
      if (f == nullptr) throw asp::Error(ASP_ERR_RUNTIME, "the compiled module has no f");
      return "f(21) = " + std::to_string(f(21)) + (module.symbol("absent") ? "" : ", no symbol 'absent'");
    }
    throw asp::Error(ASP_ERR_INVALID_ARGUMENT, "unknown command '" + command + "'");
  }
};

}  // namespace

ASP_PLUGIN("hostsvc", "1.0.0", "calls the host's platform, cache and JIT services",
           asp::frontend<ServicesFrontend>("hostsvc", "test"))
