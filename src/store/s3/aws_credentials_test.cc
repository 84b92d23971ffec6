#include "store/s3/aws_credentials.h"

#include <stdlib.h>

#include <fstream>
#include <map>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class AwsCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "aws-credentials-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    home_ = dir;
    fs::create_directories(home_ / ".aws");
    std::ofstream(home_ / ".aws" / "credentials") << "# comment\n"
                                                  << "[default]\n"
                                                  << "aws_access_key_id = FILEKEY\n"
                                                  << "aws_secret_access_key=FILESECRET\n"
                                                  << "[ci]\n"
                                                  << "aws_access_key_id = CIKEY\n"
                                                  << "aws_secret_access_key = CISECRET\n"
                                                  << "aws_session_token = CITOKEN\n"
                                                  << "[broken]\n"
                                                  << "aws_access_key_id = ONLYKEY\n";
  }
  void TearDown() override { fs::remove_all(home_); }
  fs::path home_;
};

TEST_F(AwsCredentialsTest, EnvironmentWins) {
  auto credentials = FindAwsCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                                 {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
                                                 {"AWS_SESSION_TOKEN", "ENVTOKEN"},
                                                 {"HOME", home_.string()}}));
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_EQ(credentials->access_key_id, "ENVKEY");
  EXPECT_EQ(credentials->secret_access_key, "ENVSECRET");
  EXPECT_EQ(credentials->session_token, "ENVTOKEN");
}

TEST_F(AwsCredentialsTest, FallsBackToTheDefaultProfile) {
  auto credentials = FindAwsCredentials(FakeEnv({{"HOME", home_.string()}}));
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_EQ(credentials->access_key_id, "FILEKEY");
  EXPECT_EQ(credentials->secret_access_key, "FILESECRET");
  EXPECT_EQ(credentials->session_token, "");
}

TEST_F(AwsCredentialsTest, HonoursAwsProfile) {
  auto credentials = FindAwsCredentials(FakeEnv({{"HOME", home_.string()}, {"AWS_PROFILE", "ci"}}));
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_EQ(credentials->access_key_id, "CIKEY");
  EXPECT_EQ(credentials->session_token, "CITOKEN");
}

TEST_F(AwsCredentialsTest, IncompleteProfileIsAnError) {
  auto credentials = FindAwsCredentials(FakeEnv({{"HOME", home_.string()}, {"AWS_PROFILE", "broken"}}));
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AwsCredentialsTest, NothingFoundSaysWhereItLooked) {
  auto credentials = FindAwsCredentials(FakeEnv({{"HOME", (home_ / "nowhere").string()}}));
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(credentials.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

}  // namespace
}  // namespace modelmux
