#include "frontend/http/codec.h"

#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<DecodedInfer> Invoke(std::string body) { return DecodeInvokeBody(body); }
absl::StatusOr<DecodedInfer> V2(std::string body) { return DecodeV2InferBody(body); }

// The InvalidArgument message of a failed decode ("" when it succeeded).
std::string InvokeError(std::string body) {
  auto decoded = DecodeInvokeBody(body);
  if (decoded.ok()) return "";
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(decoded.status().message());
}

std::string V2Error(std::string body) {
  auto decoded = DecodeV2InferBody(body);
  if (decoded.ok()) return "";
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(decoded.status().message());
}

TEST(DecodeInvokeTest, TextWithTopK) {
  auto d = Invoke(R"({"text": "my card was charged twice", "top_k": 5})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->texts, ElementsAre("my card was charged twice"));
  EXPECT_EQ(d->top_k, 5);
  EXPECT_FALSE(d->v2);
}

TEST(DecodeInvokeTest, InstancesWithDefaultTopKAndEscapes) {
  auto d = Invoke(R"({"instances": ["a \"quoted\" word", "caf\u00e9"], "extra": {"x": [1]}})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->texts, ElementsAre("a \"quoted\" word", "caf\xC3\xA9"));
  EXPECT_EQ(d->top_k, 0);
}

TEST(DecodeInvokeTest, BodyWithoutSpareCapacityIsPadded) {
  std::string body = R"({"text": "x"})";
  body.shrink_to_fit();
  auto d = DecodeInvokeBody(body);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->texts, ElementsAre("x"));
  EXPECT_EQ(body, R"({"text": "x"})");
}

TEST(DecodeInvokeTest, V2BodyOnAnInvokeRouteIsAnsweredInV2Form) {
  auto d = Invoke(R"({"id": "r1", "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1],
                      "data": ["hello"]}], "parameters": {"top_k": 2}})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->v2);
  EXPECT_EQ(d->id, "r1");
  EXPECT_EQ(d->top_k, 2);
  ASSERT_EQ(d->tensors.size(), 1u);
  EXPECT_THAT(d->tensors[0].bytes, ElementsAre("hello"));
}

TEST(DecodeInvokeTest, MalformedJsonNamesTheByte) {
  std::string message = InvokeError(R"({"text": "a",, "top_k": 3})");
  EXPECT_THAT(message, HasSubstr("invalid JSON at byte 13: "));
  EXPECT_THAT(InvokeError(R"({"text": "a")"), HasSubstr("invalid JSON at byte"));
  EXPECT_THAT(InvokeError(R"({"text": "a"} trailing)"), HasSubstr("invalid JSON at byte"));
  EXPECT_THAT(InvokeError("{\"text\": \"\xFF\"}"), HasSubstr("invalid JSON"));
}

TEST(DecodeInvokeTest, BodyMustBeANonEmptyObject) {
  EXPECT_EQ(InvokeError(""), "body is empty; expected a JSON object");
  EXPECT_EQ(InvokeError("  \n"), "body is empty; expected a JSON object");
  EXPECT_EQ(InvokeError(R"(["text"])"), "body must be a JSON object");
  EXPECT_EQ(InvokeError(R"("text")"), "body must be a JSON object");
}

TEST(DecodeInvokeTest, WrongTypesAreNamed) {
  EXPECT_EQ(InvokeError(R"({"text": 5})"), "'text' must be a string");
  EXPECT_EQ(InvokeError(R"({"text": null})"), "'text' must be a string");
  EXPECT_EQ(InvokeError(R"({"instances": "abc"})"),
            "'instances' must be a non-empty array of strings (texts) or of arrays of numbers (rows)");
  EXPECT_EQ(InvokeError(R"({"instances": []})"),
            "'instances' must be a non-empty array of strings (texts) or of arrays of numbers (rows)");
  EXPECT_EQ(InvokeError(R"({"instances": ["a", 2]})"), "'instances[1]' must be a string");
}

TEST(DecodeInvokeTest, TooManyInstances) {
  std::string body = R"({"instances": [)";
  for (size_t i = 0; i <= kMaxInstances; ++i) body += (i ? ",\"t\"" : "\"t\"");
  body += "]}";
  EXPECT_THAT(InvokeError(body), HasSubstr("send at most 1024 per request"));
}

