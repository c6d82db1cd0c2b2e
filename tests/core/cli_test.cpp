#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../support/run_cli.h"

namespace skintrack {
namespace {

using skintrack::testing::RunCli;

TEST(Cli, NoCommandPrintsUsageAndFails) {
  auto r = RunCli("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage: skintrack"), std::string::npos);
}

TEST(Cli, UnknownCommandFails) {
  auto r = RunCli("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
}

TEST(Cli, UnknownOptionIsAnError) {
  auto r = RunCli("sites --colour red");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown option --colour"), std::string::npos) << r.err;
}

TEST(Cli, SitesJsonListsCatalogue) {
  auto r = RunCli("sites --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  bool face = false;
  for (const auto& s : j) face = face || (s["name"] == "face" && s["face"] == true);
  EXPECT_TRUE(face);
}

}  // namespace
}  // namespace skintrack
