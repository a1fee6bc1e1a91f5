#include "asp/core/code_cache.hpp"

#include "asp/core/log.hpp"

#include <xxhash.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace asp::core {
namespace fs = std::filesystem;

namespace {

constexpr std::array<char, 8> magic = {'A', 'S', 'P', 'C', 'A', 'C', 'H', 'E'};
constexpr std::uint32_t format_version = 1;
constexpr std::size_t kind_size = 16;
constexpr std::size_t trailer_size = magic.size() + 4 + kind_size + 8 + 8;
constexpr std::size_t max_key_size = 128;
constexpr const char* entry_suffix = ".bin";
constexpr const char* temp_prefix = ".tmp-";

std::string errno_text(int error) { return std::generic_category().message(error); }

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_le(const char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return value;
}

std::string make_trailer(std::string_view payload, std::string_view kind) {
  std::string t(magic.data(), magic.size());
  put_le(t, format_version, 4);
  t.append(kind);
  t.append(kind_size - kind.size(), '\0');
  put_le(t, payload.size(), 8);
  put_le(t, XXH3_64bits(payload.data(), payload.size()), 8);
  return t;
}

void check_key(const std::string& key) {
  const bool ok = !key.empty() && key.size() <= max_key_size &&
                  std::all_of(key.begin(), key.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                           c == '-';
                  });
  if (!ok) throw std::invalid_argument("invalid code cache key '" + key + "': expected 1 to 128 of [A-Za-z0-9_-]");
}

void check_kind(std::string_view kind) {
  if (kind.empty() || kind.size() > kind_size || kind.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("invalid code cache entry kind '" + std::string(kind) +
                                "': expected 1 to 16 bytes without NUL");
  }
}

bool is_entry_name(const std::string& name) {
  const std::string suffix = entry_suffix;
  return name.size() > suffix.size() && name.front() != '.' && name.ends_with(suffix);
}

// What reading one entry file found. `problem` empty means it verified.
struct Inspection {
  bool missing = false;
  bool ours = false;  // whether we may remove it
  std::string payload;
  std::string kind;
  std::uint64_t size = 0;  // payload bytes when the trailer is readable, else the file size
  std::string problem;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error a deferred write would otherwise hide.
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool owned_by_us(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && st.st_uid == ::geteuid();
}

Inspection inspect(const fs::path& path) {
  Inspection r;
  // O_NOFOLLOW: an entry is a file we renamed into place, never a link to code elsewhere.
  // O_NONBLOCK: a FIFO planted under an entry's name must not hang us before fstat rejects it.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) {
      r.missing = true;
      return r;
    }
    r.ours = owned_by_us(path);
    r.problem = error == ELOOP ? "refused: a symbolic link, not a file the cache wrote"
                               : "cannot be opened: " + errno_text(error);
    return r;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    r.problem = "cannot be examined: " + errno_text(errno);
    return r;
  }
  const uid_t me = ::geteuid();
  r.ours = st.st_uid == me;
  r.size = static_cast<std::uint64_t>(st.st_size);
  if (!S_ISREG(st.st_mode)) {
    r.problem = "refused: not a regular file";
    return r;
  }
  if (!r.ours) {
    r.problem = "refused: owned by uid " + std::to_string(st.st_uid) + ", not by you (uid " + std::to_string(me) +
                "); loading it would run someone else's code";
    return r;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    r.problem = "refused: writable by group or others (mode " + octal_mode(st.st_mode) +
                "), so its code could have been replaced";
    return r;
  }
  if (r.size < trailer_size) {
    r.problem = "truncated: " + std::to_string(r.size) + " bytes, shorter than the " + std::to_string(trailer_size) +
                "-byte trailer";
    return r;
  }
  std::string data(r.size, '\0');
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.problem = "cannot be read: " + errno_text(errno);
      return r;
    }
    if (n == 0) {
      r.problem = "truncated while being read";
      return r;
    }
    done += static_cast<std::size_t>(n);
  }
  const char* t = data.data() + data.size() - trailer_size;
  if (!std::equal(magic.begin(), magic.end(), t)) {
    r.problem = "corrupt or truncated: no cache trailer at its end";
    return r;
  }
  const auto version = get_le(t + 8, 4);
  if (version != format_version) {
    r.problem = "written in cache format version " + std::to_string(version) + "; this Asp reads version " +
                std::to_string(format_version);
    return r;
  }
  std::string_view kind(t + 12, kind_size);
  r.kind = std::string(kind.substr(0, kind.find('\0')));
  const std::uint64_t length = get_le(t + 28, 8);
  const std::uint64_t payload_size = r.size - trailer_size;
  if (length != payload_size) {
    r.problem = "truncated or corrupt: the trailer records " + std::to_string(length) + " payload bytes, the file holds " +
                std::to_string(payload_size);
    return r;
  }
  r.size = payload_size;
  if (get_le(t + 36, 8) != XXH3_64bits(data.data(), payload_size)) {
    r.problem = "corrupt: the payload does not match its checksum";
    return r;
  }
  data.resize(payload_size);
  r.payload = std::move(data);
  return r;
}

