// Private to storage/src: a small RAII layer over libpq (PostgreSQL's C client), the one place
// that knows PGconn and PGresult (pg_connection.cpp is the only file including <libpq-fe.h>).
// Parameters and results travel as text, the protocol's default: no binary decoding to get
// wrong, and PostgreSQL prints doubles shortest-exact (extra_float_digits >= 1, the default
// since version 12), so they round-trip.
//
// Why not libpqxx: it is not installed on these machines (Debian's libpqxx-dev would be a new
// dependency for what is here about 200 lines), its exceptions would need translating anyway,
// and libpq is what every PostgreSQL client links in the end. See docs/storage.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct pg_conn;
struct pg_result;

namespace skintrack::storage::pg {

// A failed libpq call: the server's SQLSTATE ("23505", "40001", ...; empty when the failure was
// the connection's, see connection_lost) and message.
class PgError : public std::runtime_error {
 public:
  PgError(std::string sqlstate, bool connection_lost, const std::string& message)
      : std::runtime_error(message),
        sqlstate_(std::move(sqlstate)),
        connection_lost_(connection_lost) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  bool connection_lost() const noexcept { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// Statement parameters ($1, $2, ...) as text; std::nullopt is SQL NULL.
class Params {
 public:
  Params& Add(const std::string& text) {
    values_.emplace_back(text);
    return *this;
  }
  Params& Add(const char* text) { return Add(std::string(text)); }
  Params& Add(std::int64_t value) { return Add(std::to_string(value)); }
  Params& Add(int value) { return Add(std::to_string(value)); }
  Params& Add(double value);
  template <typename T>
  Params& Add(const std::optional<T>& value) {
    if (value) return Add(*value);
    values_.emplace_back(std::nullopt);
    return *this;
  }
  Params& Null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// The rows of one statement. Column values are read as text and converted; reading a NULL as a
// number throws std::logic_error (a bug in the caller's SQL).
class PgResult {
 public:
  explicit PgResult(pg_result* result);
  int rows() const;
  bool IsNull(int row, int col) const;
  std::string Text(int row, int col) const;
  std::int64_t Int(int row, int col) const;
  double Double(int row, int col) const;
  std::optional<std::int64_t> OptionalInt(int row, int col) const;
  // Rows an INSERT / UPDATE / DELETE changed.
  std::int64_t affected() const;
  pg_result* get() const { return result_.get(); }

 private:
  struct Free {
    void operator()(pg_result* r) const;
  };
  std::unique_ptr<pg_result, Free> result_;
};

// One connection; not thread-safe (the repository's pool hands it to one thread at a time).
class PgConnection {
 public:
  // `conninfo`: a postgresql:// URL or key=value string. Throws PgError (connection_lost) when
  // the server cannot be reached or refuses the login.
  explicit PgConnection(const std::string& conninfo);
  // One statement with parameters. Throws PgError.
  PgResult Exec(const std::string& sql, const Params& params = {});
  // Several statements without parameters (a migration script). Throws PgError.
  void ExecScript(const std::string& sql);
  // `COPY table (cols) FROM STDIN` (`sql`), fed in text format by `next`, which fills `chunk`
  // with whole rows and returns false at the end (bulk loads: `db migrate`, the benchmark).
  // Returns the rows copied. Throws PgError; an exception of `next` aborts the COPY (nothing of
  // it is kept) and propagates.
  std::int64_t CopyIn(const std::string& sql, const std::function<bool(std::string& chunk)>& next);
  // False once the connection is broken: the pool drops it instead of reusing it.
  bool healthy() const;

 private:
  PgError LastError(pg_result* result) const;
  void Check(pg_result* result) const;
  struct Finish {
    void operator()(pg_conn* c) const;
  };
  std::unique_ptr<pg_conn, Finish> conn_;
};

}  // namespace skintrack::storage::pg
