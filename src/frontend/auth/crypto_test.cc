#include "frontend/auth/crypto.h"

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

TEST(CryptoTest, Sha256OfKnownInputs) {
  EXPECT_EQ(HexDigest(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexDigest(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 4231's HMAC-SHA-256 test cases 1, 2 and 6 (a key longer than a block).
TEST(CryptoTest, HmacSha256OfRfc4231Vectors) {
  EXPECT_EQ(HexDigest(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexDigest(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexDigest(HmacSha256(std::string(131, '\xaa'),
                                 "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(CryptoTest, EachThreadHasItsOwnDigestContext) {
  std::string a, b;
  std::thread t([&] { a = HexDigest(HmacSha256("Jefe", "what do ya want for nothing?")); });
  b = HexDigest(HmacSha256("Jefe", "what do ya want for nothing?"));
  t.join();
  EXPECT_EQ(a, b);
}

TEST(CryptoTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace modelmux
