// How every backend and backend optimizer reads the PSIR text it is handed:
// parsed and verified, with IR problems reported as asp::Error (invalid argument).
#pragma once

#include <asp/plugin.hpp>
#include <asp/psir_text.hpp>
#include <asp/psir_verify.hpp>

#include <string>
#include <string_view>

namespace asp::backends {

inline psir::Module read_psir(std::string_view text) {
  try {
    psir::Module module = psir::parse(text);
    psir::verify(module);
    return module;
  } catch (const psir::ParseError& e) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, std::string("malformed PSIR: ") + e.what());
  } catch (const psir::VerifyError& e) {
    throw Error(ASP_ERR_INVALID_ARGUMENT, std::string("invalid PSIR: ") + e.what());
  }
}

}  // namespace asp::backends
