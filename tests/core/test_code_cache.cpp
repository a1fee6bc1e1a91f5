// The on-disk code cache: keys, the entry format, every way an entry is
// refused, concurrent writers, and a stored shared library that still loads.
#include "asp/core/code_cache.hpp"

#include "processes.hpp"
#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>

namespace fs = std::filesystem;
using asp::core::cache_key;
using asp::core::CacheError;
using asp::core::CodeCache;
using asp::test::TempDir;
using testing::HasSubstr;

namespace {

constexpr std::size_t trailer_size = 44;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// A payload with every byte value, NULs included.
std::string binary_payload(std::size_t size, char seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 7);
  return s;
}

// After a refused entry the cache must work again for the same key.
void expect_rebuilds(const CodeCache& cache, const std::string& key) {
  EXPECT_FALSE(fs::exists(cache.dir() / (key + ".bin"))) << "the refused entry should have been removed";
  cache.store(key, "rebuilt", "object");
  std::string problem = "stale";
  EXPECT_EQ(cache.load(key, &problem), "rebuilt");
  EXPECT_EQ(problem, "");
}

TEST(CacheKey, IsThirtyTwoLowercaseHexDigitsAndStable) {
  const std::string key = cache_key({"abi 1", "openmp", "gcc 12.2", "-O3", "avx2", "int main() {}"});
  EXPECT_THAT(key, testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(key, cache_key({"abi 1", "openmp", "gcc 12.2", "-O3", "avx2", "int main() {}"}));
}

TEST(CacheKey, DiffersWhenAnyPartDiffers) {
  const std::vector<std::string_view> base = {"abi 1", "openmp", "gcc 12.2", "-O3", "avx2", "source"};
  std::set<std::string> keys = {cache_key(base)};
  for (std::size_t i = 0; i < base.size(); ++i) {
    auto changed = base;
    changed[i] = "other";
    EXPECT_TRUE(keys.insert(cache_key(changed)).second) << "changing part " << i << " kept the key";
  }
}

TEST(CacheKey, DiffersWhenPartsAreSplitDifferently) {
  EXPECT_NE(cache_key({"ab", "c"}), cache_key({"a", "bc"}));
  EXPECT_NE(cache_key({"abc"}), cache_key({"ab", "c"}));
  EXPECT_NE(cache_key({}), cache_key({""}));
  EXPECT_NE(cache_key({""}), cache_key({"", ""}));
}

TEST(CodeCache, StoresAndLoadsBinaryPayloads) {
  TempDir tmp;
  CodeCache cache(tmp.path() / "cache");
  const std::string payload = binary_payload(100000, 3);
  const std::string key = cache_key({"round trip"});
  cache.store(key, payload, "object");
  std::string problem = "stale";
  EXPECT_EQ(cache.load(key, &problem), payload);
  EXPECT_EQ(problem, "");
  const auto file = cache.load_file(key);
  ASSERT_TRUE(file);
  EXPECT_EQ(*file, cache.dir() / (key + ".bin"));
  EXPECT_EQ(fs::file_size(*file), payload.size() + trailer_size);
  EXPECT_EQ(read_file(*file).substr(0, payload.size()), payload) << "the payload comes first";
  EXPECT_EQ(mode_of(*file) & 077, 0u) << "entries are private";
}

TEST(CodeCache, ALaterStoreReplacesTheEntry) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("k", "first", "object");
  cache.store("k", "second, longer", "shared-library");
  EXPECT_EQ(cache.load("k"), "second, longer");
  const auto entries = cache.list();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].kind, "shared-library");
}

TEST(CodeCache, AnEmptyPayloadIsAnEntry) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("empty", "", "object");
  EXPECT_EQ(cache.load("empty"), "");
}

TEST(CodeCache, AMissIsNotAProblem) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  std::string problem = "stale";
  EXPECT_EQ(cache.load("absent", &problem), std::nullopt);
  EXPECT_EQ(problem, "");
  EXPECT_EQ(cache.load_file("absent"), std::nullopt);
}

