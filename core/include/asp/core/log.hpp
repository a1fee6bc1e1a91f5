// The core's log: one line per message on standard error, filtered by level
// (setting `log`, environment variable ASP_LOG).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace asp::core {

enum class LogLevel { debug = 0, info = 1, warning = 2, error = 3, off = 4 };

std::optional<LogLevel> parse_log_level(std::string_view name);
const char* log_level_name(LogLevel level);

void set_log_level(LogLevel level);
LogLevel log_level();

// Writes "asp: <level>: [<who>] <message>" when `level` passes the filter.
void log(LogLevel level, std::string_view who, std::string_view message);

}  // namespace asp::core
