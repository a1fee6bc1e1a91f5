#include "c_backend.hpp"

#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

namespace asp::backends {

std::string generate_checked(std::string_view psir_text, ParallelStrategy strategy) {
  psir::Module module;
  try {
    module = psir::parse(psir_text);
    psir::verify(module);
  } catch (const psir::ParseError& e) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, std::string("malformed PSIR: ") + e.what());
  } catch (const psir::VerifyError& e) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, std::string("invalid PSIR: ") + e.what());
  }
  return generate_c(module, strategy);
}

}  // namespace asp::backends