TEST(DecodeInvokeTest, TopKMustBeAnIntegerFromOneTo1000) {
  const std::string positive = "field 'top_k' must be a positive integer";
  EXPECT_EQ(InvokeError(R"({"text": "a", "top_k": 0})"), positive);
  EXPECT_EQ(InvokeError(R"({"text": "a", "top_k": -3})"), positive);
  EXPECT_EQ(InvokeError(R"({"text": "a", "top_k": 1.5})"), positive);
  EXPECT_EQ(InvokeError(R"({"text": "a", "top_k": "3"})"), positive);
  EXPECT_THAT(InvokeError(R"({"text": "a", "top_k": 99999999999999999999})"), HasSubstr("unsupported JSON"));
  EXPECT_EQ(InvokeError(R"({"text": "a", "top_k": 1001})"), "field 'top_k' must be at most 1000");
  EXPECT_EQ(Invoke(R"({"text": "a", "top_k": 1000})")->top_k, 1000);
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "t", "datatype": "BYTES", "shape": [1],
                "data": ["a"]}], "parameters": {"top_k": 0}})"),
            positive);
}

TEST(DecodeInvokeTest, FieldCombinations) {
  EXPECT_EQ(InvokeError(R"({"top_k": 3})"), "body must have 'text' or 'instances'");
  EXPECT_EQ(InvokeError(R"({"text": "a", "instances": ["b"]})"),
            "body must have 'text' or 'instances', not both");
  EXPECT_THAT(InvokeError(R"({"text": "a", "inputs": [{"name": "t", "datatype": "BYTES",
                             "shape": [1], "data": ["a"]}]})"),
              HasSubstr("not several"));
}

TEST(DecodeV2Test, TensorsOfEveryDatatypeWithNestedData) {
  auto d = V2(R"({"inputs": [
      {"name": "f", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2.5], [3, 4]]},
      {"data": [1.5], "shape": [1], "name": "d", "datatype": "FP64"},
      {"name": "i", "datatype": "INT32", "shape": [3], "data": [1, -2, 3]},
      {"name": "l", "datatype": "INT64", "shape": [1, 1], "data": [[9007199254740993]]},
      {"name": "b", "datatype": "BOOL", "shape": [2], "data": [true, false]},
      {"name": "s", "datatype": "BYTES", "shape": [2], "data": ["x", "y"]}],
      "outputs": [{"name": "ignored"}]})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->v2);
  EXPECT_FALSE(d->id.has_value());
  ASSERT_EQ(d->tensors.size(), 6u);
  EXPECT_EQ(d->tensors[0].name, "f");
  EXPECT_THAT(d->tensors[0].shape, ElementsAre(2, 2));
  EXPECT_THAT(d->tensors[0].fp32, ElementsAre(1.0f, 2.5f, 3.0f, 4.0f));
  EXPECT_THAT(d->tensors[1].fp64, ElementsAre(1.5));
  EXPECT_THAT(d->tensors[2].int32, ElementsAre(1, -2, 3));
  EXPECT_THAT(d->tensors[3].int64, ElementsAre(9007199254740993));
  EXPECT_EQ(d->tensors[4].dtype, DataType::kBool);
  EXPECT_THAT(d->tensors[4].int64, ElementsAre(1, 0));
  EXPECT_THAT(d->tensors[5].bytes, ElementsAre("x", "y"));
}

TEST(DecodeV2Test, InputErrorsNameTheInput) {
  EXPECT_EQ(V2Error(R"({"id": "x"})"), "body must have 'inputs'");
  EXPECT_EQ(V2Error(R"({"inputs": []})"), "'inputs' must not be empty");
  EXPECT_EQ(V2Error(R"({"inputs": {}})"), "'inputs' must be an array of tensors");
  EXPECT_EQ(V2Error(R"({"inputs": [3]})"), "'inputs[0]' must be an object");
  EXPECT_EQ(V2Error(R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})"),
            "'inputs[0]' is missing 'name'");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "shape": [1], "data": [1]}]})"),
            "input 'x' is missing 'datatype'");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "FP32", "data": [1]}]})"),
            "input 'x' is missing 'shape'");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1]}]})"),
            "input 'x' is missing 'data'");
  EXPECT_EQ(V2Error(R"({"id": 7, "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]})"),
            "'id' must be a string");
}

TEST(DecodeV2Test, UnknownDatatype) {
  EXPECT_THAT(V2Error(R"({"inputs": [{"name": "x", "datatype": "FP16", "shape": [1], "data": [1]}]})"),
              HasSubstr("input 'x': unknown datatype 'FP16'"));
}

TEST(DecodeV2Test, ShapeAndDataMustAgree) {
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 3],
                "data": [1, 2, 3, 4, 5]}]})"),
            "input 'x': shape [2, 3] needs 6 values but 'data' holds 5");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1], "data": [1]}]})"),
            "input 'x': 'shape' must be an array of non-negative integers");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": "2", "data": [1]}]})"),
            "input 'x': 'shape' must be an array of non-negative integers");
}

