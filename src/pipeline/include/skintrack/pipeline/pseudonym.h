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

// "S-" + 12 hex digits (see above). Throws Error(kInternal) if OpenSSL fails. Thread-safe.
std::string SubjectId(const PseudonymKey& key, const std::string& patient_id);

}  // namespace skintrack::pipeline
