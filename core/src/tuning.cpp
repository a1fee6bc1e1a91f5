#include "asp/core/tuning.hpp"

#include "asp/core/log.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

namespace asp::core {
namespace {

constexpr int schema_version = 1;
// Long enough for another process's write to finish; each write is one short statement.
constexpr int busy_timeout_ms = 5000;

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  throw std::runtime_error("tuning database " + std::string(file ? file : "") + ": " + what + ": " +
                           (db ? sqlite3_errmsg(db) : "out of memory"));
}

void check(sqlite3* db, int rc, const std::string& what) {
  if (rc != SQLITE_OK) fail(db, what);
}

void exec(sqlite3* db, const char* sql) { check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), sql); }

sqlite3_stmt* prepare(sqlite3* db, const char* sql, unsigned flags = SQLITE_PREPARE_PERSISTENT) {
  sqlite3_stmt* stmt = nullptr;
  check(db, sqlite3_prepare_v3(db, sql, -1, flags, &stmt, nullptr), std::string("preparing ") + sql);
  return stmt;
}

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column))) : std::string();
}

// The value a PRAGMA answers. With `retry_busy`, waits for another connection
// up to the busy timeout itself, for the PRAGMAs that answer SQLITE_BUSY without
// calling the busy handler.
std::string pragma(sqlite3* db, const std::string& sql, bool retry_busy = false) {
  constexpr int pause_ms = 10;
  for (int waited = 0;; waited += pause_ms) {
    // sqlite3_finalize only repeats the error of a failed step, handled here.
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(prepare(db, sql.c_str(), 0), &sqlite3_finalize);
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW) return column_text(stmt.get(), 0);
    if (!retry_busy || (rc & 0xff) != SQLITE_BUSY || waited >= busy_timeout_ms) fail(db, sql);
    sqlite3_sleep(pause_ms);
  }
}

// Leaves a prepared statement ready for its next use, and holding no pointer to our strings, however we leave.
class Use {
 public:
  explicit Use(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Use() {
    // sqlite3_reset repeats the error of a failed step, which was already thrown.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

void bind_text(sqlite3* db, sqlite3_stmt* stmt, int index, const std::string& text) {
  check(db, sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC), "binding");
}

void bind_key(sqlite3* db, sqlite3_stmt* stmt, const TuningKey& key) {
  bind_text(db, stmt, 1, key.kernel);
  bind_text(db, stmt, 2, key.signature);
  bind_text(db, stmt, 3, key.platform);
}

void create_schema(sqlite3* db) {
  // IMMEDIATE: two processes creating a new database at once must not both see version 0 and race.
  exec(db, "BEGIN IMMEDIATE");
  try {
    const int version = std::stoi(pragma(db, "PRAGMA user_version"));
    if (version > schema_version) {
      throw std::runtime_error("tuning database " + std::string(sqlite3_db_filename(db, "main")) +
                               " has schema version " + std::to_string(version) + ", newer than this Asp's " +
                               std::to_string(schema_version) + "; remove it or use a newer Asp");
    }
    if (version == 0) {
      exec(db,
           "CREATE TABLE timings ("
           " kernel TEXT NOT NULL, signature TEXT NOT NULL, platform TEXT NOT NULL, variant TEXT NOT NULL,"
           " runs INTEGER NOT NULL, best REAL NOT NULL, total REAL NOT NULL,"
           " PRIMARY KEY (kernel, signature, platform, variant)) WITHOUT ROWID");
      exec(db, ("PRAGMA user_version = " + std::to_string(schema_version)).c_str());
    }
    exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);  // the original error is the one to report
    throw;
  }
}

}  // namespace

TuningDatabase::TuningDatabase(const std::filesystem::path& file) {
  const int rc = sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  try {
    if (rc != SQLITE_OK) fail(db_, "cannot open " + file.string());
    check(db_, sqlite3_extended_result_codes(db_, 1), "enabling extended result codes");
    check(db_, sqlite3_busy_timeout(db_, busy_timeout_ms), "setting the busy timeout");
    // Switching a new file to WAL answers BUSY, without waiting, while another process opens it too.
    // Some file systems (network ones) cannot do WAL; the rollback journal is still safe, only slower.
    if (const std::string mode = pragma(db_, "PRAGMA journal_mode = WAL", true); mode != "wal") {
      log(LogLevel::warning, "tuning",
          "database " + file.string() + " cannot use WAL mode (journal mode is '" + mode +
              "'); concurrent processes will wait on each other more");
    }
    // NORMAL is durable enough in WAL mode: a crash can lose the last measurements, never corrupt the file.
    exec(db_, "PRAGMA synchronous = NORMAL");
    create_schema(db_);
    record_ = prepare(db_,
                      "INSERT INTO timings (kernel, signature, platform, variant, runs, best, total)"
                      " VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)"
                      " ON CONFLICT (kernel, signature, platform, variant) DO UPDATE SET"
                      " runs = runs + 1, best = min(best, excluded.best), total = total + excluded.total");
    stats_ = prepare(db_,
                     "SELECT variant, runs, best, total FROM timings"
                     " WHERE kernel = ?1 AND signature = ?2 AND platform = ?3");
  } catch (...) {
    close();
    throw;
  }
}

