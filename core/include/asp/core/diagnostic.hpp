// A message for the user about their configuration, a plugin, or the platform.
#pragma once

#include <string>
#include <vector>

namespace asp::core {

// Where a setting or a problem comes from: a file position, an environment
// variable, or a built-in default.
struct Origin {
  std::string source;  // a file path, "environment variable ASP_X", or "built-in default"
  unsigned line = 0;   // 1-based; 0 when the source is not a file
  unsigned column = 0;
  bool is_file() const { return line != 0; }
  std::string str() const;  // "file:line:column" or the source as is
};

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  Origin where;  // empty source when there is no place to point at
  std::string message;
  std::string str() const;  // "file:line:column: error: message"
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& diagnostics);

}  // namespace asp::core