TEST(CodeCache, CreatesItsDirectoryPrivateWhateverTheUmask) {
  TempDir tmp;
  const mode_t old = ::umask(0);
  const fs::path dir = tmp.path() / "a" / "b" / "cache";
  CodeCache cache(dir);
  CodeCache trailing_separator(tmp.path() / "c" / "cache" / "");
  ::umask(old);
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(cache.dir(), dir);
  EXPECT_EQ(mode_of(tmp.path() / "c" / "cache"), 0700u);
  EXPECT_EQ(trailing_separator.dir(), tmp.path() / "c" / "cache");
}

TEST(CodeCache, RejectsKeysAndKindsThatCouldEscapeOrDoNotFit) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  EXPECT_THROW(cache.store("../escape", "x", "object"), std::invalid_argument);
  EXPECT_THROW(cache.load("a/b"), std::invalid_argument);
  EXPECT_THROW(cache.load(""), std::invalid_argument);
  EXPECT_THROW(cache.store("k", "x", "a-kind-longer-than-16"), std::invalid_argument);
  EXPECT_THROW(cache.store("k", "x", ""), std::invalid_argument);
  cache.store("k", "x", "sixteen-bytes-ok");
  EXPECT_EQ(cache.list().at(0).kind, "sixteen-bytes-ok");
}

TEST(CodeCache, ATruncatedEntryIsRemovedAndRebuilt) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  const std::string key = cache_key({"truncated"});
  cache.store(key, binary_payload(5000, 1), "object");
  const fs::path file = cache.dir() / (key + ".bin");
  fs::resize_file(file, 3000);
  testing::internal::CaptureStderr();
  std::string problem;
  EXPECT_EQ(cache.load(key, &problem), std::nullopt);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_THAT(problem, HasSubstr("truncated"));
  EXPECT_THAT(log, HasSubstr("asp: warning: [cache] cache entry " + file.string()));
  EXPECT_THAT(log, HasSubstr("removed, it will be rebuilt"));
  expect_rebuilds(cache, key);
}

TEST(CodeCache, AnEntryShorterThanItsTrailerIsTruncated) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("short", "payload", "object");
  fs::resize_file(cache.dir() / "short.bin", 10);
  std::string problem;
  EXPECT_EQ(cache.load_file("short", &problem), std::nullopt);
  EXPECT_THAT(problem, HasSubstr("truncated: 10 bytes"));
  expect_rebuilds(cache, "short");
}

TEST(CodeCache, AFlippedPayloadByteFailsTheChecksum) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  const std::string key = cache_key({"flipped"});
  cache.store(key, binary_payload(4096, 9), "object");
  const fs::path file = cache.dir() / (key + ".bin");
  std::string data = read_file(file);
  data[1234] ^= 0x01;
  write_file(file, data);
  std::string problem;
  EXPECT_EQ(cache.load(key, &problem), std::nullopt);
  EXPECT_THAT(problem, HasSubstr("checksum"));
  expect_rebuilds(cache, key);
}

TEST(CodeCache, ALengthThatDisagreesWithTheFileIsRefused) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("k", "payload", "object");
  const fs::path file = cache.dir() / "k.bin";
  // One byte inserted before the trailer: the trailer is intact, its recorded length no longer fits.
  std::string data = read_file(file);
  data.insert(data.size() - trailer_size, "x");
  write_file(file, data);
  std::string problem;
  EXPECT_EQ(cache.load("k", &problem), std::nullopt);
  EXPECT_THAT(problem, HasSubstr("the trailer records 7 payload bytes, the file holds 8"));
  expect_rebuilds(cache, "k");
}

TEST(CodeCache, AnotherFormatVersionIsRefused) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("k", "payload", "object");
  const fs::path file = cache.dir() / "k.bin";
  std::string data = read_file(file);
  data[data.size() - trailer_size + 8] = 7;  // the version follows the 8-byte magic
  write_file(file, data);
  std::string problem;
  EXPECT_EQ(cache.load("k", &problem), std::nullopt);
  EXPECT_THAT(problem, HasSubstr("cache format version 7"));
  expect_rebuilds(cache, "k");
}

