#include "frontend/http/json_writer.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

// The string nlohmann::json reads back from our encoding of `s`.
std::string RoundTrip(std::string_view s) { return nlohmann::json::parse(Quoted(s)).get<std::string>(); }

TEST(JsonWriterTest, PlacesCommasInNestedContainers) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().Int(2).BeginArray().EndArray();
  w.BeginObject().Key("c").Null().EndObject().EndArray().Key("d").Bool(false).EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":[2,[],{"c":null}],"d":false})");
  EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string tricky = std::string("say \"hi\"\\ \n\t\r\b\f") + '\x01' + '\x1f' + '\0' + "end";
  EXPECT_EQ(Quoted("a\"b\\c\n"), R"("a\"b\\c\n")");
  EXPECT_EQ(Quoted(std::string("\x01", 1)), R"("\u0001")");
  EXPECT_EQ(RoundTrip(tricky), tricky);
}

TEST(JsonWriterTest, CopiesWellFormedUtf8Unescaped) {
  const std::string text = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80";  // café 日本 😀
  EXPECT_EQ(Quoted(text), "\"" + text + "\"");
  EXPECT_EQ(RoundTrip(text), text);
}

TEST(JsonWriterTest, ReplacesInvalidUtf8WithReplacementCharacter) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(RoundTrip("a\xFF"
                      "b"),
            "a" + replacement + "b");
  EXPECT_EQ(RoundTrip("\xC0\xAF"), replacement + replacement);                    // overlong '/'
  EXPECT_EQ(RoundTrip("\xED\xA0\x80"), replacement + replacement + replacement);  // surrogate
  EXPECT_EQ(RoundTrip("x\xE6\x97"), "x" + replacement + replacement);             // truncated
  EXPECT_EQ(RoundTrip("\xF4\x90\x80\x80").substr(0, 3), replacement);             // above U+10FFFF
}

TEST(JsonWriterTest, WritesShortestRoundTrippingFloatsAndNullForNonFinite) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray().Float(0.93f).Float(1.0f).Double(0.1).Float(std::numeric_limits<float>::quiet_NaN());
  w.Double(std::numeric_limits<double>::infinity()).Int(-42).EndArray();
  EXPECT_EQ(out, "[0.93,1,0.1,null,null,-42]");
  auto parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed[0].get<float>(), 0.93f);
}

TEST(JsonWriterTest, ErrorBodyIsAnEscapedErrorObject) {
  const std::string body = JsonErrorBody("no route for GET /x\"y");
  EXPECT_EQ(nlohmann::json::parse(body)["error"], "no route for GET /x\"y");
}

}  // namespace
}  // namespace modelmux
