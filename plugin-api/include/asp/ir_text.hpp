// asp/ir_text.hpp — the versioned text envelope every IR crosses the ABI in (rule R9).
//
// The first line of an IR text is "asp-ir <version> <dialect>", e.g.
// "asp-ir 1 psir" or "asp-ir 1 dsir.stencil"; the body follows on the next line.
#pragma once

#include <asp/plugin.h>

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace asp::ir {

struct Header {
  unsigned version = 0;
  std::string dialect;
  std::string_view body;  // the text after the header line (a view into the input)
};

inline std::string header_line(unsigned version, std::string_view dialect) {
  return "asp-ir " + std::to_string(version) + " " + std::string(dialect) + "\n";
}

// Parses the header line; std::nullopt when the text does not start with one.
inline std::optional<Header> parse_header(std::string_view text) {
  constexpr std::string_view magic = "asp-ir ";
  if (text.substr(0, magic.size()) != magic) return std::nullopt;
  const auto eol = text.find('\n');
  std::string_view line = text.substr(magic.size(), eol == std::string_view::npos ? std::string_view::npos
                                                                                   : eol - magic.size());
  Header header;
  const auto [rest, ec] = std::from_chars(line.data(), line.data() + line.size(), header.version);
  if (ec != std::errc() || rest == line.data() + line.size() || *rest != ' ') return std::nullopt;
  header.dialect.assign(rest + 1, line.data() + line.size());
  if (header.dialect.empty() || header.dialect.find(' ') != std::string::npos) return std::nullopt;
  header.body = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
  return header;
}

}  // namespace asp::ir
