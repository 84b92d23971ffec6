#include "frontend/http/row_codec.h"

#include <string>

#include "frontend/http/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

using ::testing::ElementsAre;

absl::StatusOr<DecodedInfer> Invoke(std::string body) { return DecodeInvokeBody(body); }

std::string InvokeError(std::string body) {
  auto decoded = DecodeInvokeBody(body);
  if (decoded.ok()) return "";
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(decoded.status().message());
}

TEST(RowCodecTest, InstancesOfNumbersBecomeOneFp32Tensor) {
  auto d = Invoke(R"({"instances": [[0.5, 12, -3], [1e2, 2, 0]]})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->rows);
  EXPECT_FALSE(d->v2) << "answered in SageMaker form";
  EXPECT_TRUE(d->texts.empty());
  ASSERT_EQ(d->tensors.size(), 1u);
  const Tensor& t = d->tensors[0];
  EXPECT_EQ(t.dtype, DataType::kFp32);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_THAT(t.fp32, ElementsAre(0.5f, 12.0f, -3.0f, 100.0f, 2.0f, 0.0f));
  EXPECT_TRUE(t.name.empty());
}

TEST(RowCodecTest, RowsMustBeEquallyLongArraysOfNumbers) {
  EXPECT_EQ(InvokeError(R"({"instances": [[1, 2], [3]]})"),
            "'instances[1]' has 1 values and 'instances[0]' has 2: rows must be equally long");
  EXPECT_EQ(InvokeError(R"({"instances": [[1, 2], "text"]})"),
            "'instances[1]' must be a non-empty array of numbers, like the first");
  EXPECT_EQ(InvokeError(R"({"instances": [[]]})"),
            "'instances[0]' must be a non-empty array of numbers, like the first");
  EXPECT_EQ(InvokeError(R"({"instances": [[1, "2"]]})"), "'instances[0]' must hold only numbers");
  EXPECT_EQ(InvokeError(R"({"instances": [[1, null]]})"), "'instances[0]' must hold only numbers");
  EXPECT_EQ(InvokeError(R"({"instances": ["text", [1]]})"), "'instances[1]' must be a string");
}

Tensor Fp32(std::string name, std::vector<int64_t> shape, std::vector<float> values) {
  Tensor t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.fp32 = std::move(values);
  return t;
}

TEST(RowCodecTest, PredictionsHaveOneEntryPerRow) {
  EXPECT_EQ(EncodeRowPredictions({Fp32("probability", {2}, {0.25f, 0.75f})}),
            R"({"predictions":[0.25,0.75]})");
  EXPECT_EQ(EncodeRowPredictions({Fp32("probability", {2, 2}, {0.25f, 0.75f, 1, 0})}),
            R"({"predictions":[[0.25,0.75],[1,0]]})");
  EXPECT_EQ(EncodeRowPredictions({Fp32("a", {2}, {1, 2}), Fp32("b", {2, 1}, {3, 4})}),
            R"({"predictions":[{"a":1,"b":[3]},{"a":2,"b":[4]}]})");
  EXPECT_EQ(EncodeRowPredictions({Fp32("total", {}, {5})}), R"({"predictions":[5]})");
}

}  // namespace
}  // namespace modelmux
