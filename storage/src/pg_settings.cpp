// Settings shared by every node on the database (migrations-pg/0003, Repository::SharedSetting).
#include "pg_repository.h"

namespace skintrack::storage::detail {

std::optional<std::string> PgRepository::SharedSetting(const std::string& name,
                                                       const std::string& value_if_absent) {
  ValidateSharedSetting(name, value_if_absent);
  std::string value;
  Write([&](PgConnection& c) {
    // First writer wins: a concurrent insert of another node makes this one a no-op, and the
    // SELECT below (a new statement, so a new snapshot under READ COMMITTED) sees its row.
    c.Exec(
        "INSERT INTO shared_settings (name, value, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (name) DO NOTHING",
        Params().Add(name).Add(value_if_absent).Add(Now()));
    const PgResult r =
        c.Exec("SELECT value FROM shared_settings WHERE name = $1", Params().Add(name));
    if (r.rows() != 1) throw Error(ErrorCode::kInternal, "shared setting " + name + " vanished");
    value = r.Text(0, 0);
  });
  return value;
}

}  // namespace skintrack::storage::detail
