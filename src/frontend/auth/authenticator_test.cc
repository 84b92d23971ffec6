#include "frontend/auth/authenticator.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "frontend/auth/test_headers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAdmin1[] = "admin-token-one-0123456789";
constexpr char kAdmin2[] = "admin-token-two-0123456789";
constexpr char kApi[] = "api-token-0123456789abcdef";

AuthResult Check(const Authenticator& auth, std::string authorization) {
  ListHeaders headers;
  if (!authorization.empty()) headers.Add("Authorization", authorization);
  return auth.Authenticate(AuthRequest{"POST", "/models", "", "", &headers});
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  // A directory of this test's own: ctest runs each test case as a process of
  // its own, in parallel, and a shared /tmp/admin.txt was rewritten under them.
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/authenticator_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    options_.admin_token_file =
        WriteFile("admin.txt", absl::StrCat("# admins\n", kAdmin1, "\n", kAdmin2, "\n"));
    options_.api_token_file = WriteFile("api.txt", absl::StrCat(kApi, "\n"));
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string WriteFile(const std::string& name, const std::string& text) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::trunc) << text;
    return path;
  }

  std::string dir_;
  Authenticator::Options options_;
};

TEST_F(AuthenticatorTest, GrantsTheLevelOfTheFileATokenIsIn) {
  absl::StatusOr<std::unique_ptr<Authenticator>> auth = Authenticator::Create(options_);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(Check(**auth, absl::StrCat("Bearer ", kAdmin1)).level, AccessLevel::kAdmin);
  EXPECT_EQ(Check(**auth, absl::StrCat("bearer  ", kAdmin2, " ")).level, AccessLevel::kAdmin);
  EXPECT_EQ(Check(**auth, absl::StrCat("Bearer ", kApi)).level, AccessLevel::kApi);
  EXPECT_TRUE((*auth)->protects_api());
  EXPECT_TRUE((*auth)->has_admin_credentials());
}

TEST_F(AuthenticatorTest, SaysWhyNothingIsGrantedWithoutEchoingTheCredential) {
  std::unique_ptr<Authenticator> auth = *Authenticator::Create(options_);
  AuthResult missing = Check(*auth, "");
  EXPECT_EQ(missing.level, AccessLevel::kNone);
  EXPECT_EQ(missing.failure, AuthFailure::kMissing);
  AuthResult wrong = Check(*auth, "Bearer wrong-token-0123456789-secret");
  EXPECT_EQ(wrong.failure, AuthFailure::kInvalid);
  EXPECT_THAT(wrong.message, Not(HasSubstr("wrong-token")));
  EXPECT_EQ(Check(*auth, absl::StrCat("Basic ", kAdmin1)).failure, AuthFailure::kInvalid);
  EXPECT_THAT(Check(*auth, "Basic dXNlcjpwYXNz").message, HasSubstr("unsupported Authorization scheme"));
  AuthResult sigv4 =
      Check(*auth, "AWS4-HMAC-SHA256 Credential=A/B/C/D/aws4_request, SignedHeaders=host, Signature=0");
  EXPECT_EQ(sigv4.failure, AuthFailure::kInvalid);
  EXPECT_TRUE(sigv4.sigv4);
  EXPECT_THAT(sigv4.message, HasSubstr("not accepted"));
}

TEST_F(AuthenticatorTest, OnlyAdminTokensLeaveApiRoutesOpen) {
  options_.api_token_file.clear();
  std::unique_ptr<Authenticator> auth = *Authenticator::Create(options_);
  EXPECT_FALSE(auth->protects_api());
  EXPECT_EQ(Check(*auth, absl::StrCat("Bearer ", kApi)).failure, AuthFailure::kInvalid);
}

TEST_F(AuthenticatorTest, CreateFailsOnAnUnreadableOrEmptyFile) {
  EXPECT_FALSE(Authenticator::Create({}).ok());
  options_.api_token_file = WriteFile("empty.txt", "# nothing\n");
  absl::StatusOr<std::unique_ptr<Authenticator>> auth = Authenticator::Create(options_);
  ASSERT_FALSE(auth.ok());
  EXPECT_THAT(auth.status().message(), HasSubstr("empty.txt"));
  options_.api_token_file = dir_ + "/absent.txt";
  EXPECT_FALSE(Authenticator::Create(options_).ok());
}

TEST_F(AuthenticatorTest, ReloadRotatesTokensAndKeepsTheOldOnesWhenAFileIsBad) {
  std::unique_ptr<Authenticator> auth = *Authenticator::Create(options_);
  constexpr char kNew[] = "admin-token-new-0123456789";
  WriteFile("admin.txt", absl::StrCat(kAdmin2, "\n", kNew, "\n"));
  ASSERT_TRUE(auth->Reload().ok());
  EXPECT_EQ(Check(*auth, absl::StrCat("Bearer ", kAdmin1)).failure, AuthFailure::kInvalid);
  EXPECT_EQ(Check(*auth, absl::StrCat("Bearer ", kAdmin2)).level, AccessLevel::kAdmin);
  EXPECT_EQ(Check(*auth, absl::StrCat("Bearer ", kNew)).level, AccessLevel::kAdmin);

  WriteFile("admin.txt", "too-short\n");
  WriteFile("api.txt", absl::StrCat(kAdmin1, "\n"));  // this one is fine: it is applied
  absl::Status reloaded = auth->Reload();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_THAT(reloaded.message(), HasSubstr("admin.txt: line 1"));
  EXPECT_THAT(reloaded.message(), HasSubstr("kept the previous"));
  EXPECT_THAT(reloaded.message(), Not(HasSubstr("too-short")));
  EXPECT_EQ(Check(*auth, absl::StrCat("Bearer ", kNew)).level, AccessLevel::kAdmin);
  EXPECT_EQ(Check(*auth, absl::StrCat("Bearer ", kAdmin1)).level, AccessLevel::kApi);
  EXPECT_EQ(Check(*auth, absl::StrCat("Bearer ", kApi)).failure, AuthFailure::kInvalid);
}

TEST_F(AuthenticatorTest, SigV4KeysMarkedAdminAreAdmins) {
  options_.admin_token_file.clear();
  options_.api_token_file.clear();
  options_.sigv4_credentials_file = WriteFile("sigv4.txt", "AKIDONE secret-one\n");
  std::unique_ptr<Authenticator> auth = *Authenticator::Create(options_);
  EXPECT_TRUE(auth->protects_api());
  EXPECT_FALSE(auth->has_admin_credentials());
  EXPECT_THAT(Check(*auth, "").message, HasSubstr("SigV4"));
  EXPECT_THAT(Check(*auth, absl::StrCat("Bearer ", kApi)).message, HasSubstr("not accepted"));
  WriteFile("sigv4.txt", "AKIDONE secret-one admin\n");
  ASSERT_TRUE(auth->Reload().ok());
  EXPECT_TRUE(auth->has_admin_credentials());
}

}  // namespace
}  // namespace modelmux
