#include "device_codegen.hpp"

#include <asp/plugin.hpp>
#include <asp/psir_verify.hpp>

#include <set>

namespace asp::backends {

std::string generate_device(const psir::Module& module, const Dialect& dialect) {
  if (!dialect.device()) throw Error(ASP_ERR_INTERNAL, "generate_device needs a device dialect");
  // A function of several launches becomes one kernel per launch (psir::device_launches).
  psir::Module kernels;
  std::set<std::string> names;
  for (const psir::Function& f : module.functions) {
    for (psir::Function& launch : psir::device_launches(f)) {
      if (!names.insert(launch.name).second) {
        throw Error(ASP_ERR_INVALID_ARGUMENT, "two kernels of the device source would be named asp_entry_" + launch.name);
      }
      kernels.functions.push_back(std::move(launch));
    }
  }
  const EmittedModule emitted = emit_module(kernels, dialect);
  std::string out = dialect.prelude() + status_helpers(dialect) + dialect.runtime(emitted.functions);
  if (!emitted.helpers.empty()) out += "\n" + emitted.helpers;
  return out + emitted.functions;
}

}  // namespace asp::backends
