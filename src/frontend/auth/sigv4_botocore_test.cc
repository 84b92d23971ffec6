// Requests signed at test time by botocore (the signer of boto3 and the AWS
// CLI: botocore.auth.SigV4Auth on an AWSRequest, run by /usr/bin/python3),
// replayed against the verifier exactly as they would arrive: the path and
// query as sent, every header, the body.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "frontend/auth/sigv4_verifier.h"
#include "frontend/auth/test_headers.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

// Prints one JSON object per signed request:
// {"name", "method", "path", "query", "headers": [[name, value]...], "body_hex"}.
constexpr char kSignScript[] = R"PY(
import json, hashlib
from urllib.parse import urlsplit
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

plain = Credentials("AKIDBOTO", "boto/secret+key")
admin = Credentials("AKIDADMIN", "another-secret", token="session-token-xyz")
body = json.dumps({"text": ["hello there", "caf\u00e9"]}).encode()
binary = bytes(range(256))
cases = [
  ("invoke-endpoint", plain, "us-east-1", "POST",
   "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/my-endpoint/invocations",
   {"Content-Type": "application/json", "Accept": "application/json",
    "X-Amzn-SageMaker-Target-Model": "tenant-01.tar.gz",
    "X-Amzn-SageMaker-Custom-Attributes": "a=b;  c=d"}, body),
  ("encoded-path", plain, "eu-west-1", "POST", "http://127.0.0.1:8080/models/a%20b%2Fc/invoke",
   {"Content-Type": "application/json"}, body),
  ("query", plain, "us-east-1", "GET", "http://localhost:9000/models?b=2&a=%2F&a=1&next_token=x%3Dy", {}, b""),
  ("binary-body", plain, "us-east-1", "POST", "http://127.0.0.1:8080/invocations",
   {"Content-Type": "application/octet-stream", "X-Spaced": "  several   spaces  here "}, binary),
  ("content-sha256-and-session-token", admin, "ap-south-1", "DELETE", "http://127.0.0.1:8080/models/tenant-02",
   {"X-Amz-Content-Sha256": hashlib.sha256(b"").hexdigest()}, b""),
]
for name, creds, region, method, url, headers, data in cases:
    request = AWSRequest(method=method, url=url, data=data, headers=dict(headers))
    SigV4Auth(creds, "sagemaker", region).add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    sent = [[k, v] for k, v in prepared.headers.items()]
    sent.append(["Host", parts.netloc])  # what the HTTP client adds
    print(json.dumps({"name": name, "method": method, "path": parts.path, "query": parts.query,
                      "headers": sent, "body_hex": (prepared.body or b"").hex()}))
)PY";

struct SignedRequest {
  std::string name, method, path, query, body;
  ListHeaders headers;
  std::string authorization;
};

std::vector<SignedRequest> SignWithBotocore() {
  const std::string script = ::testing::TempDir() + "/sign_with_botocore.py";
  {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(script.c_str(), "w"), &std::fclose);
    std::fputs(kSignScript, f.get());
  }
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(("/usr/bin/python3 " + script).c_str(), "r"), &pclose);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe.get())) out.append(buf, n);
  std::vector<SignedRequest> requests;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    nlohmann::json j = nlohmann::json::parse(out.substr(start, end - start));
    start = end == std::string::npos ? out.size() : end + 1;
    SignedRequest& r = requests.emplace_back();
    r.name = j["name"];
    r.method = j["method"];
    r.path = j["path"];
    r.query = j["query"];
    const std::string hex = j["body_hex"];
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
      r.body.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    for (const auto& h : j["headers"]) {
      r.headers.Add(h[0], h[1]);
      if (h[0] == "Authorization") r.authorization = h[1];
    }
  }
  return requests;
}

class SigV4BotocoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { requests_ = new std::vector<SignedRequest>(SignWithBotocore()); }
  static void TearDownTestSuite() { delete requests_; }

  SigV4Verdict Verify(const SignedRequest& r, std::string_view body) {
    AuthRequest request{r.method, r.path, r.query, body, &r.headers};
    return VerifySigV4(request, r.authorization, keys_, options_, std::chrono::system_clock::now());
  }

  SigV4Keys keys_ = *SigV4Keys::Parse("AKIDBOTO boto/secret+key\nAKIDADMIN another-secret admin\n");
  SigV4Options options_;
  static std::vector<SignedRequest>* requests_;
};

std::vector<SignedRequest>* SigV4BotocoreTest::requests_ = nullptr;

TEST_F(SigV4BotocoreTest, AcceptsEveryRequestBotocoreSigned) {
  ASSERT_EQ(requests_->size(), 5u) << "the botocore script did not sign every case";
  for (const SignedRequest& r : *requests_) {
    SigV4Verdict verdict = Verify(r, r.body);
    EXPECT_NE(verdict.key, nullptr) << r.name << ": " << verdict.message;
  }
  EXPECT_TRUE(Verify(requests_->back(), requests_->back().body).key->admin);
}

TEST_F(SigV4BotocoreTest, RefusesThemWithAnotherBodyOrSecret) {
  ASSERT_FALSE(requests_->empty());
  for (const SignedRequest& r : *requests_) {
    if (r.name == "content-sha256-and-session-token") {
      EXPECT_EQ(Verify(r, "x").failure, AuthFailure::kBadSignature) << r.name;
      continue;
    }
    EXPECT_EQ(Verify(r, r.body + " ").failure, AuthFailure::kBadSignature) << r.name;
  }
  keys_ = *SigV4Keys::Parse("AKIDBOTO boto/secret+kez\nAKIDADMIN another-secret admin\n");
  EXPECT_EQ(Verify(requests_->front(), requests_->front().body).failure, AuthFailure::kBadSignature);
}

TEST_F(SigV4BotocoreTest, TheRegionCanBePinned) {
  ASSERT_GE(requests_->size(), 2u);
  options_.region = "us-east-1";
  EXPECT_NE(Verify((*requests_)[0], (*requests_)[0].body).key, nullptr);
  EXPECT_EQ(Verify((*requests_)[1], (*requests_)[1].body).failure, AuthFailure::kInvalid);  // eu-west-1
}

}  // namespace
}  // namespace modelmux
