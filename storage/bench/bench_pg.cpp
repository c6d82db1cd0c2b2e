// The benchmark's libpq client (bench_pg.h): the only bench file including <libpq-fe.h>.
#include "bench_pg.h"

#include <libpq-fe.h>

namespace skintrack::bench {
namespace {

std::string Message(const char* text) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

void Check(const Result& r, pg_conn* conn, const std::string& sql) {
  const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
  throw std::runtime_error("PostgreSQL: " + Message(PQerrorMessage(conn)) +
                           " (in: " + sql.substr(0, 80) + ")");
}

}  // namespace

void PgClient::Finish::operator()(pg_conn* c) const { PQfinish(c); }

PgClient::PgClient(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to " + url + ": " +
                             Message(conn_ ? PQerrorMessage(conn_.get()) : "out of memory"));
  }
  PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
}

PgClient::~PgClient() = default;

std::vector<PgRow> PgClient::Query(const std::string& sql, const std::vector<PgParam>& params,
                                   bool binary_results) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const PgParam& p : params) {
    values.push_back(p.bytes.data());
    lengths.push_back(static_cast<int>(p.bytes.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  // Text parameters are read up to their NUL: pass them through std::string copies.
  std::vector<std::string> texts;
  texts.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!params[i].binary) values[i] = texts.emplace_back(params[i].bytes).c_str();
  }
  Result r(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                        values.data(), lengths.data(), formats.data(), binary_results ? 1 : 0));
  Check(r, conn_.get(), sql);
  std::vector<PgRow> rows(static_cast<std::size_t>(PQntuples(r.get())));
  const int columns = PQnfields(r.get());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (int c = 0; c < columns; ++c) {
      const int row = static_cast<int>(i);
      rows[i].emplace_back(PQgetvalue(r.get(), row, c),
                           static_cast<std::size_t>(PQgetlength(r.get(), row, c)));
    }
  }
  return rows;
}

std::string PgClient::Scalar(const std::string& sql) {
  const std::vector<PgRow> rows = Query(sql);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

void PgClient::Script(const std::string& sql) {
  Result r(PQexec(conn_.get(), sql.c_str()));
  Check(r, conn_.get(), sql);
}

int PgClient::BackendPid() const { return PQbackendPID(conn_.get()); }

}  // namespace skintrack::bench