TuningDatabase::~TuningDatabase() { close(); }

void TuningDatabase::close() {
  // Finalizing reports only the last step's error, long since thrown; closing after
  // finalizing every statement cannot fail.
  sqlite3_finalize(record_);
  sqlite3_finalize(stats_);
  sqlite3_close_v2(db_);
  record_ = stats_ = nullptr;
  db_ = nullptr;
}

void TuningDatabase::record(const TuningKey& key, const std::string& variant, double seconds) {
  std::lock_guard lock(mutex_);
  Use use(record_);
  bind_key(db_, record_, key);
  bind_text(db_, record_, 4, variant);
  check(db_, sqlite3_bind_double(record_, 5, seconds), "binding");
  if (sqlite3_step(record_) != SQLITE_DONE) fail(db_, "recording a run of " + key.kernel + " variant " + variant);
}

std::map<std::string, VariantStats> TuningDatabase::stats(const TuningKey& key) const {
  std::lock_guard lock(mutex_);
  Use use(stats_);
  bind_key(db_, stats_, key);
  std::map<std::string, VariantStats> result;
  int rc;
  while ((rc = sqlite3_step(stats_)) == SQLITE_ROW) {
    result[column_text(stats_, 0)] = {sqlite3_column_int64(stats_, 1), sqlite3_column_double(stats_, 2),
                                      sqlite3_column_double(stats_, 3)};
  }
  if (rc != SQLITE_DONE) fail(db_, "reading the timings of " + key.kernel);
  return result;
}

Tuner::Tuner(TuningDatabase* db, TuningKey key, std::vector<std::string> variants)
    : db_(db), key_(std::move(key)), variants_(std::move(variants)), stats_(variants_.size()) {
  if (!db_) return;
  const auto known = db_->stats(key_);
  for (std::size_t i = 0; i < variants_.size(); ++i) {
    if (auto it = known.find(variants_[i]); it != known.end()) stats_[i] = it->second;
  }
}

std::optional<std::size_t> Tuner::choose(const std::vector<bool>& runnable) {
  if (runnable.size() != variants_.size()) {
    throw std::invalid_argument("Tuner::choose: " + std::to_string(runnable.size()) + " run checks for " +
                                std::to_string(variants_.size()) + " variants");
  }
  // Exploring: the runnable variant with the fewest runs, first in order among equals (round robin).
  std::optional<std::size_t> untried, best;
  for (std::size_t i = 0; i < variants_.size(); ++i) {
    if (!runnable[i]) continue;
    if (stats_[i].runs < runs_to_settle && (!untried || stats_[i].runs < stats_[*untried].runs)) untried = i;
    if (!best || stats_[i].best < stats_[*best].best) best = i;
  }
  return untried ? untried : best;
}

void Tuner::report(std::size_t index, double seconds) {
  if (index >= variants_.size()) {
    throw std::out_of_range("Tuner::report: variant " + std::to_string(index) + " of " +
                            std::to_string(variants_.size()));
  }
  if (!std::isfinite(seconds) || seconds < 0) {
    throw std::invalid_argument("Tuner::report: not a run time: " + std::to_string(seconds));
  }
  VariantStats& s = stats_[index];
  s.best = s.runs == 0 ? seconds : std::min(s.best, seconds);
  s.total += seconds;
  ++s.runs;
  if (db_) db_->record(key_, variants_[index], seconds);
}

bool Tuner::settled(const std::vector<bool>& runnable) const {
  if (runnable.size() != variants_.size()) {
    throw std::invalid_argument("Tuner::settled: " + std::to_string(runnable.size()) + " run checks for " +
                                std::to_string(variants_.size()) + " variants");
  }
  for (std::size_t i = 0; i < variants_.size(); ++i) {
    if (runnable[i] && stats_[i].runs < runs_to_settle) return false;
  }
  return true;
}

}  // namespace asp::core
