#include "gtest/gtest.h"
#include "store/s3/s3_store.h"

namespace modelmux {
namespace {

TEST(ParseS3Url, BucketAndPrefix) {
  absl::StatusOr<S3Location> location = ParseS3Url("s3://acme-models/tenants/eu/");
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_EQ(location->bucket, "acme-models");
  EXPECT_EQ(location->prefix, "tenants/eu");
}

TEST(ParseS3Url, BucketOnly) {
  absl::StatusOr<S3Location> location = ParseS3Url("s3://acme-models");
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_EQ(location->bucket, "acme-models");
  EXPECT_EQ(location->prefix, "");
}

TEST(ParseS3Url, RejectsOtherSchemesAndMissingBucket) {
  EXPECT_EQ(ParseS3Url("/srv/models").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseS3Url("s3:///prefix").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace modelmux
