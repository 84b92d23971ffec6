// The binary tensor data extension of KServe V2: binary inputs after the JSON
// header, binary outputs after the JSON answer.
#include "frontend/http/v2_binary_data.h"

#include <cstring>
#include <string>
#include <vector>

#include "frontend/http/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

template <typename T>
std::string Raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string BytesElement(std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + std::string(s);
}

// A body of `header` (JSON) then `binary`; returns the JSON's length through `json_size`.
std::string Body(const json& header, const std::string& binary, size_t* json_size) {
  std::string text = header.dump();
  *json_size = text.size();
  return text + binary;
}

TEST(V2BinaryDataTest, DecodesBinaryInputsOfEveryTypeInOrder) {
  const std::vector<float> x = {1.5f, -2.0f, 3.25f, 4.0f};
  const std::vector<int64_t> k = {7};
  const std::vector<double> d = {0.125};
  const std::vector<int32_t> i = {-3, 9};
  json header = {
      {"inputs",
       {{{"name", "x"}, {"datatype", "FP32"}, {"shape", {2, 2}}, {"parameters", {{"binary_data_size", 16}}}},
        {{"name", "k"}, {"datatype", "INT64"}, {"shape", {1}}, {"parameters", {{"binary_data_size", 8}}}},
        {{"name", "j"}, {"datatype", "INT32"}, {"shape", {2}}, {"data", {5, 6}}},
        {{"name", "d"}, {"datatype", "FP64"}, {"shape", {1}}, {"parameters", {{"binary_data_size", 8}}}},
        {{"name", "i"}, {"datatype", "INT32"}, {"shape", {2}}, {"parameters", {{"binary_data_size", 8}}}},
        {{"name", "b"}, {"datatype", "BOOL"}, {"shape", {3}}, {"parameters", {{"binary_data_size", 3}}}},
        {{"name", "s"},
         {"datatype", "BYTES"},
         {"shape", {2}},
         {"parameters", {{"binary_data_size", 4 + 4 + 4 + 0}}}}}}};
  // The binary part holds '{' and '"': the JSON parser must stop at json_size.
  const std::string binary = Raw(x) + Raw(k) + Raw(d) + Raw(i) + std::string("\1\0\1", 3) +
                             BytesElement("{\"a\"") + BytesElement("");
  size_t json_size = 0;
  std::string body = Body(header, binary, &json_size);
  absl::StatusOr<DecodedInfer> decoded = DecodeV2InferBody(body, json_size);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const std::vector<Tensor>& t = decoded->tensors;
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0].fp32, x);
  EXPECT_EQ(t[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t[1].int64, k);
  EXPECT_EQ(t[2].int32, (std::vector<int32_t>{5, 6}));  // JSON data beside binary inputs
  EXPECT_EQ(t[3].fp64, d);
  EXPECT_EQ(t[4].int32, i);
  EXPECT_EQ(t[5].int64, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(t[6].bytes, (std::vector<std::string>{"{\"a\"", ""}));
  EXPECT_TRUE(decoded->v2);
}

TEST(V2BinaryDataTest, ReadsOutputRequests) {
  std::string body = R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
      "outputs": [{"name": "y", "parameters": {"binary_data": true}}, {"name": "z"}],
      "parameters": {"binary_data_output": false, "top_k": 2}})";
  absl::StatusOr<DecodedInfer> decoded = DecodeV2InferBody(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->outputs.outputs.size(), 2u);
  EXPECT_EQ(decoded->outputs.outputs[0].name, "y");
  EXPECT_EQ(decoded->outputs.outputs[0].binary, true);
  EXPECT_FALSE(decoded->outputs.outputs[1].binary.has_value());
  EXPECT_FALSE(decoded->outputs.binary_default);
  EXPECT_EQ(decoded->top_k, 2);

  body = R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
      "parameters": {"binary_data_output": true}})";
  decoded = DecodeV2InferBody(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->outputs.binary_default);
  EXPECT_FALSE(decoded->outputs.IsDefault());
}

