#include "c_codegen.hpp"

#include <asp/plugin.h>

namespace asp::backends {

std::string c_entry_symbol(const std::string& function) { return ASP_C_ENTRY_PREFIX + function; }

std::string generate_c(const psir::Module& module, const Dialect& dialect) {
  const EmittedModule emitted = emit_module(module, dialect);
  std::string out = dialect.prelude() + status_helpers(dialect) + dialect.runtime(emitted.functions);
  if (!emitted.helpers.empty()) out += "\n" + emitted.helpers;
  return out + emitted.functions;
}

}  // namespace asp::backends
