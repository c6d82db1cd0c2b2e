// Pseudonymous subject ids shown to trial coordinators (and in cohort exports): stable for a data
// directory, not reversible without the directory's secret key.
//
// Two schemes, recorded in the key file `pseudonym.key` of the data directory:
//   line 1: the secret, 64 hex digits (256 random bits)
//   line 2: "scheme hmac-sha256" (absent in data directories created before it existed)
// kHmacSha256 (new directories): "S-" + the first 12 hex digits of HMAC-SHA256(secret, patient
// id), the standard keyed hash. kSha256Concat (directories without line 2): "S-" + 12 hex digits
// of SHA-256(secret + ":" + patient id), the original function, kept so that their subject ids,
// which coordinators and exported datasets already use, stay the same. An old binary reading a
// new key file still takes line 1 as its secret (it does not recreate the file).
#pragma once

#include <string>
#include <string_view>

namespace skintrack::storage {
class Repository;
}

namespace skintrack::pipeline {

struct PseudonymKey {
  enum class Scheme { kSha256Concat, kHmacSha256 };
  Scheme scheme = Scheme::kHmacSha256;
  std::string secret;  // the key file's hex text (its characters are the HMAC key)
};

// The data directory's key (created with a new random secret and kHmacSha256 on first use).
// Throws Error(kIo) when it cannot be read or written, Error(kInvalidArgument) for an unknown
// scheme line.
PseudonymKey LoadOrCreatePseudonymKey(const std::string& data_dir);

// The key of a node whose metadata is in `repository`: on a database that several nodes share
// (PostgreSQL) the database's key (Repository::SharedSetting "pseudonym_key"), which the first
// node to ask stores: its directory's pseudonym.key when it has one (so that a migrated
// directory's subject ids stay the same), else a new secret; no file is written. A directory whose
// own pseudonym.key differs from the database's is refused (Error(kConflict)): its subject ids
// would not be the cluster's. On SQLite: LoadOrCreatePseudonymKey(data_dir).
PseudonymKey LoadOrCreatePseudonymKey(const std::string& data_dir, storage::Repository& repository);

// "S-" + 12 hex digits (see above). Throws Error(kInternal) if OpenSSL fails. Thread-safe.
std::string SubjectId(const PseudonymKey& key, const std::string& patient_id);

// --- What pseudonymised readers see (coordinators in the API, the cohort CSV / FHIR exports) ---
// The one home of the rule (docs/service.md, "Validation, privacy and tokens"): they get subject
// ids instead of patient ids, never free text (assessment notes, token labels, processing error
// messages: callers leave those out), and the short structured fields below only when they match
// a closed pattern, because a clinician or a device can type anything into them
// ("P002-JaneDoe-week12").

// True for "baseline", "screening", and an optional unit (week, wk, day, month, visit, v, w, d, m,
// fu) with an optional '-' or '_' before 1-4 digits: "week12", "W-12", "v3", "d_100", "12".
// Case-insensitive.
bool IsSafeVisitLabel(std::string_view label);
// The label itself when IsSafeVisitLabel or empty, else "redacted-" + 8 hex digits of
// HMAC-SHA256(key, label): distinct labels stay distinct visits, the text does not leave.
// Throws Error(kInternal) if OpenSSL fails. Thread-safe.
std::string PseudonymisedVisitLabel(const PseudonymKey& key, const std::string& label);
// The age band itself when it is empty or like "40-49", "80-", "45" (1-3 digits, optionally '-'
// and 0-3 digits), else "redacted".
std::string PseudonymisedAgeBand(const std::string& age_band);

}  // namespace skintrack::pipeline
