// The libpq wrapper (pg_connection.h): the only file that includes <libpq-fe.h>.
#include "pg_connection.h"

#include <libpq-fe.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace skintrack::storage::pg {
namespace {

// libpq reports a connection that broke as PGRES_FATAL_ERROR without a SQLSTATE (or with class 08,
// "connection exception"); the server shutting down sends 57P01..57P03.
bool IsConnectionState(const std::string& state) {
  return state.empty() || state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" ||
         state == "57P03";
}

std::string Trimmed(const char* message) {
  std::string out = message ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

Params& Params::Add(double value) {
  if (!std::isfinite(value)) throw std::logic_error("non-finite double parameter");
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return Add(std::string(text));
}

void PgResult::Free::operator()(pg_result* r) const { PQclear(r); }

PgResult::PgResult(pg_result* result) : result_(result) {}

int PgResult::rows() const { return PQntuples(result_.get()); }

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(result_.get(), row, col),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, col)));
}

std::int64_t PgResult::Int(int row, int col) const {
  if (IsNull(row, col)) throw std::logic_error("NULL read as an integer");
  return std::strtoll(PQgetvalue(result_.get(), row, col), nullptr, 10);
}

double PgResult::Double(int row, int col) const {
  if (IsNull(row, col)) throw std::logic_error("NULL read as a double");
  return std::strtod(PQgetvalue(result_.get(), row, col), nullptr);
}

std::optional<std::int64_t> PgResult::OptionalInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

std::int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(result_.get());
  return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

void PgConnection::Finish::operator()(pg_conn* c) const { PQfinish(c); }

PgConnection::PgConnection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (!conn_) throw PgError("", true, "out of memory opening a PostgreSQL connection");
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw PgError("", true,
                  "cannot connect to PostgreSQL: " + Trimmed(PQerrorMessage(conn_.get())));
  }
  // Server notices (e.g. "relation already exists, skipping") are not errors: keep stderr quiet.
  PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
}

PgError PgConnection::LastError(pg_result* result) const {
  std::string state;
  std::string message;
  if (result != nullptr) {
    const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (s) state = s;
    message = Trimmed(PQresultErrorMessage(result));
  }
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_.get()));
  const bool lost = PQstatus(conn_.get()) != CONNECTION_OK || IsConnectionState(state);
  return PgError(state, lost, message);
}

PgResult PgConnection::Exec(const std::string& sql, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.values().size());
  for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
  PgResult result(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
  Check(result.get());
  return result;
}

void PgConnection::ExecScript(const std::string& sql) {
  PgResult result(PQexec(conn_.get(), sql.c_str()));
  Check(result.get());
}

std::int64_t PgConnection::CopyIn(const std::string& sql,
                                  const std::function<bool(std::string& chunk)>& next) {
  {
    PgResult start(PQexec(conn_.get(), sql.c_str()));
    if (start.get() == nullptr || PQresultStatus(start.get()) != PGRES_COPY_IN) {
      Check(start.get());
      throw PgError("", false, "not a COPY FROM STDIN statement: " + sql);
    }
  }
  // After COPY ends (or is aborted) libpq hands out the COPY's result, then nullptr.
  auto finish = [&](const char* abort_message) {
    if (PQputCopyEnd(conn_.get(), abort_message) != 1) throw LastError(nullptr);
    std::optional<PgError> error;
    std::int64_t rows = 0;
    while (pg_result* r = PQgetResult(conn_.get())) {
      PgResult result(r);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        if (!error) error = LastError(r);
      } else {
        rows = result.affected();
      }
    }
    if (error) throw *error;
    return rows;
  };
  std::string chunk;
  try {
    while (next(chunk)) {
      if (chunk.empty()) continue;
      if (PQputCopyData(conn_.get(), chunk.data(), static_cast<int>(chunk.size())) != 1) {
        throw LastError(nullptr);
      }
      chunk.clear();
    }
  } catch (const PgError&) {
    throw;
  } catch (...) {
    // The server discards the rows sent so far; its "COPY aborted" error is not the one to report.
    try {
      finish("aborted by the client");
    } catch (const PgError&) {
    }
    throw;
  }
  return finish(nullptr);
}

// A null result (out of memory, connection gone) or an error status throws.
void PgConnection::Check(pg_result* result) const {
  if (result == nullptr) throw LastError(nullptr);
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw LastError(result);
}

bool PgConnection::healthy() const { return PQstatus(conn_.get()) == CONNECTION_OK; }

}  // namespace skintrack::storage::pg
