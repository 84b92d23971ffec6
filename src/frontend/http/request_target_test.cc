#include "frontend/http/request_target.h"

#include "gtest/gtest.h"

namespace modelmux {
namespace {

TEST(SplitTargetTest, SeparatesPathQueryAndFragment) {
  RequestTarget t = SplitTarget("/models?max_results=5&x=1");
  EXPECT_EQ(t.path, "/models");
  EXPECT_EQ(t.query, "max_results=5&x=1");
  t = SplitTarget("/ping");
  EXPECT_EQ(t.path, "/ping");
  EXPECT_EQ(t.query, "");
  t = SplitTarget("/a?b=c#frag");
  EXPECT_EQ(t.path, "/a");
  EXPECT_EQ(t.query, "b=c");
}

TEST(PercentDecodeTest, DecodesEscapesAndPlus) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc%2f", false), "a b/c/");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(*PercentDecode("", true), "");
}

TEST(PercentDecodeTest, RejectsBrokenEscapes) {
  for (const char* bad : {"%", "%4", "abc%zz", "%g0", "x%2"}) {
    auto decoded = PercentDecode(bad, true);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FindQueryParamTest, FindsDecodedValues) {
  EXPECT_EQ(**FindQueryParam("max_results=5&next_page_token=a%2Eb", "next_page_token"), "a.b");
  EXPECT_EQ(**FindQueryParam("max_results=5&next_page_token=x", "max_results"), "5");
  EXPECT_EQ(**FindQueryParam("a=1&a=2", "a"), "1");
  EXPECT_EQ(**FindQueryParam("flag&b=2", "flag"), "");
  EXPECT_EQ(**FindQueryParam("q=a+b", "q"), "a b");
  EXPECT_EQ(**FindQueryParam("my%5Fkey=v", "my_key"), "v");
}

TEST(FindQueryParamTest, AbsentKeyIsNullopt) {
  EXPECT_FALSE(FindQueryParam("a=1&b=2", "c")->has_value());
  EXPECT_FALSE(FindQueryParam("", "c")->has_value());
  EXPECT_FALSE(FindQueryParam("ab=1", "a")->has_value());
}

TEST(FindQueryParamTest, MalformedEscapeIsAnError) {
  EXPECT_EQ(FindQueryParam("a=%zz", "a").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ArtifactNameFromUrlTest, AcceptsNameAndPathsInsideTheStore) {
  const std::string root = "/srv/models";
  EXPECT_EQ(*ArtifactNameFromUrl("tenant-1", root), "tenant-1");
  EXPECT_EQ(*ArtifactNameFromUrl("/srv/models/tenant-1", root), "tenant-1");
  EXPECT_EQ(*ArtifactNameFromUrl("/srv/models/tenant-1/", root), "tenant-1");
  EXPECT_EQ(*ArtifactNameFromUrl("/srv/models/tenant-1.tar.gz", root), "tenant-1");
  EXPECT_EQ(*ArtifactNameFromUrl("file:///srv/models/tenant-1", root), "tenant-1");
  EXPECT_EQ(*ArtifactNameFromUrl("/srv/models/tenant-1", "/srv/models/"), "tenant-1");
  EXPECT_EQ(*ArtifactNameFromUrl("/srv/models/tenant-1", "file:///srv/models"), "tenant-1");
  EXPECT_EQ(*ArtifactNameFromUrl("s3://bucket/prefix/t.v2.tar.gz", "s3://bucket/prefix"), "t.v2");
}

TEST(ArtifactNameFromUrlTest, RejectsUrlsOutsideTheStore) {
  const std::string root = "/srv/models";
  for (const char* url : {"/other/tenant-1", "/srv/models/sub/tenant-1", "/srv/models/../x",
                          "s3://bucket/tenant-1", "/tenant-1", "/srv/models/.."}) {
    auto name = ArtifactNameFromUrl(url, root);
    EXPECT_EQ(name.status().code(), absl::StatusCode::kNotFound) << url;
  }
  EXPECT_EQ(ArtifactNameFromUrl("..", root).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ArtifactNameFromUrl("", root).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelUrlTest, JoinsRootAndName) {
  EXPECT_EQ(ModelUrl("/srv/models", "a"), "/srv/models/a");
  EXPECT_EQ(ModelUrl("/srv/models/", "a"), "/srv/models/a");
  EXPECT_EQ(ModelUrl("s3://b/p", "a"), "s3://b/p/a");
}

}  // namespace
}  // namespace modelmux
