// The compiled-in schema migrations (storage/migrations/NNNN_name.sql), in order. Private to the
// storage module and its tests.
#pragma once

#include <vector>

namespace skintrack::storage::internal {

struct Migration {
  int version;       // 1, 2, ... without gaps (checked by CMake)
  const char* name;  // file name without .sql
  const char* sql;
};

const std::vector<Migration>& Migrations();

}  // namespace skintrack::storage::internal
