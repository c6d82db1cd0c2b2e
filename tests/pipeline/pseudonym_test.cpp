#include "skintrack/pipeline/pseudonym.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "skintrack/core/error.h"

namespace skintrack::pipeline {
namespace {

namespace fs = std::filesystem;

// Known answers computed independently (Python's hashlib / hmac):
//   sha256(b"test-key:P1")[:12] and hmac.new(b"test-key", b"P1", sha256)[:12].
TEST(Pseudonym, BothSchemesGiveTheirKnownAnswers) {
  const PseudonymKey legacy{PseudonymKey::Scheme::kSha256Concat, "test-key"};
  const PseudonymKey hmac{PseudonymKey::Scheme::kHmacSha256, "test-key"};
  EXPECT_EQ(SubjectId(legacy, "P1"), "S-16c14d8ebabe");
  EXPECT_EQ(SubjectId(hmac, "P1"), "S-fb3dbc217b44");
  EXPECT_NE(SubjectId(hmac, "P2"), SubjectId(hmac, "P1"));
  EXPECT_NE(SubjectId({PseudonymKey::Scheme::kHmacSha256, "other"}, "P1"), SubjectId(hmac, "P1"));
}

class PseudonymKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("skintrack-pseudonym-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Read() const {
    std::ifstream in(dir_ / "pseudonym.key");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path dir_;
};

TEST_F(PseudonymKeyFile, ANewDirectoryUsesHmacAndStaysStable) {
  const PseudonymKey created = LoadOrCreatePseudonymKey(dir_.string());
  EXPECT_EQ(created.scheme, PseudonymKey::Scheme::kHmacSha256);
  EXPECT_EQ(created.secret.size(), 64u);
  EXPECT_EQ(Read(), created.secret + "\nscheme hmac-sha256\n");
  const PseudonymKey again = LoadOrCreatePseudonymKey(dir_.string());
  EXPECT_EQ(again.scheme, created.scheme);
  EXPECT_EQ(again.secret, created.secret);
  EXPECT_EQ(SubjectId(again, "P1"), SubjectId(created, "P1"));
}

TEST_F(PseudonymKeyFile, AnExistingDirectoryKeepsItsSubjectIds) {
  // A key file written before the scheme line existed: the original SHA-256 function, unchanged.
  const std::string secret(64, 'a');
  std::ofstream(dir_ / "pseudonym.key") << secret << "\n";
  const PseudonymKey key = LoadOrCreatePseudonymKey(dir_.string());
  EXPECT_EQ(key.scheme, PseudonymKey::Scheme::kSha256Concat);
  EXPECT_EQ(key.secret, secret);
  EXPECT_EQ(SubjectId(key, "P1"), SubjectId({PseudonymKey::Scheme::kSha256Concat, secret}, "P1"));
  EXPECT_EQ(Read(), secret + "\n");  // not rewritten
}

TEST_F(PseudonymKeyFile, AnUnknownSchemeIsAnErrorAndChangesNothing) {
  const std::string text = std::string(64, 'b') + "\nscheme rot13\n";
  std::ofstream(dir_ / "pseudonym.key") << text;
  EXPECT_THROW(LoadOrCreatePseudonymKey(dir_.string()), Error);
  EXPECT_EQ(Read(), text);
}

}  // namespace
}  // namespace skintrack::pipeline
