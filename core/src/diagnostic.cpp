#include "asp/core/diagnostic.hpp"

#include <algorithm>

namespace asp::core {

std::string Origin::str() const {
  if (!is_file()) return source;
  return source + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string Diagnostic::str() const {
  std::string text = where.source.empty() ? std::string() : where.str() + ": ";
  text += severity == Severity::error ? "error: " : "warning: ";
  return text + message;
}

bool has_errors(const Diagnostics& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
}

}  // namespace asp::core
