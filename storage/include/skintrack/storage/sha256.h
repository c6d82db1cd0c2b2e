// SHA-256 (FIPS 180-4), used to address blobs by content and to hash token secrets. Our own small
// implementation so the storage module needs no crypto library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace skintrack::storage {

// Incremental hasher. Not thread-safe: one instance per thread. Update() after Final() throws
// Error(kInternal).
class Sha256 {
 public:
  Sha256();
  void Update(const void* data, std::size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
  // The 32-byte digest; the object cannot be updated afterwards.
  std::array<std::uint8_t, 32> Final();

 private:
  void Block(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

// Lower-case hexadecimal digest (64 characters) of `size` bytes. Thread-safe.
std::string Sha256Hex(const void* data, std::size_t size);
inline std::string Sha256Hex(std::string_view bytes) {
  return Sha256Hex(bytes.data(), bytes.size());
}

// True for exactly 64 lower-case hexadecimal characters (the form Sha256Hex returns).
bool IsSha256Hex(std::string_view text) noexcept;

}  // namespace skintrack::storage
