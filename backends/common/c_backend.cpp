#include "c_backend.hpp"
#include "read_psir.hpp"


namespace asp::backends {

std::string generate_checked(std::string_view psir_text, const Dialect& dialect) {
  return generate_c(read_psir(psir_text), dialect);
}

}  // namespace asp::backends
