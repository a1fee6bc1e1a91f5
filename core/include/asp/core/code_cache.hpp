// The on-disk code cache of DESIGN.md §6: content-addressed, atomic,
// checksummed, owner- and permission-checked. Loading a cached shared library
// is running code, so an entry that is not ours, is writable by others, or
// fails its checksum is never used: it is reported and rebuilt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace asp::core {

// The directory itself cannot be used safely (not ours, writable by others, not creatable).
class CacheError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A hex digest naming an entry: a hash over every part (ABI version, backend,
// compiler identity and version, flags, target CPU features, source), each
// part length-prefixed so that no two different part lists collide by concatenation.
std::string cache_key(const std::vector<std::string_view>& parts);

// Entry file format, `<dir>/<key>.bin` (version 1): the payload bytes, then a
// 44-byte trailer, integers little-endian:
//   offset  0  8 bytes  magic "ASPCACHE"
//   offset  8  4 bytes  format version (1)
//   offset 12 16 bytes  kind, ASCII, NUL-padded (a kind of exactly 16 bytes has no NUL)
//   offset 28  8 bytes  payload length (the file size minus 44)
//   offset 36  8 bytes  XXH3-64 (seed 0) of the payload
// The payload comes first so that a stored shared library is dlopen'ed straight
// from the entry file. Temporary files are `<dir>/.tmp-*`; any other file in the
// directory (the tuning database, for one) is not the cache's.
//
// Keys are 1 to 128 characters of [A-Za-z0-9_-] (cache_key() makes 32 hex
// digits); kinds are 1 to 16 bytes without NUL. Other values throw std::invalid_argument.
class CodeCache {
 public:
  struct Entry {
    std::string key;
    std::string kind;  // what was stored: "object", "shared-library", ...
    std::uint64_t size = 0;  // payload bytes
    std::filesystem::file_time_type modified;
    std::string problem;  // empty when the entry verifies; otherwise why it would be refused
  };

  // Opens the cache at `dir`, creating it with mode 0700. Throws CacheError if
  // the directory exists but is not owned by the current user or is writable by others.
  explicit CodeCache(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }

  // The verified payload of `key`, or std::nullopt on a miss. A truncated,
  // corrupt, foreign or other-writable entry is logged as a warning, removed
  // where we may, and reported as a miss (so the caller rebuilds it); the
  // reason is written to `problem` when given.
  std::optional<std::string> load(const std::string& key, std::string* problem = nullptr) const;

  // Like load(), but returns the path of the verified entry file for loaders
  // that need a file (dlopen). The file is the payload followed by a trailer,
  // which ELF loaders ignore.
  std::optional<std::filesystem::path> load_file(const std::string& key, std::string* problem = nullptr) const;

  // Stores atomically: writes a private temporary file in the cache directory,
  // flushes it, then renames it into place. Safe when several processes store
  // the same key at once (the last rename wins; every version is valid).
  // Throws CacheError when the entry cannot be written (disk full, ...).
  void store(const std::string& key, std::string_view payload, std::string_view kind) const;

  std::vector<Entry> list() const;
  // Removes every entry (and stray temporary files); returns how many entries were removed.
  std::size_t clear() const;

 private:
  std::filesystem::path path_of(const std::string& key) const;
  std::filesystem::path dir_;
};

}  // namespace asp::core