TEST(CodeCache, AnEntryWritableByOthersIsRefused) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("k", "payload", "shared-library");
  const fs::path file = cache.dir() / "k.bin";
  fs::permissions(file, fs::perms::others_write, fs::perm_options::add);
  testing::internal::CaptureStderr();
  std::string problem;
  EXPECT_EQ(cache.load_file("k", &problem), std::nullopt);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(problem, "refused: writable by group or others (mode 0602), so its code could have been replaced");
  EXPECT_THAT(log, HasSubstr(file.string() + " refused: writable by group or others"));
  expect_rebuilds(cache, "k");
}

TEST(CodeCache, AGroupWritableEntryIsRefusedToo) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("k", "payload", "object");
  fs::permissions(cache.dir() / "k.bin", fs::perms::group_write, fs::perm_options::add);
  std::string problem;
  EXPECT_EQ(cache.load("k", &problem), std::nullopt);
  EXPECT_THAT(problem, HasSubstr("refused: writable by group or others (mode 0620)"));
}

TEST(CodeCache, AnEntryOfAnotherUserIsRefusedAndLeftAlone) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a file to another user needs root";
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("k", "payload", "object");
  const fs::path file = cache.dir() / "k.bin";
  ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);
  std::string problem;
  EXPECT_EQ(cache.load("k", &problem), std::nullopt);
  EXPECT_EQ(problem, "refused: owned by uid 65534, not by you (uid 0); loading it would run someone else's code");
  EXPECT_TRUE(fs::exists(file));
}

TEST(CodeCache, ASymbolicLinkEntryIsRefused) {
  TempDir tmp;
  CodeCache cache(tmp.path() / "cache");
  cache.store("real", "payload", "object");
  fs::create_symlink(cache.dir() / "real.bin", cache.dir() / "link.bin");
  std::string problem;
  EXPECT_EQ(cache.load("link", &problem), std::nullopt);
  EXPECT_THAT(problem, HasSubstr("refused: a symbolic link"));
  EXPECT_FALSE(fs::is_symlink(cache.dir() / "link.bin"));
  EXPECT_EQ(cache.load("real"), "payload");
}

TEST(CodeCache, ADirectoryWritableByOthersIsRefused) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "shared";
  fs::create_directory(dir);
  fs::permissions(dir, fs::perms::all);
  try {
    CodeCache cache(dir);
    FAIL() << "an other-writable cache directory was accepted";
  } catch (const CacheError& e) {
    EXPECT_THAT(e.what(), HasSubstr("refusing the code cache directory " + dir.string() +
                                    ": it is writable by group or others (mode 0777)"));
    EXPECT_THAT(e.what(), HasSubstr("run `chmod go-w " + dir.string() + "`"));
    EXPECT_THAT(e.what(), HasSubstr("ASP_CACHE_DIR"));
  }
}

TEST(CodeCache, ADirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving a directory to another user needs root";
  TempDir tmp;
  const fs::path dir = tmp.path() / "theirs";
  fs::create_directory(dir);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  EXPECT_THAT([&] { CodeCache cache(dir); },
              testing::ThrowsMessage<CacheError>(HasSubstr("it is owned by uid 65534, not by you (uid 0)")));
}

TEST(CodeCache, APathThatIsNotADirectoryIsRefused) {
  TempDir tmp;
  const fs::path file = tmp.write("file", "text");
  EXPECT_THAT([&] { CodeCache cache(file); }, testing::ThrowsMessage<CacheError>(HasSubstr("is not a directory")));
}