TEST(DecodeV2Test, DataMustMatchTheDatatype) {
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ["a"]}]})"),
            "input 'x': FP32 data must hold numbers");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "data": [1.5]}]})"),
            "input 'x': INT64 data must hold integers");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "INT32", "shape": [1],
                "data": [3000000000]}]})"),
            "input 'x': INT32 value 3000000000 is out of range");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1e39]}]})"),
            "input 'x': FP32 value 1e+39 is out of range");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "BOOL", "shape": [1], "data": [1]}]})"),
            "input 'x': BOOL data must hold true or false");
  EXPECT_EQ(V2Error(R"({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": [1]}]})"),
            "input 'x': BYTES data must hold strings");
}

// The largest float as our encoder (and most JSON writers) print it is a
// double a little above FLT_MAX that rounds to it: accepted, as is any
// finite FP64.
TEST(DecodeV2Test, Fp32RangeEndsAtTheLargestFloat) {
  std::string body =
      R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [3.4028235e38, -3.4028235e38]},
                                    {"name": "y", "datatype": "FP64", "shape": [1], "data": [1e300]}]})";
  absl::StatusOr<DecodedInfer> d = DecodeV2InferBody(body);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->tensors[0].fp32,
              ElementsAre(std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()));
  EXPECT_THAT(d->tensors[1].fp64, ElementsAre(1e300));
}

TEST(EncodeTest, PredictionsRoundTripWithEscapedLabels) {
  const std::string label1 = "refund \"now\"\n";
  const std::string label2 = "r\xC3\xA9sum\xC3\xA9";
  Classifications c = {{{label1, 0.75f}, {label2, 0.25f}}, {{label2, 1.0f}}};
  auto json = nlohmann::json::parse(EncodePredictions(c));
  ASSERT_EQ(json["predictions"].size(), 2u);
  EXPECT_EQ(json["predictions"][0][0]["label"], label1);
  EXPECT_FLOAT_EQ(json["predictions"][0][0]["score"].get<float>(), 0.75f);
  EXPECT_EQ(json["predictions"][0][1]["label"], label2);
  EXPECT_EQ(json["predictions"][1].size(), 1u);
  EXPECT_FLOAT_EQ(json["predictions"][1][0]["score"].get<float>(), 1.0f);
}

TEST(EncodeTest, V2ClassificationsAreLabelAndScoreTensors) {
  Classifications c = {{{"a", 0.5f}, {"b", 0.25f}}, {{"c", 0.9f}, {"a", 0.1f}}};
  auto json = nlohmann::json::parse(EncodeV2Classifications("m1", std::string("req-7"), c));
  EXPECT_EQ(json["model_name"], "m1");
  EXPECT_EQ(json["id"], "req-7");
  ASSERT_EQ(json["outputs"].size(), 2u);
  const auto& label = json["outputs"][0];
  EXPECT_EQ(label["name"], "label");
  EXPECT_EQ(label["datatype"], "BYTES");
  EXPECT_EQ(label["shape"], nlohmann::json::parse("[2, 2]"));
  EXPECT_EQ(label["data"], nlohmann::json::parse(R"(["a", "b", "c", "a"])"));
  const auto& score = json["outputs"][1];
  EXPECT_EQ(score["name"], "score");
  EXPECT_EQ(score["datatype"], "FP32");
  EXPECT_EQ(score["shape"], nlohmann::json::parse("[2, 2]"));
  EXPECT_FLOAT_EQ(score["data"][2].get<float>(), 0.9f);
  EXPECT_FALSE(nlohmann::json::parse(EncodeV2Classifications("m1", std::nullopt, c)).contains("id"));
}

TEST(EncodeTest, V2TensorsCarryDatatypeShapeAndFlatData) {
  Tensor f;
  f.name = "y";
  f.shape = {1, 2};
  f.fp32 = {0.5f, -1.0f};
  Tensor b;
  b.name = "flag";
  b.dtype = DataType::kBool;
  b.shape = {2};
  b.int64 = {1, 0};
  Tensor s;
  s.name = "s";
  s.dtype = DataType::kBytes;
  s.shape = {1};
  s.bytes = {"\"q\""};
  Tensor i;
  i.name = "i";
  i.dtype = DataType::kInt32;
  i.shape = {1};
  i.int32 = {-7};
  auto json = nlohmann::json::parse(EncodeV2Tensors("m", std::nullopt, {f, b, s, i}));
  ASSERT_EQ(json["outputs"].size(), 4u);
  EXPECT_EQ(json["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(json["outputs"][0]["shape"], nlohmann::json::parse("[1, 2]"));
  EXPECT_EQ(json["outputs"][0]["data"], nlohmann::json::parse("[0.5, -1.0]"));
  EXPECT_EQ(json["outputs"][1]["data"], nlohmann::json::parse("[true, false]"));
  EXPECT_EQ(json["outputs"][2]["data"][0], "\"q\"");
  EXPECT_EQ(json["outputs"][3]["data"][0], -7);
}

}  // namespace
}  // namespace modelmux
