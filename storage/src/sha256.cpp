// SHA-256 through OpenSSL's EVP interface (libcrypto), in place of the hand-written FIPS 180-4
// code this file used to hold: OpenSSL's is maintained, validated and uses the CPU's SHA
// extensions where there are any. OpenSSL errors become Error(kInternal): with valid arguments
// the EVP digest calls only fail when memory runs out.
#include "skintrack/storage/sha256.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include "skintrack/core/error.h"

namespace skintrack::storage {
namespace {

[[noreturn]] void ThrowOpenSsl(const char* what) {
  char reason[256] = "no OpenSSL error queued";
  if (const unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, reason, sizeof reason);
  }
  ERR_clear_error();
  throw Error(ErrorCode::kInternal, std::string("SHA-256: ") + what + " failed: " + reason);
}

// Fetched once (OpenSSL 3 would otherwise look the algorithm up again at every init); kept for
// the life of the process. Static initialisation is thread-safe.
const EVP_MD* Sha256Md() {
  static EVP_MD* const kMd = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (kMd == nullptr) ThrowOpenSsl("EVP_MD_fetch(SHA256)");
  return kMd;
}

}  // namespace

struct Sha256::Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Context() = default;
  ~Context() { EVP_MD_CTX_free(ctx); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  if (context_->ctx == nullptr) ThrowOpenSsl("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(context_->ctx, Sha256Md(), nullptr) != 1) ThrowOpenSsl("EVP_DigestInit");
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(const void* data, std::size_t size) {
  if (finished_ || !context_) throw Error(ErrorCode::kInternal, "Sha256::Update after Final");
  if (EVP_DigestUpdate(context_->ctx, data, size) != 1) ThrowOpenSsl("EVP_DigestUpdate");
}

std::array<std::uint8_t, 32> Sha256::Final() {
  if (finished_ || !context_) throw Error(ErrorCode::kInternal, "Sha256::Final called twice");
  finished_ = true;
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->ctx, digest.data(), &length) != 1 || length != digest.size()) {
    ThrowOpenSsl("EVP_DigestFinal");
  }
  return digest;
}

std::string Sha256::FinalHex() { return DigestHex(Final()); }

std::string DigestHex(const std::array<std::uint8_t, 32>& digest) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (const std::uint8_t b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  return hex;
}

std::string Sha256Hex(const void* data, std::size_t size) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data, size, digest.data(), &length, Sha256Md(), nullptr) != 1 || length != 32) {
    ThrowOpenSsl("EVP_Digest");
  }
  return DigestHex(digest);
}

bool IsSha256Hex(std::string_view text) noexcept {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace skintrack::storage