TEST(CodeCache, ListsEveryEntryWithItsProblemAndClearsOnlyTheCachesFiles) {
  TempDir tmp;
  CodeCache cache(tmp.path());
  cache.store("b-object", "0123456789", "object");
  cache.store("a-library", binary_payload(300, 5), "shared-library");
  cache.store("c-corrupt", "soon corrupt", "object");
  std::string data = read_file(cache.dir() / "c-corrupt.bin");
  data[0] ^= 0x20;
  write_file(cache.dir() / "c-corrupt.bin", data);
  tmp.write(".tmp-stray-abc123", "left by a crashed writer");
  tmp.write("tuning.sqlite", "not the cache's");

  const auto entries = cache.list();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].key, "a-library");
  EXPECT_EQ(entries[0].kind, "shared-library");
  EXPECT_EQ(entries[0].size, 300u);
  EXPECT_EQ(entries[0].problem, "");
  EXPECT_EQ(entries[1].key, "b-object");
  EXPECT_EQ(entries[1].size, 10u);
  EXPECT_EQ(entries[2].key, "c-corrupt");
  EXPECT_THAT(entries[2].problem, HasSubstr("checksum"));
  EXPECT_EQ(entries[1].modified, fs::last_write_time(cache.dir() / "b-object.bin"));
  EXPECT_TRUE(fs::exists(cache.dir() / "c-corrupt.bin")) << "listing removes nothing";

  EXPECT_EQ(cache.clear(), 3u);
  EXPECT_TRUE(cache.list().empty());
  EXPECT_FALSE(fs::exists(cache.dir() / ".tmp-stray-abc123"));
  EXPECT_TRUE(fs::exists(cache.dir() / "tuning.sqlite"));
  EXPECT_EQ(cache.clear(), 0u);
}

TEST(CodeCache, ConcurrentProcessesStoringTheSameKeysLeaveOnlyValidEntries) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "cache";
  constexpr int processes = 8;
  constexpr int keys = 20;
  // Every process writes its own size and fill byte, so a torn or mixed write cannot pass for a valid one.
  auto payload = [](int process, int key) {
    return std::string(1000 + 7919 * process + 131 * key, static_cast<char>('a' + process));
  };
  const int failed = asp::test::run_processes(processes, [&](int process) {
    CodeCache cache(dir);
    for (int round = 0; round < 3; ++round) {
      for (int k = 0; k < keys; ++k) {
        const int key = (k + process) % keys;
        cache.store("key" + std::to_string(key), payload(process, key), "object");
      }
    }
    return true;
  });
  ASSERT_EQ(failed, 0);

  CodeCache cache(dir);
  const auto entries = cache.list();
  ASSERT_EQ(entries.size(), static_cast<std::size_t>(keys));
  for (const auto& e : entries) EXPECT_EQ(e.problem, "") << e.key;
  for (int key = 0; key < keys; ++key) {
    const auto loaded = cache.load("key" + std::to_string(key));
    ASSERT_TRUE(loaded) << key;
    const int writer = loaded->at(0) - 'a';
    ASSERT_TRUE(writer >= 0 && writer < processes) << key;
    EXPECT_EQ(*loaded, payload(writer, key));
  }
  std::size_t files = 0;
  for (const auto& item : fs::directory_iterator(dir)) {
    EXPECT_FALSE(item.path().filename().string().starts_with(".tmp-")) << item.path();
    ++files;
  }
  EXPECT_EQ(files, static_cast<std::size_t>(keys));
}

TEST(CodeCache, AStoredSharedLibraryLoadsFromItsEntryFile) {
  TempDir tmp;
  CodeCache cache(tmp.path() / "cache");
  const std::string library = read_file(ASP_TEST_CACHE_PAYLOAD);
  ASSERT_FALSE(library.empty());
  const std::string key = cache_key({"shared library", library});
  cache.store(key, library, "shared-library");
  const auto file = cache.load_file(key);
  ASSERT_TRUE(file);
  ASSERT_EQ(fs::file_size(*file), library.size() + trailer_size) << "the trailer is in the file dlopen reads";
  void* handle = ::dlopen(file->c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  auto answer = reinterpret_cast<int (*)()>(::dlsym(handle, "asp_test_cache_answer"));
  ASSERT_NE(answer, nullptr) << ::dlerror();
  EXPECT_EQ(answer(), 42);
  EXPECT_EQ(::dlclose(handle), 0);
}

}  // namespace
