// The benchmark's own PostgreSQL client: the one bench file that includes <libpq-fe.h>
// (bench_pg.cpp). The repository's wrapper (storage/src/pg_connection.h) is private to the library
// and passes everything as text; the blob benchmark needs binary bytea parameters and results,
// which is what a PostgreSQL blob store would use (text-hex doubles the bytes on the wire and
// costs an encode and a decode per blob).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;

namespace skintrack::bench {

// A statement parameter: `bytes` as text, or as the binary form of its type (raw bytes for
// bytea and text).
struct PgParam {
  std::string_view bytes;
  bool binary = false;
};

// One row of a result, one string per column (text, or raw bytes when fetched as binary).
using PgRow = std::vector<std::string>;

// One connection; not thread-safe. Every failure throws std::runtime_error with libpq's message.
class PgClient {
 public:
  explicit PgClient(const std::string& url);
  ~PgClient();
  PgClient(const PgClient&) = delete;
  PgClient& operator=(const PgClient&) = delete;

  // Runs one statement; the rows come back as text, or as raw bytes with `binary_results`.
  std::vector<PgRow> Query(const std::string& sql, const std::vector<PgParam>& params = {},
                           bool binary_results = false);
  // The first column of the first row as text ("" without rows).
  std::string Scalar(const std::string& sql);
  // Several statements without parameters (DDL, BEGIN; ...; COMMIT).
  void Script(const std::string& sql);
  // The server process's id (for reading its CPU time from /proc).
  int BackendPid() const;

 private:
  struct Finish {
    void operator()(pg_conn* c) const;
  };
  std::unique_ptr<pg_conn, Finish> conn_;
};

}  // namespace skintrack::bench
