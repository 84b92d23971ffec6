#include "frontend/http/admin_codec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

using ::testing::HasSubstr;

template <typename Decode>
std::string Error(Decode decode, std::string body) {
  auto result = decode(body);
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(result.status().message());
}

TEST(RegisterModelBodyTest, DecodesNameAndUrl) {
  std::string body = R"({"model_name": "t1", "url": "/srv/models/t1.tar.gz", "x": 1})";
  auto decoded = DecodeRegisterModelBody(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->model_name, "t1");
  EXPECT_EQ(decoded->url, "/srv/models/t1.tar.gz");
}

TEST(RegisterModelBodyTest, NamesMissingOrMistypedFields) {
  EXPECT_EQ(Error(DecodeRegisterModelBody, R"({"url": "x"})"), "body must have 'model_name'");
  EXPECT_EQ(Error(DecodeRegisterModelBody, R"({"model_name": "x"})"), "body must have 'url'");
  EXPECT_EQ(Error(DecodeRegisterModelBody, R"({"model_name": 1, "url": "x"})"),
            "field 'model_name' must be a string");
  EXPECT_THAT(Error(DecodeRegisterModelBody, R"({"model_name": )"), HasSubstr("invalid JSON at byte"));
  EXPECT_EQ(Error(DecodeRegisterModelBody, ""), "body is empty; expected a JSON object");
}

TEST(RepositoryLoadBodyTest, PinIsOptional) {
  std::string empty;
  EXPECT_FALSE(DecodeRepositoryLoadBody(empty)->has_value());
  std::string no_params = "{}";
  EXPECT_FALSE(DecodeRepositoryLoadBody(no_params)->has_value());
  std::string pin = R"({"parameters": {"pin": true}})";
  EXPECT_EQ(*DecodeRepositoryLoadBody(pin), std::optional<bool>(true));
  std::string unpin = R"({"parameters": {"pin": false, "other": 3}})";
  EXPECT_EQ(*DecodeRepositoryLoadBody(unpin), std::optional<bool>(false));
}

TEST(RepositoryLoadBodyTest, RejectsWrongTypes) {
  EXPECT_EQ(Error(DecodeRepositoryLoadBody, R"({"parameters": 3})"), "field 'parameters' must be an object");
  EXPECT_EQ(Error(DecodeRepositoryLoadBody, R"({"parameters": {"pin": "yes"}})"),
            "field 'parameters.pin' must be true or false");
  EXPECT_THAT(Error(DecodeRepositoryLoadBody, "{pin}"), HasSubstr("invalid JSON"));
}

TEST(RepositoryIndexBodyTest, ReadyDefaultsToFalse) {
  std::string empty = " ";
  EXPECT_FALSE(*DecodeRepositoryIndexBody(empty));
  std::string ready = R"({"ready": true})";
  EXPECT_TRUE(*DecodeRepositoryIndexBody(ready));
  EXPECT_EQ(Error(DecodeRepositoryIndexBody, R"({"ready": 1})"), "field 'ready' must be true or false");
}

}  // namespace
}  // namespace modelmux
