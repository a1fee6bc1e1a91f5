// The tuning database and the tuner of DESIGN.md §6.
//
// The database (SQLite, WAL mode, one file beside the code cache, safe for
// concurrent processes) records per (kernel, argument signature, platform,
// variant) the measured run times. The tuner follows the original Asp
// policy — try each runnable variant on successive calls, then always run
// the fastest — with each variant tried twice, round robin, and judged by its
// best time: a single run misjudges whichever variant happens to run first
// (it pays for page faults on fresh output memory, thread start, a device's
// first-launch compile), which once made the tuner settle on a variant 35 %
// slower than the one it rejected. Because the record persists, a new process
// starts on the best variant without re-trying the others.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace asp::core {

struct TuningKey {
  std::string kernel;     // the kernel's identity (e.g. its code-cache key without the variant)
  std::string signature;  // dtype, rank, shape and strides of the arguments
  std::string platform;   // the machine (e.g. CPU model and core count)
};

struct VariantStats {
  std::int64_t runs = 0;
  double best = 0;   // seconds, the fastest run
  double total = 0;  // seconds, all runs together
};

// Safe to share between threads of a process; every process opens its own.
class TuningDatabase {
 public:
  // Opens or creates the database file (its directory must exist). Throws std::runtime_error with
  // SQLite's message on failure (as do record() and stats()).
  explicit TuningDatabase(const std::filesystem::path& file);
  ~TuningDatabase();
  TuningDatabase(const TuningDatabase&) = delete;
  TuningDatabase& operator=(const TuningDatabase&) = delete;

  void record(const TuningKey& key, const std::string& variant, double seconds);
  // Every variant measured for `key`, by name.
  std::map<std::string, VariantStats> stats(const TuningKey& key) const;

 private:
  void close();
  // One connection's prepared statements may not interleave their steps across threads.
  mutable std::mutex mutex_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* record_ = nullptr;
  sqlite3_stmt* stats_ = nullptr;
};

// One tuner per (kernel, signature) in a process. Variants are identified by
// their index in the list given at construction, in the order they are tried.
// Not synchronized: callers sharing one between threads serialize choose() and report().
class Tuner {
 public:
  // Runs of each variant before the tuner trusts its best time.
  static constexpr std::int64_t runs_to_settle = 2;

  // `db` may be null: then the tuner remembers only for this process.
  Tuner(TuningDatabase* db, TuningKey key, std::vector<std::string> variants);

  // The variant to run this call. `runnable[i]` says whether variant i's run
  // check passes for these arguments; a variant that fails it is never chosen.
  // Returns std::nullopt when no variant is runnable.
  std::optional<std::size_t> choose(const std::vector<bool>& runnable);

  // Records the measured time of a run of variant `index`.
  void report(std::size_t index, double seconds);

  // True once every runnable variant has been measured (the tuner then only exploits).
  bool settled(const std::vector<bool>& runnable) const;

 private:
  TuningDatabase* db_;
  TuningKey key_;
  std::vector<std::string> variants_;
  std::vector<VariantStats> stats_;
};

}  // namespace asp::core
