#include "skintrack/pipeline/pseudonym.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "skintrack/core/error.h"
#include "skintrack/storage/sha256.h"

namespace skintrack::pipeline {
namespace {

constexpr char kSchemeLine[] = "scheme hmac-sha256";

std::string Hex(const unsigned char* bytes, std::size_t n) {
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) std::snprintf(&out[2 * i], 3, "%02x", bytes[i]);
  return out;
}

std::string HmacSha256Hex(const std::string& key, const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest,
           &n) == nullptr) {
    throw Error(ErrorCode::kInternal, "HMAC-SHA256 failed (OpenSSL)");
  }
  return Hex(digest, n);
}

}  // namespace

std::string SubjectId(const PseudonymKey& key, const std::string& patient_id) {
  const std::string digest = key.scheme == PseudonymKey::Scheme::kHmacSha256
                                 ? HmacSha256Hex(key.secret, patient_id)
                                 : storage::Sha256Hex(key.secret + ":" + patient_id);
  return "S-" + digest.substr(0, 12);
}

PseudonymKey LoadOrCreatePseudonymKey(const std::string& dir) {
  const std::filesystem::path path = std::filesystem::path(dir) / "pseudonym.key";
  {
    std::ifstream in(path);
    std::string secret;
    if (in >> secret && secret.size() == 64) {
      PseudonymKey key{PseudonymKey::Scheme::kSha256Concat, secret};
      std::string line;
      std::getline(in, line);  // the rest of line 1
      if (std::getline(in, line) && !line.empty()) {
        if (line != kSchemeLine) {
          throw Error(ErrorCode::kInvalidArgument,
                      path.string() + ": unknown pseudonym scheme '" + line + "'");
        }
        key.scheme = PseudonymKey::Scheme::kHmacSha256;
      }
      return key;
    }
  }
  unsigned char raw[32];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(raw), sizeof raw)) {
    throw Error(ErrorCode::kIo, "cannot read /dev/urandom");
  }
  PseudonymKey key{PseudonymKey::Scheme::kHmacSha256, Hex(raw, sizeof raw)};
  const std::string tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << key.secret << "\n" << kSchemeLine << "\n";
    if (!out) throw Error(ErrorCode::kIo, "cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
  return key;
}

}  // namespace skintrack::pipeline
