// Placeholder until the device code generator lands (see device_codegen.hpp).
#include "device_codegen.hpp"

#include <asp/plugin.hpp>

namespace asp::backends {

std::string generate_device(const psir::Module&, DeviceDialect) {
  throw asp::Error(ASP_ERR_UNSUPPORTED, "device code generation is not built yet");
}

}  // namespace asp::backends
