#include "backend/tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace modelmux {
namespace {

using ::testing::HasSubstr;

TensorSpec Spec(DataType dtype, std::vector<int64_t> shape) {
  return TensorSpec{.name = "x", .dtype = dtype, .shape = std::move(shape)};
}

Tensor Fp32(std::vector<int64_t> shape, size_t values) {
  Tensor t;
  t.name = "x";
  t.dtype = DataType::kFp32;
  t.shape = std::move(shape);
  t.fp32.assign(values, 0.5f);
  return t;
}

TEST(DataTypeTest, NamesRoundTrip) {
  for (DataType t : {DataType::kFp32, DataType::kFp64, DataType::kInt32, DataType::kInt64, DataType::kBool,
                     DataType::kBytes}) {
    auto parsed = ParseDataType(DataTypeName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(DataTypeName(DataType::kFp32), "FP32");
  EXPECT_FALSE(ParseDataType("fp32").ok());
  EXPECT_FALSE(ParseDataType("FP16").ok());
}

TEST(TensorTest, CountsElements) {
  EXPECT_EQ(Fp32({2, 3}, 6).ElementCount(), 6);
  EXPECT_EQ(Fp32({}, 1).ElementCount(), 1);
  EXPECT_EQ(Fp32({2, 0}, 0).ElementCount(), 0);
  EXPECT_EQ(Fp32({-1, 3}, 0).ElementCount(), -1);
  Tensor b;
  b.dtype = DataType::kBool;
  b.int64 = {0, 1, 1};
  EXPECT_EQ(b.StoredCount(), 3);
  b.dtype = DataType::kBytes;
  EXPECT_EQ(b.StoredCount(), 0);
}

TEST(CheckTensorAgainstSpecTest, AcceptsMatchingTensor) {
  EXPECT_TRUE(CheckTensorAgainstSpec(Fp32({2, 4}, 8), Spec(DataType::kFp32, {-1, 4})).ok());
  EXPECT_TRUE(CheckTensorAgainstSpec(Fp32({7, 4}, 28), Spec(DataType::kFp32, {-1, 4})).ok());
  EXPECT_TRUE(CheckTensorAgainstSpec(Fp32({0, 4}, 0), Spec(DataType::kFp32, {-1, 4})).ok());
}

TEST(CheckTensorAgainstSpecTest, RejectsWrongDatatype) {
  auto status = CheckTensorAgainstSpec(Fp32({2, 4}, 8), Spec(DataType::kInt64, {-1, 4}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("INT64"));
}

TEST(CheckTensorAgainstSpecTest, RejectsWrongRank) {
  auto status = CheckTensorAgainstSpec(Fp32({8}, 8), Spec(DataType::kFp32, {-1, 4}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("rank 2"));
}

TEST(CheckTensorAgainstSpecTest, RejectsWrongFixedDimension) {
  auto status = CheckTensorAgainstSpec(Fp32({2, 3}, 6), Spec(DataType::kFp32, {-1, 4}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("dimension 1"));
}

TEST(CheckTensorAgainstSpecTest, RejectsNegativeDimensionInTensor) {
  EXPECT_FALSE(CheckTensorAgainstSpec(Fp32({-1, 4}, 4), Spec(DataType::kFp32, {-1, 4})).ok());
}

TEST(CheckTensorAgainstSpecTest, RejectsValueCountMismatch) {
  auto status = CheckTensorAgainstSpec(Fp32({2, 4}, 7), Spec(DataType::kFp32, {-1, 4}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("needs 8 values, got 7"));
}

TEST(CheckTensorAgainstSpecTest, CountsValuesInTheVectorTheDatatypeSelects) {
  Tensor t;
  t.name = "x";
  t.dtype = DataType::kBool;
  t.shape = {3};
  t.int64 = {1, 0, 1};
  EXPECT_TRUE(CheckTensorAgainstSpec(t, Spec(DataType::kBool, {3})).ok());
  t.int64.clear();
  t.fp32 = {1, 0, 1};  // wrong vector for BOOL
  EXPECT_FALSE(CheckTensorAgainstSpec(t, Spec(DataType::kBool, {3})).ok());
}

// --- raw (binary) tensor data

Tensor Empty(DataType dtype, std::vector<int64_t> shape) {
  Tensor t;
  t.name = "x";
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(RawTensorDataTest, DecodesLittleEndianValues) {
  Tensor i32 = Empty(DataType::kInt32, {2});
  ASSERT_TRUE(DecodeRawTensorData(Bytes({1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff}), i32).ok());
  EXPECT_EQ(i32.int32, (std::vector<int32_t>{1, -2}));

  Tensor i64 = Empty(DataType::kInt64, {1});
  ASSERT_TRUE(DecodeRawTensorData(Bytes({0, 1, 0, 0, 0, 0, 0, 0}), i64).ok());
  EXPECT_EQ(i64.int64, (std::vector<int64_t>{256}));

  Tensor f32 = Empty(DataType::kFp32, {1, 1});
  ASSERT_TRUE(DecodeRawTensorData(Bytes({0, 0, 0xc0, 0x3f}), f32).ok());  // 1.5f
  EXPECT_EQ(f32.fp32, (std::vector<float>{1.5f}));

  Tensor f64 = Empty(DataType::kFp64, {1});
  ASSERT_TRUE(DecodeRawTensorData(Bytes({0, 0, 0, 0, 0, 0, 0xf0, 0xbf}), f64).ok());  // -1.0
  EXPECT_EQ(f64.fp64, (std::vector<double>{-1.0}));

  Tensor b = Empty(DataType::kBool, {3});
  ASSERT_TRUE(DecodeRawTensorData(Bytes({1, 0, 1}), b).ok());
  EXPECT_EQ(b.int64, (std::vector<int64_t>{1, 0, 1}));
}

TEST(RawTensorDataTest, DecodesLengthPrefixedBytes) {
  Tensor t = Empty(DataType::kBytes, {3});
  const std::string raw =
      Bytes({2, 0, 0, 0}) + "hi" + Bytes({0, 0, 0, 0}) + Bytes({3, 0, 0, 0}) + std::string("a\0b", 3);
  EXPECT_FALSE(DecodeRawTensorData(std::string_view(raw.data(), raw.size() - 1), t).ok());
  ASSERT_TRUE(DecodeRawTensorData(raw, t).ok());
  EXPECT_EQ(t.bytes, (std::vector<std::string>{"hi", "", std::string("a\0b", 3)}));
}

TEST(RawTensorDataTest, RoundTripsEveryDatatype) {
  Tensor f32 = Empty(DataType::kFp32, {2, 2});
  f32.fp32 = {1.25f, -0.5f, 3e38f, 0};
  Tensor f64 = Empty(DataType::kFp64, {2});
  f64.fp64 = {1e-300, -7};
  Tensor i32 = Empty(DataType::kInt32, {3});
  i32.int32 = {-2147483647 - 1, 0, 2147483647};
  Tensor i64 = Empty(DataType::kInt64, {1});
  i64.int64 = {int64_t{1} << 60};
  Tensor b = Empty(DataType::kBool, {2});
  b.int64 = {0, 1};
  Tensor s = Empty(DataType::kBytes, {2, 1});
  s.bytes = {"héllo", std::string(300, 'x')};
  for (const Tensor& t : {f32, f64, i32, i64, b, s}) {
    std::string raw;
    AppendRawTensorData(t, raw);
    if (t.dtype != DataType::kBytes) {
      EXPECT_EQ(raw.size(), static_cast<size_t>(t.ElementCount()) * DataTypeByteSize(t.dtype));
    }
    Tensor back = Empty(t.dtype, t.shape);
    ASSERT_TRUE(DecodeRawTensorData(raw, back).ok()) << DataTypeName(t.dtype);
    EXPECT_EQ(back.fp32, t.fp32);
    EXPECT_EQ(back.fp64, t.fp64);
    EXPECT_EQ(back.int32, t.int32);
    EXPECT_EQ(back.int64, t.int64);
    EXPECT_EQ(back.bytes, t.bytes);
  }
}

TEST(RawTensorDataTest, RejectsDataThatDoesNotFillTheShape) {
  Tensor t = Empty(DataType::kFp32, {2, 3});
  absl::Status short_data = DecodeRawTensorData(std::string(20, '\0'), t);
  EXPECT_EQ(short_data.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_data.message()), HasSubstr("tensor 'x'"));
  EXPECT_THAT(std::string(short_data.message()), HasSubstr("20 bytes"));
  EXPECT_FALSE(DecodeRawTensorData(std::string(25, '\0'), t).ok());
  EXPECT_TRUE(DecodeRawTensorData(std::string(24, '\0'), t).ok());

  Tensor strings = Empty(DataType::kBytes, {2});
  EXPECT_FALSE(DecodeRawTensorData(Bytes({1, 0, 0, 0}) + "a", strings).ok());  // one of two
  EXPECT_FALSE(DecodeRawTensorData(Bytes({1, 0, 0}), strings).ok());           // a cut length
  EXPECT_FALSE(DecodeRawTensorData(Bytes({9, 0, 0, 0}) + "a", strings).ok());  // a cut element
  const std::string three = Bytes({0, 0, 0, 0}) + Bytes({0, 0, 0, 0}) + Bytes({0, 0, 0, 0});
  EXPECT_FALSE(DecodeRawTensorData(three, strings).ok());

  Tensor negative = Empty(DataType::kInt64, {-1, 2});
  EXPECT_FALSE(DecodeRawTensorData("", negative).ok());
  // A shape whose element count overflows is refused, not wrapped around.
  Tensor huge = Empty(DataType::kBool, {int64_t{1} << 32, int64_t{1} << 32});
  EXPECT_FALSE(DecodeRawTensorData("", huge).ok());
  Tensor empty = Empty(DataType::kFp32, {0, 4});
  EXPECT_TRUE(DecodeRawTensorData("", empty).ok());
  EXPECT_TRUE(empty.fp32.empty());
}

}  // namespace
}  // namespace modelmux
