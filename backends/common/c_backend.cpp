#include "c_backend.hpp"
#include "read_psir.hpp"


namespace asp::backends {

std::string generate_checked(std::string_view psir_text, ParallelStrategy strategy) {
  return generate_c(read_psir(psir_text), strategy);
}

}  // namespace asp::backends
