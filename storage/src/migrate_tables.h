// Private to storage/src: what `db migrate` copies (migrate_to_pg.cpp). Every table of the
// schema, its columns in a fixed order with their types, the key order of its rows, and how a
// value is written canonically (for the content hash) and as COPY text. The SELECTs are valid in
// both SQLite and PostgreSQL, so the same statement reads both sides of the comparison.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace skintrack::storage::migrate {

enum class Type { kInt, kReal, kText };

struct Column {
  const char* name;     // as selected (an expression for the site)
  const char* copy_as;  // the target column COPY fills
  Type type;
  bool site = false;  // the body site's name: written to the target as its site id
};

struct Table {
  const char* name;
  std::vector<Column> columns;
  const char* order;       // ORDER BY of the canonical rows; {C} = byte-wise text collation
  const char* copy_order;  // ORDER BY of the copy, when the schema's triggers need one
  bool identity = false;   // has an identity column `id` whose sequence must pass the copy
};

// In dependency order (a table after the ones it references).
const std::vector<Table>& Tables();

// Tables that exist on a side but are not copied: derived (counts), the catalogue (filled by
// every start-up from the compiled-in list), bookkeeping of one backend.
bool IsNotCopied(std::string_view table);

// `SELECT cols FROM table ORDER BY ...` for `postgres` or SQLite.
std::string SelectSql(const Table& t, bool postgres, bool copy_order);
// `COPY table (cols) FROM STDIN`.
std::string CopySql(const Table& t);
// The distinct blobs the rows reference, as (sha256, size) in hash order.
std::string BlobReferencesSql(bool postgres);

// One value read from either side.
struct Cell {
  bool null = true;
  std::int64_t i = 0;
  double r = 0;
  std::string text;
};

// Canonical bytes of a cell (type-tagged, length-prefixed: no two rows encode alike).
void AppendCanonical(std::string& out, Type type, const Cell& cell);
// COPY text format: \N for NULL, backslash escapes for text.
void AppendCopyText(std::string& out, Type type, const Cell& cell);

}  // namespace skintrack::storage::migrate