TEST(V2BinaryDataTest, InvokeBodiesIgnoreOutputRequests) {
  std::string body = R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
      "outputs": [{"name": "y", "parameters": {"binary_data": true}}],
      "parameters": {"binary_data_output": true}})";
  absl::StatusOr<DecodedInfer> decoded = DecodeInvokeBody(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->outputs.IsDefault());
}

struct BadCase {
  std::string header;
  std::string binary;
  std::string expect;
};

TEST(V2BinaryDataTest, RejectsInconsistentBinaryData) {
  const std::string x2 = Raw(std::vector<float>{1, 2});
  const BadCase cases[] = {
      // Sizes that do not fit the shape.
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 8}}]})",
       x2, "raw data holds 8 bytes, the shape needs 3 elements of 4 bytes"},
      // More binary data than the sizes say.
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": 4}}]})",
       x2, "add up to 4"},
      // Less.
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [4], "parameters": {"binary_data_size": 16}}]})",
       x2, "only 8 bytes of binary data remain"},
      // Binary data but no input takes it.
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]})", x2, "add up to 0"},
      // Both forms at once.
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1, 2],
           "parameters": {"binary_data_size": 8}}]})",
       x2, "both 'data' and 'binary_data_size'"},
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": -8}}]})",
       x2, "non-negative integer"},
      // A BYTES length running past the data, and a short element count.
      {R"({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}]})",
       BytesElement("abcdef").substr(0, 6), "ends inside element 0 (6 bytes)"},
      {R"({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 5}}]})",
       BytesElement("a"), "holds 1 elements, the shape needs 2"},
      {R"({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 10}}]})",
       BytesElement("a") + BytesElement("b"), "holds more than its 1 elements"},
      {R"({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 10}}]})",
       BytesElement("abcd") + "ab", "ends inside an element's 4-byte length"},
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
           "outputs": [{"name": "y"}, {"name": "y"}]})",
       "", "asked for twice"},
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "outputs": [{"id": 1}]})",
       "", "'outputs[0]' must be an object with a string 'name'"},
      {R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
           "parameters": {"binary_data_output": 1}})",
       "", "'binary_data_output' must be true or false"},
  };
  for (const BadCase& c : cases) {
    std::string body = c.header + c.binary;
    absl::StatusOr<DecodedInfer> decoded = DecodeV2InferBody(body, c.header.size());
    ASSERT_FALSE(decoded.ok()) << c.header;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(c.expect)) << c.header;
  }
}

TEST(V2BinaryDataTest, BinaryInputsOnlyWhereTheExtensionIsServed) {
  std::string body =
      R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": 4}}]})";
  absl::StatusOr<DecodedInfer> decoded = DecodeInvokeBody(body);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("/v2/models/{name}/infer only"));
  // On the V2 route without the header: the binary data is missing.
  decoded = DecodeV2InferBody(body);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("Inference-Header-Content-Length"));
}

TEST(V2BinaryDataTest, ParsesTheHeaderLength) {
  EXPECT_EQ(*ParseInferenceHeaderLength("", 10), std::nullopt);
  EXPECT_EQ(*ParseInferenceHeaderLength("0", 10), std::nullopt);  // the whole body is JSON
  EXPECT_EQ(*ParseInferenceHeaderLength("7", 10), 7u);
  EXPECT_EQ(*ParseInferenceHeaderLength("10", 10), 10u);
  EXPECT_FALSE(ParseInferenceHeaderLength("11", 10).ok());
  EXPECT_FALSE(ParseInferenceHeaderLength("-1", 10).ok());
  EXPECT_FALSE(ParseInferenceHeaderLength("7x", 10).ok());
  EXPECT_FALSE(ParseInferenceHeaderLength("99999999999999999999999", 10).ok());
}

Tensor MakeTensor(std::string name, DataType dtype, std::vector<int64_t> shape) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

