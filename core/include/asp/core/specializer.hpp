// The specialization pipeline of DESIGN.md §2, steps 1-8: a domain's
// frontend turns the Tree of the user's function and the descriptions of its
// arguments into DSIR, the domain's optimizers rewrite it, its lowering turns
// it into PSIR, and the first backend (in the registry's order) that
// compiles it gives the kernel. The core knows no domain: everything
// domain-specific happens in the plugins the registry loaded.
#pragma once

#include "asp/core/binding.hpp"
#include "asp/core/errors.hpp"
#include "asp/core/kernel.hpp"

#include <memory>
#include <string>
#include <optional>
#include <vector>

namespace asp::core {

class Specializer {
 public:
  struct Result {
    std::shared_ptr<Kernel> kernel;  // the only kernel, or a program's first
    std::string backend;
    std::string dsir;  // the DSIR the lowering read (after the domain's optimizers)
    std::string psir;  // the PSIR the backend compiled
    Binding binding;   // how the arguments feed the kernel's (or the program's) parameters
    KernelCompiler::Stats stats;  // of the compile that succeeded: a code-cache hit, the times
    std::vector<std::shared_ptr<Kernel>> kernels{};  // a program's kernels, in the order of its declarations
    std::optional<psir::Module> program{};           // the program module, when the lowering wrote one
    // Whether the DSIR and PSIR came from the specialization cache (an
    // earlier specialization of the same Tree and arguments with the same
    // plugins, configuration, core and machine) instead of the frontend,
    // the domain's optimizers and its lowering.
    bool reused = false;

    // What calls it: the kernel, or the program's schedule over its kernels.
    std::unique_ptr<Callable> callable() const {
      return program ? std::make_unique<Callable>(kernels, *program, binding) : std::make_unique<Callable>(kernel, binding);
    }
  };

  // `cache` and `tuning` may be null (no disk cache; tuning only within the process).
  Specializer(Registry& registry, const CodeCache* cache, TuningDatabase* tuning);

  // Specializes `tree_text` (a Tree, see <asp/tree.hpp>) for `args` (their
  // data is not read). Throws Unsupported when the domain has no frontend,
  // the frontend cannot specialize a construct, no backend is available (the
  // reason says why) or no backend could build the kernel for another reason
  // than its compiler's, InvalidArgument when a
  // component rejects the arguments, CompileError when no backend compiled the
  // kernel and the last one failed in its compiler, std::runtime_error for
  // anything else (a failing component is named).
  Result specialize(const std::string& domain, const std::string& tree_text, const std::vector<asp_arg>& args);

  class Dump;  // ASP_DUMP's directory of one specialization

 private:
  Result specialize(const std::string& domain, const std::string& tree_text, const std::vector<asp_arg>& args,
                    Dump* dump);

 private:
  Registry& registry_;
  const CodeCache* cache_;
  const std::string front_identity_;  // what every specialization cache key starts with
  KernelCompiler compiler_;
};

}  // namespace asp::core
