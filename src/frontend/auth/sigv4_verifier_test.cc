// The verifier against AWS's published SigV4 test suite (the vectors below are
// the suite's requests and signatures: credentials AKIDEXAMPLE, region
// us-east-1, service "service", 2015-08-30T12:36:00Z), then the ways a
// request must fail.
#include "frontend/auth/sigv4_verifier.h"

#include "absl/strings/str_cat.h"
#include "frontend/auth/crypto.h"
#include "frontend/auth/sigv4_canonical.h"
#include "frontend/auth/test_headers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelmux {
namespace {

using std::chrono::system_clock;
using ::testing::HasSubstr;

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kDate[] = "20150830T123600Z";
const system_clock::time_point kSignedAt = system_clock::from_time_t(1440938160);  // kDate

struct Vector {
  const char* name;
  const char* method;
  const char* path;  // as on the request line of the suite's .req file
  const char* query;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host and X-Amz-Date
  const char* body;
  const char* signed_headers;
  const char* signature;
};

const std::vector<Vector>& SuiteVectors() {
  static const std::vector<Vector> kVectors = {
      {"get-vanilla",
       "GET",
       "/",
       "",
       {},
       "",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-vanilla",
       "POST",
       "/",
       "",
       {},
       "",
       "host;x-amz-date",
       "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"get-vanilla-query-order-key-case",
       "GET",
       "/",
       "Param2=value2&Param1=value1",
       {},
       "",
       "host;x-amz-date",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-vanilla-empty-query-key",
       "GET",
       "/",
       "Param1=value1",
       {},
       "",
       "host;x-amz-date",
       "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
      {"get-vanilla-query-unreserved",
       "GET",
       "/",
       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
       {},
       "",
       "host;x-amz-date",
       "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
      {"get-vanilla-utf8-query",
       "GET",
       "/",
       "\xe1\x88\xb4=bar",
       {},
       "",
       "host;x-amz-date",
       "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
      {"post-vanilla-query",
       "POST",
       "/",
       "Param1=value1",
       {},
       "",
       "host;x-amz-date",
       "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
      {"get-utf8",
       "GET",
       "/\xe1\x88\xb4",
       "",
       {},
       "",
       "host;x-amz-date",
       "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
      {"get-space",
       "GET",
       "/example space/",
       "",
       {},
       "",
       "host;x-amz-date",
       "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
      {"get-slashes",
       "GET",
       "//example//",
       "",
       {},
       "",
       "host;x-amz-date",
       "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
      {"get-relative-relative",
       "GET",
       "/example1/example2/../..",
       "",
       {},
       "",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"get-slash-dot-slash",
       "GET",
       "/./",
       "",
       {},
       "",
       "host;x-amz-date",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-header-key-sort",
       "POST",
       "/",
       "",
       {{"My-Header1", "value1"}},
       "",
       "host;my-header1;x-amz-date",
       "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
      {"post-header-value-case",
       "POST",
       "/",
       "",
       {{"My-Header1", "VALUE1"}},
       "",
       "host;my-header1;x-amz-date",
       "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
      {"get-header-value-trim",
       "GET",
       "/",
       "",
       {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
       "",
       "host;my-header1;my-header2;x-amz-date",
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"post-x-www-form-urlencoded",
       "POST",
       "/",
       "",
       {{"Content-Type", "application/x-www-form-urlencoded"}},
       "Param1=value1",
       "content-type;host;x-amz-date",
       "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
  };
  return kVectors;
}

std::string Authorization(const char* signed_headers, const char* signature,
                          const char* scope_date = "20150830", const char* akid = "AKIDEXAMPLE",
                          const char* service = "service") {
  return absl::StrCat("AWS4-HMAC-SHA256 Credential=", akid, "/", scope_date, "/us-east-1/", service,
                      "/aws4_request, SignedHeaders=", signed_headers, ", Signature=", signature);
}

class SigV4VerifierTest : public ::testing::Test {
 protected:
  SigV4VerifierTest() {
    keys_ = *SigV4Keys::Parse(absl::StrCat("AKIDEXAMPLE ", kSecret, "\n"));
    options_.services = {"service"};
  }

  SigV4Verdict Verify(const Vector& v, const ListHeaders& headers, std::string_view authorization,
                      system_clock::time_point now = kSignedAt) {
    AuthRequest request{v.method, v.path, v.query, v.body, &headers};
    return VerifySigV4(request, authorization, keys_, options_, now);
  }

  static ListHeaders HeadersOf(const Vector& v) {
    ListHeaders headers({{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kDate}});
    for (const auto& [name, value] : v.headers) headers.Add(name, value);
    return headers;
  }

  SigV4Keys keys_;
  SigV4Options options_;
};

TEST_F(SigV4VerifierTest, AcceptsEveryVectorOfTheAwsTestSuite) {
  for (const Vector& v : SuiteVectors()) {
    SigV4Verdict verdict = Verify(v, HeadersOf(v), Authorization(v.signed_headers, v.signature));
    EXPECT_NE(verdict.key, nullptr) << v.name << ": " << verdict.message;
    EXPECT_EQ(verdict.failure, AuthFailure::kNone) << v.name;
  }
}

TEST_F(SigV4VerifierTest, RefusesEveryVectorWithOneSignatureDigitChanged) {
  for (const Vector& v : SuiteVectors()) {
    std::string signature = v.signature;
    signature[10] = signature[10] == '0' ? '1' : '0';
    SigV4Verdict verdict = Verify(v, HeadersOf(v), Authorization(v.signed_headers, signature.c_str()));
    EXPECT_EQ(verdict.key, nullptr) << v.name;
    EXPECT_EQ(verdict.failure, AuthFailure::kBadSignature) << v.name;
    EXPECT_THAT(verdict.message, ::testing::Not(HasSubstr(signature))) << v.name;
  }
}

TEST_F(SigV4VerifierTest, RefusesAChangedRequest) {
  const Vector& form = SuiteVectors().back();  // post-x-www-form-urlencoded
  const std::string auth = Authorization(form.signed_headers, form.signature);
  Vector body = form;
  body.body = "Param1=value2";
  EXPECT_EQ(Verify(body, HeadersOf(body), auth).failure, AuthFailure::kBadSignature);
  Vector path = form;
  path.path = "/other";
  EXPECT_EQ(Verify(path, HeadersOf(path), auth).failure, AuthFailure::kBadSignature);
  Vector query = form;
  query.query = "a=b";
  EXPECT_EQ(Verify(query, HeadersOf(query), auth).failure, AuthFailure::kBadSignature);
  Vector header = form;
  header.headers = {{"Content-Type", "application/json"}};
  EXPECT_EQ(Verify(header, HeadersOf(header), auth).failure, AuthFailure::kBadSignature);
  Vector method = form;
  method.method = "PUT";
  EXPECT_EQ(Verify(method, HeadersOf(method), auth).failure, AuthFailure::kBadSignature);
}

TEST_F(SigV4VerifierTest, AllowsFiveMinutesOfClockSkewAndNamesTheSkewBeyond) {
  const Vector& v = SuiteVectors().front();
  const std::string auth = Authorization(v.signed_headers, v.signature);
  for (int seconds : {-300, -299, 0, 299, 300}) {
    EXPECT_NE(Verify(v, HeadersOf(v), auth, kSignedAt + std::chrono::seconds(seconds)).key, nullptr)
        << seconds;
  }
  SigV4Verdict late = Verify(v, HeadersOf(v), auth, kSignedAt + std::chrono::seconds(301));
  EXPECT_EQ(late.failure, AuthFailure::kExpired);
  EXPECT_THAT(late.message, HasSubstr("301 s behind"));
  EXPECT_THAT(late.message, HasSubstr("300 s"));
  SigV4Verdict early = Verify(v, HeadersOf(v), auth, kSignedAt - std::chrono::hours(1));
  EXPECT_EQ(early.failure, AuthFailure::kExpired);
  EXPECT_THAT(early.message, HasSubstr("3600 s ahead"));
}

TEST_F(SigV4VerifierTest, ChecksTheCredentialScope) {
  const Vector& v = SuiteVectors().front();
  auto failure = [&](const std::string& auth) { return Verify(v, HeadersOf(v), auth); };
  SigV4Verdict date = failure(Authorization(v.signed_headers, v.signature, "20150831"));
  EXPECT_EQ(date.failure, AuthFailure::kInvalid);
  EXPECT_THAT(date.message, HasSubstr("date"));
  SigV4Verdict akid = failure(Authorization(v.signed_headers, v.signature, "20150830", "AKIDOTHER"));
  EXPECT_EQ(akid.failure, AuthFailure::kInvalid);
  EXPECT_THAT(akid.message, HasSubstr("access key id"));
  SigV4Verdict service =
      failure(Authorization(v.signed_headers, v.signature, "20150830", "AKIDEXAMPLE", "s3"));
  EXPECT_EQ(service.failure, AuthFailure::kInvalid);
  EXPECT_THAT(service.message, HasSubstr("service 's3'"));
  options_.region = "eu-west-1";
  SigV4Verdict region = failure(Authorization(v.signed_headers, v.signature));
  EXPECT_EQ(region.failure, AuthFailure::kInvalid);
  EXPECT_THAT(region.message, HasSubstr("eu-west-1"));
  options_.region = "us-east-1";
  EXPECT_NE(failure(Authorization(v.signed_headers, v.signature)).key, nullptr);
}

TEST_F(SigV4VerifierTest, RefusesMalformedOrIncompleteRequests) {
  const Vector& v = SuiteVectors().front();
  const std::string auth = Authorization(v.signed_headers, v.signature);
  for (const char* bad :
       {"AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service",
        "AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/service/aws4_request, Signature=00",
        "AWS4-HMAC-SHA256 Credential=A/B/C/D/E/F, SignedHeaders=host, Signature=00"}) {
    EXPECT_EQ(Verify(v, HeadersOf(v), bad).failure, AuthFailure::kInvalid) << bad;
  }
  ListHeaders no_date;
  no_date.Add("Host", "example.amazonaws.com");
  EXPECT_THAT(Verify(v, no_date, auth).message, HasSubstr("X-Amz-Date is required"));
  ListHeaders bad_date({{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "2015-08-30T12:36:00Z"}});
  EXPECT_EQ(Verify(v, bad_date, auth).failure, AuthFailure::kInvalid);
  ListHeaders no_host;
  no_host.Add("X-Amz-Date", kDate);
  EXPECT_THAT(Verify(v, no_host, auth).message, HasSubstr("signed header 'host' is not in the request"));
  EXPECT_THAT(Verify(v, HeadersOf(v), Authorization("x-amz-date", v.signature)).message,
              HasSubstr("must include host"));
}

TEST_F(SigV4VerifierTest, ThePayloadHashHeaderMustBeTheBodysHash) {
  Vector v = SuiteVectors().front();
  const std::string empty_hash = HexDigest(Sha256(""));
  ListHeaders headers = HeadersOf(v);
  headers.Add("X-Amz-Content-Sha256", empty_hash);
  // Not signed, but used as the payload hash: equal to the body's, so the
  // suite's signature still holds.
  EXPECT_NE(Verify(v, headers, Authorization(v.signed_headers, v.signature)).key, nullptr);
  v.body = "tampered";
  EXPECT_EQ(Verify(v, headers, Authorization(v.signed_headers, v.signature)).failure,
            AuthFailure::kBadSignature);
  ListHeaders unsigned_payload = HeadersOf(v);
  unsigned_payload.Add("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
  SigV4Verdict verdict = Verify(v, unsigned_payload, Authorization(v.signed_headers, v.signature));
  EXPECT_EQ(verdict.failure, AuthFailure::kInvalid);
  EXPECT_THAT(verdict.message, HasSubstr("unsigned"));
}

TEST(SigV4CanonicalTest, EncodesThePathAgainAsAwsSdksDoForServicesOtherThanS3) {
  EXPECT_EQ(CanonicalUri("/endpoints/my-endpoint/invocations"), "/endpoints/my-endpoint/invocations");
  EXPECT_EQ(CanonicalUri("/models/a%20b/invoke"), "/models/a%2520b/invoke");
  EXPECT_EQ(CanonicalUri(""), "/");
  EXPECT_EQ(CanonicalUri("/a/./b/../c//d/"), "/a/c/d/");
  EXPECT_EQ(*CanonicalQuery("b=2&a=%2F&a=1&c"), "a=%2F&a=1&b=2&c=");
  EXPECT_FALSE(CanonicalQuery("a=%zz").ok());
}

}  // namespace
}  // namespace modelmux
