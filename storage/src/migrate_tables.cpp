// The tables `db migrate` copies and the canonical / COPY encodings (migrate_tables.h).
#include "migrate_tables.h"

#include <cstdio>

namespace skintrack::storage::migrate {
namespace {

constexpr Type kI = Type::kInt;
constexpr Type kR = Type::kReal;
constexpr Type kT = Type::kText;

Column C(const char* name, Type type) { return Column{name, name, type}; }

std::string Collate(std::string text, bool postgres) {
  const std::string mark = "{C}";
  const std::string collation = postgres ? " COLLATE \"C\"" : " COLLATE BINARY";
  for (std::size_t at = text.find(mark); at != std::string::npos; at = text.find(mark)) {
    text.replace(at, mark.size(), collation);
  }
  return text;
}

std::string FormatReal(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

}  // namespace

const std::vector<Table>& Tables() {
  static const std::vector<Table> kTables = {
      {"patients",
       {C("id", kI), C("pseudonym", kT), C("fitzpatrick", kI), C("age_band", kT),
        C("attributes_json", kT), C("created_at", kI)},
       "id",
       nullptr,
       true},
      {"visits",
       {C("id", kI), C("patient_id", kI), C("label", kT), C("created_at", kI)},
       "id",
       nullptr,
       true},
      // The site by name: the catalogue's ids are assigned by each database at start-up.
      {"captures",
       {C("id", kI),
        C("patient_id", kI),
        Column{"(SELECT b.name FROM body_sites b WHERE b.id = captures.site_id)", "site_id", kT,
               true},
        C("condition", kT),
        C("captured_at", kI),
        C("received_at", kI),
        C("device", kT),
        C("visit_id", kI),
        C("media_type", kT),
        C("blob_sha256", kT),
        C("byte_size", kI),
        C("width", kI),
        C("height", kI),
        C("upload_sha256", kT),
        C("orientation", kI),
        C("status", kT),
        C("attempts", kI),
        C("next_attempt_at", kI),
        C("lease_owner", kT),
        C("lease_expires_at", kI),
        C("last_error", kT)},
       "id",
       nullptr,
       true},
      {"results",
       {C("id", kI), C("patient_id", kI), C("capture_id", kI), C("kind", kT), C("name", kT),
        C("version", kI), C("source", kT), C("algorithm", kT), C("algorithm_version", kT),
        C("value", kR), C("payload_json", kT), C("inputs_json", kT), C("provenance_json", kT),
        C("blob_sha256", kT), C("blob_size", kI), C("actor", kT), C("created_at", kI)},
       "id",
       nullptr,
       true},
      {"assessments",
       {C("id", kI), C("capture_id", kI), C("version", kI), C("grades_json", kT), C("note", kT),
        C("mask_sha256", kT), C("mask_size", kI), C("actor", kT), C("created_at", kI)},
       "id",
       nullptr,
       true},
      {"tokens",
       {C("id", kT), C("secret_sha256", kT), C("role", kT), C("scope_json", kT), C("label", kT),
        C("created_at", kI), C("expires_at", kI), C("revoked_at", kI)},
       "id{C}",
       nullptr,
       false},
      {"annotations",
       {C("id", kI), C("capture_id", kI), C("author", kT), C("author_role", kT),
        C("created_at", kI)},
       "id",
       nullptr,
       true},
      // The target's trigger accepts version N+1 of an annotation only after N: copied in that
      // order (ids are kept whatever the order).
      {"annotation_versions",
       {C("id", kI), C("annotation_id", kI), C("version", kI), C("state", kT), C("decision", kT),
        C("note", kT), C("content_sha256", kT), C("content_size", kI), C("actor", kT),
        C("created_at", kI)},
       "id",
       "annotation_id, version",
       true},
      {"annotation_assignments",
       {C("capture_id", kI), C("annotator", kT), C("assigned_by", kT), C("assigned_at", kI)},
       "capture_id, annotator{C}",
       nullptr,
       false},
      {"audit_log",
       {C("id", kI), C("at", kI), C("actor", kT), C("action", kT), C("object", kT),
        C("before_ref", kT), C("after_ref", kT), C("details_json", kT)},
       "id",
       nullptr,
       true},
  };
  return kTables;
}

bool IsNotCopied(std::string_view table) {
  // shared_settings: PostgreSQL's own; its one row that a directory has, the pseudonym key, is
  // copied from the key file (migrate_to_pg.cpp CopyPseudonymKey).
  return table == "body_sites" || table == "capture_status_counts" || table == "schema_version" ||
         table == "id_sequences" || table == "erasure_guard" || table == "shared_settings";
}

std::string SelectSql(const Table& t, bool postgres, bool copy_order) {
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += t.columns[i].name;
  }
  sql += std::string(" FROM ") + t.name + " ORDER BY " +
         (copy_order && t.copy_order ? t.copy_order : t.order);
  return Collate(sql, postgres);
}

std::string CopySql(const Table& t) {
  std::string sql = std::string("COPY ") + t.name + " (";
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += t.columns[i].copy_as;
  }
  return sql + ") FROM STDIN";
}

std::string BlobReferencesSql(bool postgres) {
  return Collate(
      "SELECT sha, size FROM ("
      "SELECT blob_sha256 AS sha, byte_size AS size FROM captures "
      "UNION SELECT blob_sha256, blob_size FROM results WHERE blob_sha256 IS NOT NULL "
      "UNION SELECT mask_sha256, mask_size FROM assessments WHERE mask_sha256 IS NOT NULL "
      "UNION SELECT content_sha256, content_size FROM annotation_versions) refs "
      "ORDER BY sha{C}, size",
      postgres);
}

void AppendCanonical(std::string& out, Type type, const Cell& cell) {
  if (cell.null) {
    out += "N;";
    return;
  }
  switch (type) {
    case Type::kInt:
      out += 'i';
      out += std::to_string(cell.i);
      out += ';';
      return;
    case Type::kReal:
      out += 'r';
      out += FormatReal(cell.r);
      out += ';';
      return;
    case Type::kText:
      out += 't';
      out += std::to_string(cell.text.size());
      out += ':';
      out += cell.text;
      return;
  }
}

void AppendCopyText(std::string& out, Type type, const Cell& cell) {
  if (cell.null) {
    out += "\\N";
    return;
  }
  switch (type) {
    case Type::kInt:
      out += std::to_string(cell.i);
      return;
    case Type::kReal:
      out += FormatReal(cell.r);
      return;
    case Type::kText:
      for (const char c : cell.text) {
        switch (c) {
          case '\\':
            out += "\\\\";
            break;
          case '\t':
            out += "\\t";
            break;
          case '\n':
            out += "\\n";
            break;
          case '\r':
            out += "\\r";
            break;
          default:
            out += c;
        }
      }
      return;
  }
}

}  // namespace skintrack::storage::migrate