// Loads `path` for use: a refused entry is logged and, where ours, removed so that it is rebuilt.
std::optional<std::string> use(const fs::path& path, std::string* problem) {
  Inspection r = inspect(path);
  if (problem) *problem = r.problem;
  if (r.missing) return std::nullopt;
  if (r.problem.empty()) return std::move(r.payload);
  std::string message = "cache entry " + path.string() + " " + r.problem;
  if (!r.ours) {
    message += "; not removed (not yours)";
  } else if (::unlink(path.c_str()) == 0 || errno == ENOENT) {
    // Another process may have just renamed a good version into place; removing it costs one rebuild, no more.
    message += "; removed, it will be rebuilt";
  } else {
    message += "; could not be removed: " + errno_text(errno);
  }
  log(LogLevel::warning, "cache", message);
  return std::nullopt;
}

// Calls `visit` with every file name in `dir`; an unreadable directory is a CacheError.
template <typename Visit>
void for_each_name(const fs::path& dir, Visit visit) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) visit(it->path().filename().string());
  if (ec) throw CacheError("cannot list the code cache directory " + dir.string() + ": " + ec.message());
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category());
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

std::string cache_key(const std::vector<std::string_view>& parts) {
  XXH3_state_t* state = XXH3_createState();
  if (!state) throw std::bad_alloc();
  XXH3_128bits_reset(state);
  for (std::string_view part : parts) {
    std::string length;
    put_le(length, part.size(), 8);
    XXH3_128bits_update(state, length.data(), length.size());
    XXH3_128bits_update(state, part.data(), part.size());
  }
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
  XXH3_freeState(state);
  static constexpr char digits[] = "0123456789abcdef";
  std::string key;
  for (unsigned char byte : canonical.digest) {
    key.push_back(digits[byte >> 4]);
    key.push_back(digits[byte & 0xf]);
  }
  return key;
}

CodeCache::CodeCache(fs::path dir) {
  const std::string advice = "; set cache.dir (environment variable ASP_CACHE_DIR) to a directory of your own";
  try {
    dir_ = fs::absolute(dir).lexically_normal();
    // A trailing separator would make create_directories below create the cache directory itself, unprotected.
    if (!dir_.has_filename()) dir_ = dir_.parent_path();
    if (dir_.has_parent_path()) fs::create_directories(dir_.parent_path());
  } catch (const fs::filesystem_error& e) {
    throw CacheError("cannot create the code cache directory " + dir.string() + ": " + e.code().message() + advice);
  }
  // mkdir with 0700 rather than create_directories: the directory is never, even briefly, open to others.
  if (::mkdir(dir_.c_str(), 0700) == 0) {
    // The umask may have removed owner bits; the cache needs exactly 0700.
    if (::chmod(dir_.c_str(), 0700) != 0) {
      throw CacheError("cannot set mode 0700 on the code cache directory " + dir_.string() + ": " + errno_text(errno));
    }
  } else if (errno != EEXIST) {
    throw CacheError("cannot create the code cache directory " + dir_.string() + ": " + errno_text(errno) + advice);
  }
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) {
    throw CacheError("cannot examine the code cache directory " + dir_.string() + ": " + errno_text(errno) + advice);
  }
  if (!S_ISDIR(st.st_mode)) throw CacheError("the code cache path " + dir_.string() + " is not a directory" + advice);
  if (st.st_uid != ::geteuid()) {
    throw CacheError("refusing the code cache directory " + dir_.string() + ": it is owned by uid " +
                     std::to_string(st.st_uid) + ", not by you (uid " + std::to_string(::geteuid()) + ")" + advice);
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    throw CacheError("refusing the code cache directory " + dir_.string() + ": it is writable by group or others (mode " +
                     octal_mode(st.st_mode) + "), so others could plant code in it; run `chmod go-w " + dir_.string() +
                     "`, or set cache.dir (environment variable ASP_CACHE_DIR) to a directory of your own");
  }
}