TEST(V2BinaryDataTest, EncodesBinaryOutputsAfterTheJson) {
  std::vector<Tensor> tensors;
  tensors.push_back(MakeTensor("y", DataType::kFp32, {1, 2}));
  tensors.back().fp32 = {0.5f, 2.0f};
  tensors.push_back(MakeTensor("flag", DataType::kBool, {2}));
  tensors.back().int64 = {1, 0};
  tensors.push_back(MakeTensor("label", DataType::kBytes, {2}));
  tensors.back().bytes = {"refund", ""};
  V2OutputRequest request;
  request.outputs = {{"label", true}, {"y", std::nullopt}, {"flag", false}};
  request.binary_default = true;
  absl::StatusOr<EncodedV2Response> out = EncodeV2Response("m", std::string("req-1"), tensors, request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->binary);
  const json header = json::parse(out->body.substr(0, out->json_size));
  EXPECT_EQ(header["model_name"], "m");
  EXPECT_EQ(header["id"], "req-1");
  ASSERT_EQ(header["outputs"].size(), 3u);  // in the order asked
  EXPECT_EQ(header["outputs"][0]["name"], "label");
  EXPECT_EQ(header["outputs"][0]["parameters"]["binary_data_size"], 4 + 6 + 4);
  EXPECT_FALSE(header["outputs"][0].contains("data"));
  EXPECT_EQ(header["outputs"][1]["name"], "y");
  EXPECT_EQ(header["outputs"][1]["parameters"]["binary_data_size"], 8);
  EXPECT_EQ(header["outputs"][1]["shape"], json({1, 2}));
  EXPECT_EQ(header["outputs"][2]["data"], json({true, false}));  // binary_data: false wins
  EXPECT_EQ(out->body.substr(out->json_size),
            BytesElement("refund") + BytesElement("") + Raw(tensors[0].fp32));
}

TEST(V2BinaryDataTest, EncodingRoundTripsThroughTheDecoder) {
  Tensor t = MakeTensor("b", DataType::kBool, {3});
  t.int64 = {0, 1, 1};
  std::string binary;
  AppendRawTensorData(t, binary);
  EXPECT_EQ(binary, std::string("\0\1\1", 3));
  EXPECT_EQ(RawTensorDataSize(t), 3u);
  Tensor back = MakeTensor("b", DataType::kBool, {3});
  ASSERT_TRUE(DecodeRawTensorData(binary, back).ok());
  EXPECT_EQ(back.int64, t.int64);
  Tensor i64 = MakeTensor("k", DataType::kInt64, {2});
  i64.int64 = {-1, int64_t{1} << 40};
  binary.clear();
  AppendRawTensorData(i64, binary);
  Tensor i64_back = MakeTensor("k", DataType::kInt64, {2});
  ASSERT_TRUE(DecodeRawTensorData(binary, i64_back).ok());
  EXPECT_EQ(i64_back.int64, i64.int64);
}

TEST(V2BinaryDataTest, AllJsonUnlessAsked) {
  std::vector<Tensor> tensors =
      ClassificationTensors({{{"refund", 0.7f}, {"shipping", 0.2f}}, {{"other", 0.9f}}});
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(tensors[0].bytes, (std::vector<std::string>{"refund", "shipping", "other", ""}));
  EXPECT_EQ(tensors[1].fp32, (std::vector<float>{0.7f, 0.2f, 0.9f, 0.0f}));
  V2OutputRequest request;
  request.outputs = {{"score", std::nullopt}};
  absl::StatusOr<EncodedV2Response> out = EncodeV2Response("m", std::nullopt, tensors, request);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_FALSE(out->binary);
  EXPECT_EQ(out->json_size, out->body.size());
  const json doc = json::parse(out->body);
  ASSERT_EQ(doc["outputs"].size(), 1u);  // only what was asked
  EXPECT_EQ(doc["outputs"][0]["name"], "score");
  EXPECT_FALSE(doc.contains("id"));

  request.outputs = {{"logits", std::nullopt}};
  out = EncodeV2Response("m", std::nullopt, tensors, request);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()),
              HasSubstr("model 'm' has no output 'logits' (its outputs: label, score)"));
}

}  // namespace
}  // namespace modelmux
