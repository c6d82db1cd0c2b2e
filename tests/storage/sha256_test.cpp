#include "skintrack/storage/sha256.h"

#include <gtest/gtest.h>

#include <string>

#include "skintrack/core/error.h"

namespace skintrack::storage {
namespace {

// FIPS 180-4 / NIST CSRC example vectors.
TEST(Sha256, StandardVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(
      Sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmno"
                "pqklmnopqrlmnopqrsmnopqrstnopqrstu"),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the 55/56/64-byte padding boundaries, fed in odd-sized pieces, must match the
// one-shot digest (which the vectors above pin down).
TEST(Sha256, IncrementalMatchesOneShotAcrossPaddingBoundaries) {
  for (std::size_t length : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u}) {
    std::string data(length, '\0');
    for (std::size_t i = 0; i < length; ++i) data[i] = static_cast<char>(i * 31 + 7);
    for (std::size_t piece : {1u, 3u, 63u, 64u, 100u}) {
      Sha256 hasher;
      for (std::size_t i = 0; i < length; i += piece) {
        hasher.Update(data.data() + i, std::min(piece, length - i));
      }
      const auto digest = hasher.Final();
      static const char kHex[] = "0123456789abcdef";
      std::string hex;
      for (auto b : digest) {
        hex += kHex[b >> 4];
        hex += kHex[b & 15];
      }
      EXPECT_EQ(hex, Sha256Hex(data)) << "length " << length << " piece " << piece;
    }
  }
}

TEST(Sha256, UpdateAfterFinalThrows) {
  Sha256 hasher;
  hasher.Final();
  EXPECT_THROW(hasher.Update("x"), Error);
}

TEST(Sha256, IsSha256Hex) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex(std::string(62, 'a') + "/."));
}

}  // namespace
}  // namespace skintrack::storage
