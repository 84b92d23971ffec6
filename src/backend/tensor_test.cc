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

}  // namespace
}  // namespace modelmux
