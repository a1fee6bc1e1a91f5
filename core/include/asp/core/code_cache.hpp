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
  void store(const std::string& key, std::string_view payload, std::string_view kind) const;

  std::vector<Entry> list() const;
  // Removes every entry (and stray temporary files); returns how many entries were removed.
  std::size_t clear() const;

 private:
  std::filesystem::path path_of(const std::string& key) const;
  std::filesystem::path dir_;
};

}  // namespace asp::core
