// SHA-256 (FIPS 180-4), used to address blobs by content and to hash token secrets. Computed by
// OpenSSL's libcrypto (EVP), linked privately: this header names no OpenSSL type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace skintrack::storage {

// Incremental hasher. Not thread-safe: one instance per thread. Update() or Final() after Final()
// throws Error(kInternal); so does a failure inside OpenSSL (out of memory).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, std::size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
  // The 32-byte digest; the object cannot be updated afterwards.
  std::array<std::uint8_t, 32> Final();
  // Final() as lower-case hexadecimal (the form Sha256Hex returns).
  std::string FinalHex();

 private:
  struct Context;  // owns the EVP_MD_CTX
  std::unique_ptr<Context> context_;
  bool finished_ = false;
};

// A digest as 64 lower-case hexadecimal characters.
std::string DigestHex(const std::array<std::uint8_t, 32>& digest);

// Lower-case hexadecimal digest (64 characters) of `size` bytes. Thread-safe.
std::string Sha256Hex(const void* data, std::size_t size);
inline std::string Sha256Hex(std::string_view bytes) {
  return Sha256Hex(bytes.data(), bytes.size());
}

// True for exactly 64 lower-case hexadecimal characters (the form Sha256Hex returns).
bool IsSha256Hex(std::string_view text) noexcept;

}  // namespace skintrack::storage
