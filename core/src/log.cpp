#include "asp/core/log.hpp"

#include <atomic>
#include <cstdio>
#include <string>

namespace asp::core {
namespace {
std::atomic<LogLevel> threshold{LogLevel::warning};
constexpr const char* names[] = {"debug", "info", "warning", "error", "off"};
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(LogLevel::off); ++i) {
    if (name == names[i]) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

const char* log_level_name(LogLevel level) { return names[static_cast<int>(level)]; }

void set_log_level(LogLevel level) { threshold.store(level, std::memory_order_relaxed); }
LogLevel log_level() { return threshold.load(std::memory_order_relaxed); }

void log(LogLevel level, std::string_view who, std::string_view message) {
  if (level < log_level() || level == LogLevel::off) return;
  std::string line = "asp: ";
  line += log_level_name(level);
  line += ": ";
  if (!who.empty()) {
    line += "[";
    line += who;
    line += "] ";
  }
  line += message;
  line += '\n';
  // One fwrite per line keeps lines from concurrent threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace asp::core
