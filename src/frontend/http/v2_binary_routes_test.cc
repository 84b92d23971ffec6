// POST /v2/models/{m}/infer with the binary tensor data extension, end to
// end over HTTP (fake models: see http_test_fixture.h).
#include <cstring>
#include <string>
#include <vector>

#include "frontend/http/http_test_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string Floats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

std::string BytesElement(std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + std::string(s);
}

// A binary answer split into its JSON header and its binary part.
struct BinaryAnswer {
  json header;
  std::string binary;
};

BinaryAnswer Split(const HttpTestClient::Response& r) {
  const size_t json_size = std::stoul(std::string(r["Inference-Header-Content-Length"]));
  return {json::parse(r.body().substr(0, json_size)), r.body().substr(json_size)};
}

TEST_F(HttpServerTest, V2BinaryTensorsInAndOut) {
  HttpTestClient client = Client();
  const std::string header = json{{"id", "b1"},
                                  {"inputs",
                                   {{{"name", "x"},
                                     {"datatype", "FP32"},
                                     {"shape", {2, 2}},
                                     {"parameters", {{"binary_data_size", 16}}}}}},
                                  {"outputs", {{{"name", "y"}, {"parameters", {{"binary_data", true}}}}}}}
                                 .dump();
  auto r = client.Post("/v2/models/vec/infer", header + Floats({1, 2, 3, 4.5f}),
                       {{"Inference-Header-Content-Length", std::to_string(header.size())},
                        {"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(r[boost::beast::http::field::content_type], "application/octet-stream");
  BinaryAnswer answer = Split(r);
  EXPECT_EQ(answer.header["id"], "b1");
  EXPECT_EQ(answer.header["outputs"][0]["name"], "y");
  EXPECT_EQ(answer.header["outputs"][0]["shape"], json({2, 1}));
  EXPECT_EQ(answer.header["outputs"][0]["parameters"]["binary_data_size"], 8);
  EXPECT_EQ(answer.binary, Floats({3, 7.5f}));

  // The same request with JSON outputs answers JSON only, without the header.
  const std::string json_out = json{{"inputs",
                                     {{{"name", "x"},
                                       {"datatype", "FP32"},
                                       {"shape", {1, 2}},
                                       {"parameters", {{"binary_data_size", 8}}}}}}}
                                   .dump();
  r = client.Post("/v2/models/vec/infer", json_out + Floats({1, 2}),
                  {{"Inference-Header-Content-Length", std::to_string(json_out.size())}});
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(r.count("Inference-Header-Content-Length"), 0u);
  EXPECT_EQ(json::parse(r.body())["outputs"][0]["data"], json({3.0}));
}

TEST_F(HttpServerTest, V2BinaryTextInputAndBinaryLabels) {
  HttpTestClient client = Client();
  const std::string texts = BytesElement("where is my parcel") + BytesElement("give me my money back");
  const std::string header = json{{"inputs",
                                   {{{"name", "text"},
                                     {"datatype", "BYTES"},
                                     {"shape", {2}},
                                     {"parameters", {{"binary_data_size", texts.size()}}}}}},
                                  {"parameters", {{"binary_data_output", true}, {"top_k", 1}}}}
                                 .dump();
  auto r = client.Post("/v2/models/alpha/infer", header + texts,
                       {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  ASSERT_EQ(r.result_int(), 200) << r.body();
  BinaryAnswer answer = Split(r);
  ASSERT_EQ(answer.header["outputs"].size(), 2u);
  EXPECT_EQ(answer.header["outputs"][0]["name"], "label");
  EXPECT_EQ(answer.header["outputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(answer.header["outputs"][0]["shape"], json({2, 1}));
  const std::string labels = BytesElement("shipping") + BytesElement("refund");
  EXPECT_EQ(answer.header["outputs"][0]["parameters"]["binary_data_size"], labels.size());
  EXPECT_EQ(answer.header["outputs"][1]["name"], "score");
  EXPECT_EQ(answer.binary, labels + Floats({0.7f, 0.7f}));
}

TEST_F(HttpServerTest, V2BinaryErrorsAreBadRequests) {
  HttpTestClient client = Client();
  const std::string header =
      R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "parameters": {"binary_data_size": 8}}]})";
  auto r = client.Post("/v2/models/vec/infer", header + Floats({1, 2}),
                       {{"Inference-Header-Content-Length", "abc"}});
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_THAT(r.body(), HasSubstr("Inference-Header-Content-Length must be a byte count"));
  r = client.Post("/v2/models/vec/infer", header + Floats({1, 2}),
                  {{"Inference-Header-Content-Length", "9999"}});
  EXPECT_EQ(r.result_int(), 400);
  r = client.Post("/v2/models/vec/infer", header + Floats({1}),
                  {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_THAT(r.body(), HasSubstr("'binary_data_size' is 8 but only 4 bytes of binary data remain"));
  // An output the model does not have.
  const std::string asks = R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}],
                               "outputs": [{"name": "z"}]})";
  r = client.Post("/v2/models/vec/infer", asks);
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_THAT(r.body(), HasSubstr("has no output 'z'"));
  // The server still serves.
  EXPECT_EQ(client
                .Post("/v2/models/vec/infer", R"({"inputs": [{"name": "x", "datatype": "FP32",
                                                     "shape": [1, 2], "data": [1, 2]}]})")
                .result_int(),
            200);
}

TEST_F(HttpServerTest, V2ServerMetadataListsTheBinaryExtension) {
  HttpTestClient client = Client();
  auto r = client.Get("/v2");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(json::parse(r.body())["extensions"], json({"model_repository", "binary_tensor_data"}));
}

}  // namespace
}  // namespace modelmux
