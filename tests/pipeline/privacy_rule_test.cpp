// What pseudonymised readers see (skintrack/pipeline/pseudonym.h): visit labels and age bands
// only in a safe form, and the key file that recomputes subject ids readable by its owner only.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "skintrack/pipeline/pseudonym.h"

namespace skintrack::pipeline {
namespace {

namespace fs = std::filesystem;

const PseudonymKey kKey{PseudonymKey::Scheme::kHmacSha256, "test-key"};

TEST(VisitLabelRule, OnlyNumberedVisitsAndTheFixedWordsPass) {
  for (const char* safe :
       {"baseline", "Screening", "week12", "Week-12", "W_12", "wk3", "v1", "V-01", "visit7", "d100",
        "day-0", "month6", "m-3", "fu2", "12", "9999"}) {
    EXPECT_TRUE(IsSafeVisitLabel(safe)) << safe;
    EXPECT_EQ(PseudonymisedVisitLabel(kKey, safe), safe);
  }
  for (const char* unsafe :
       {"P002-JaneDoe-week12", "JaneDoe", "week12-JaneDoe", "week", "week12345", "MRN4711x",
        "load-17", "2026-01-10", "baseline2x", "v1.5", "week--12", "weekly12", "x12"}) {
    EXPECT_FALSE(IsSafeVisitLabel(unsafe)) << unsafe;
    const std::string shown = PseudonymisedVisitLabel(kKey, unsafe);
    EXPECT_EQ(shown.rfind("redacted-", 0), 0u) << shown;
    EXPECT_EQ(shown.size(), 17u) << shown;
    EXPECT_FALSE(IsSafeVisitLabel(shown));  // a redacted label never looks like a real one
  }
  EXPECT_EQ(PseudonymisedVisitLabel(kKey, ""), "");
  // Stable (the same visit groups together), distinct labels stay distinct, keyed.
  EXPECT_EQ(PseudonymisedVisitLabel(kKey, "JaneDoe"), PseudonymisedVisitLabel(kKey, "JaneDoe"));
  EXPECT_NE(PseudonymisedVisitLabel(kKey, "JaneDoe"), PseudonymisedVisitLabel(kKey, "JohnDoe"));
  EXPECT_NE(PseudonymisedVisitLabel(kKey, "JaneDoe"),
            PseudonymisedVisitLabel({PseudonymKey::Scheme::kHmacSha256, "other"}, "JaneDoe"));
}

TEST(AgeBandRule, OnlyNumericBandsPass) {
  for (const char* safe : {"", "40-49", "80-", "45", "0-17", "100-120"}) {
    EXPECT_EQ(PseudonymisedAgeBand(safe), safe);
  }
  for (const char* unsafe :
       {"JaneDoe", "40-49y", "1234", "40_49", "-", "-40", "4o-49", "40-4711"}) {
    EXPECT_EQ(PseudonymisedAgeBand(unsafe), "redacted") << unsafe;
  }
}

class KeyFileMode : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("skintrack-keymode-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    old_umask_ = ::umask(0);  // the most permissive: the file's mode must not depend on it
  }
  void TearDown() override {
    ::umask(old_umask_);
    fs::remove_all(dir_);
  }
  unsigned Mode(const fs::path& p) const {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  fs::path dir_;
  mode_t old_umask_ = 0;
};

TEST_F(KeyFileMode, ANewKeyIsOwnerOnly) {
  LoadOrCreatePseudonymKey(dir_.string());
  EXPECT_EQ(Mode(dir_ / "pseudonym.key"), 0600u);
}

TEST_F(KeyFileMode, ALeftoverTempFileDoesNotLendItsMode) {
  // An earlier run died between creating the temp file and renaming it.
  std::ofstream(dir_ / "pseudonym.key.tmp") << "junk";
  fs::permissions(dir_ / "pseudonym.key.tmp", fs::perms::all);
  const PseudonymKey key = LoadOrCreatePseudonymKey(dir_.string());
  EXPECT_EQ(Mode(dir_ / "pseudonym.key"), 0600u);
  EXPECT_EQ(LoadOrCreatePseudonymKey(dir_.string()).secret, key.secret);
}

}  // namespace
}  // namespace skintrack::pipeline
