#include "skintrack/pipeline/pseudonym.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "skintrack/core/error.h"
#include "skintrack/storage/repository.h"
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

bool AllDigits(std::string_view text, std::size_t min, std::size_t max) {
  return text.size() >= min && text.size() <= max &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Writes `text` to `path` created with mode 0600 (whatever the umask), flushed to disk.
void WriteSecretFile(const std::string& path, const std::string& text) {
  auto fail = [&](const char* what) {
    throw Error(ErrorCode::kIo, "cannot " + std::string(what) + " " + path + ": " +
                                    std::error_code(errno, std::generic_category()).message());
  };
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("create");
  // A file left by an interrupted earlier run keeps its old mode through O_CREAT: set it.
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (!ok) fail("write");
}

}  // namespace

bool IsSafeVisitLabel(std::string_view label) {
  const std::string l = Lower(label);
  if (l == "baseline" || l == "screening") return true;
  static constexpr std::array<std::string_view, 11> kUnits = {
      "week", "wk", "day", "month", "visit", "v", "w", "d", "m", "fu", ""};
  for (std::string_view unit : kUnits) {
    if (l.compare(0, unit.size(), unit) != 0) continue;
    std::string_view rest = std::string_view(l).substr(unit.size());
    if (!rest.empty() && (rest[0] == '-' || rest[0] == '_')) rest.remove_prefix(1);
    if (AllDigits(rest, 1, 4)) return true;
  }
  return false;
}

std::string PseudonymisedVisitLabel(const PseudonymKey& key, const std::string& label) {
  if (label.empty() || IsSafeVisitLabel(label)) return label;
  // Keyed, so that a reader without the key cannot test guesses of the original text.
  return "redacted-" + HmacSha256Hex(key.secret, "visit-label:" + label).substr(0, 8);
}

std::string PseudonymisedAgeBand(const std::string& age_band) {
  if (age_band.empty()) return age_band;
  const std::size_t dash = age_band.find('-');
  const bool safe = dash == std::string::npos
                        ? AllDigits(age_band, 1, 3)
                        : AllDigits(std::string_view(age_band).substr(0, dash), 1, 3) &&
                              AllDigits(std::string_view(age_band).substr(dash + 1), 0, 3);
  return safe ? age_band : "redacted";
}

std::string SubjectId(const PseudonymKey& key, const std::string& patient_id) {
  const std::string digest = key.scheme == PseudonymKey::Scheme::kHmacSha256
                                 ? HmacSha256Hex(key.secret, patient_id)
                                 : storage::Sha256Hex(key.secret + ":" + patient_id);
  return "S-" + digest.substr(0, 12);
}

namespace {

// The key file's text: line 1 the secret, line 2 the scheme (absent for kSha256Concat keys).
std::string KeyText(const PseudonymKey& key) {
  return key.secret + "\n" +
         (key.scheme == PseudonymKey::Scheme::kHmacSha256 ? std::string(kSchemeLine) + "\n" : "");
}

// The key in `text` (KeyText's format), std::nullopt when it holds no 64-digit secret.
// Error(kInvalidArgument) naming `origin` for an unknown scheme line.
std::optional<PseudonymKey> ParseKeyText(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string secret;
  if (!(in >> secret) || secret.size() != 64) return std::nullopt;
  PseudonymKey key{PseudonymKey::Scheme::kSha256Concat, secret};
  std::string line;
  std::getline(in, line);  // the rest of line 1
  if (std::getline(in, line) && !line.empty()) {
    if (line != kSchemeLine) {
      throw Error(ErrorCode::kInvalidArgument,
                  origin + ": unknown pseudonym scheme '" + line + "'");
    }
    key.scheme = PseudonymKey::Scheme::kHmacSha256;
  }
  return key;
}

std::optional<PseudonymKey> ReadKeyFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return ParseKeyText(text.str(), path.string());
}

PseudonymKey NewKey() {
  unsigned char raw[32];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(raw), sizeof raw)) {
    throw Error(ErrorCode::kIo, "cannot read /dev/urandom");
  }
  return PseudonymKey{PseudonymKey::Scheme::kHmacSha256, Hex(raw, sizeof raw)};
}

}  // namespace

PseudonymKey LoadOrCreatePseudonymKey(const std::string& dir) {
  const std::filesystem::path path = std::filesystem::path(dir) / "pseudonym.key";
  if (std::optional<PseudonymKey> existing = ReadKeyFile(path)) return *existing;
  PseudonymKey key = NewKey();
  // Anyone who can read the key can recompute every subject id: owner-only from its creation.
  const std::string tmp = path.string() + ".tmp";
  WriteSecretFile(tmp, KeyText(key));
  std::filesystem::rename(tmp, path);
  return key;
}

PseudonymKey LoadOrCreatePseudonymKey(const std::string& dir, storage::Repository& repository) {
  const std::filesystem::path path = std::filesystem::path(dir) / "pseudonym.key";
  const std::optional<PseudonymKey> own = ReadKeyFile(path);
  const std::optional<std::string> shared =
      repository.SharedSetting(storage::kPseudonymKeySetting, KeyText(own ? *own : NewKey()));
  if (!shared) return LoadOrCreatePseudonymKey(dir);  // one node: the directory's file
  const std::optional<PseudonymKey> key = ParseKeyText(*shared, "the database's pseudonym key");
  if (!key) {
    throw Error(ErrorCode::kStorage, "the database's pseudonym key is not a 64-digit secret");
  }
  if (own && (own->secret != key->secret || own->scheme != key->scheme)) {
    throw Error(ErrorCode::kConflict,
                path.string() +
                    " is not the pseudonym key of the database, which every node shares: "
                    "subject ids would differ between nodes. Move the file out of the data "
                    "directory to use the database's key (docs/storage.md, cluster set-up)");
  }
  return *key;
}

}  // namespace skintrack::pipeline
