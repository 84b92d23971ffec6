// JsonWriter: appends compact JSON to a std::string, with correct string
// escaping, so responses are built into one buffer without a DOM.
//
//   std::string out;
//   JsonWriter w(&out);
//   w.BeginObject().Key("error").String(message).EndObject();
//
// Strings are written as valid UTF-8: quotes, backslashes and control
// characters are escaped, well-formed non-ASCII sequences are copied as they
// are, and bytes that are not valid UTF-8 become U+FFFD (labels come from
// files the server does not control). Non-finite numbers are written as null.
//
// Not thread-safe. REQUIRES: calls form well-nested JSON (at most 63 levels);
// the writer does not check the grammar beyond placing commas.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace modelmux {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Float(float value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

 private:
  void BeforeValue();
  void Open(char c);

  std::string* out_;
  uint64_t has_items_ = 0;  // bit d: the container at depth d has a member already
  int depth_ = 0;
  bool after_key_ = false;
};

// Appends `value` as a quoted, escaped JSON string.
void AppendJsonString(std::string* out, std::string_view value);

// {"error": "<message>"}
std::string JsonErrorBody(std::string_view message);

}  // namespace modelmux