fs::path CodeCache::path_of(const std::string& key) const {
  check_key(key);
  return dir_ / (key + entry_suffix);
}

std::optional<std::string> CodeCache::load(const std::string& key, std::string* problem) const {
  return use(path_of(key), problem);
}

std::optional<fs::path> CodeCache::load_file(const std::string& key, std::string* problem) const {
  const fs::path path = path_of(key);
  if (!use(path, problem)) return std::nullopt;
  return path;
}

void CodeCache::store(const std::string& key, std::string_view payload, std::string_view kind) const {
  check_kind(kind);
  const fs::path path = path_of(key);
  std::string temp = (dir_ / (std::string(temp_prefix) + key + "-XXXXXX")).string();
  Fd fd(::mkstemp(temp.data()));
  if (fd.get() < 0) throw CacheError("cannot create a temporary file in " + dir_.string() + ": " + errno_text(errno));
  try {
    // mkstemp's 0600 is subject to the umask; set it exactly.
    if (::fchmod(fd.get(), 0600) != 0) throw std::system_error(errno, std::generic_category());
    write_all(fd.get(), payload);
    write_all(fd.get(), make_trailer(payload, kind));
    // Flushed before the rename, so a crash leaves the old entry or the whole new one, never a torn one.
    if (::fsync(fd.get()) != 0) throw std::system_error(errno, std::generic_category());
    if (fd.close() != 0) throw std::system_error(errno, std::generic_category());
    if (::rename(temp.c_str(), path.c_str()) != 0) throw std::system_error(errno, std::generic_category());
  } catch (const std::system_error& e) {
    ::unlink(temp.c_str());
    throw CacheError("cannot write the code cache entry " + path.string() + ": " + e.code().message());
  }
}

std::vector<CodeCache::Entry> CodeCache::list() const {
  std::vector<Entry> entries;
  for_each_name(dir_, [&](const std::string& name) {
    if (!is_entry_name(name)) return;
    const fs::path path = dir_ / name;
    Inspection r = inspect(path);
    std::error_code ec;
    const auto modified = fs::last_write_time(path, ec);
    // Either failing means another process removed the entry while we listed.
    if (r.missing || ec) return;
    Entry e;
    e.key = name.substr(0, name.size() - std::strlen(entry_suffix));
    e.kind = std::move(r.kind);
    e.size = r.size;
    e.modified = modified;
    e.problem = std::move(r.problem);
    entries.push_back(std::move(e));
  });
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  return entries;
}

std::size_t CodeCache::clear() const {
  std::size_t removed = 0;
  for_each_name(dir_, [&](const std::string& name) {
    const bool entry = is_entry_name(name);
    if (!entry && !name.starts_with(temp_prefix)) return;
    const fs::path path = dir_ / name;
    if (::unlink(path.c_str()) == 0) {
      if (entry) ++removed;
    } else if (errno != ENOENT) {
      throw CacheError("cannot remove " + path.string() + ": " + errno_text(errno));
    }
  });
  return removed;
}

}  // namespace asp::core
