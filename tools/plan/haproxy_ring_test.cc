#include "plan/haproxy_ring.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace modelmux::plan {
namespace {

// Values computed independently (a Python transcription of the two functions).
TEST(HashRingTest, HashFunctionsMatchHaproxys) {
  EXPECT_EQ(Sdbm(""), 0u);
  EXPECT_EQ(Sdbm("a"), 97u);
  EXPECT_EQ(Sdbm("ab"), 6363201u);
  EXPECT_EQ(Sdbm("m-001"), 824842545u);
  EXPECT_EQ(FullHash(0), 2874071335u);
  EXPECT_EQ(FullHash(1), 881230262u);
  EXPECT_EQ(FullHash(4096), 1237450891u);  // server id 1, point 0
  EXPECT_EQ(FullHash(Sdbm("m-001")), 2971701512u);
}

// Where HAProxy 2.6.12 (Debian 12) with deploy/haproxy/modelmux.cfg and three
// servers (ids 1-3) sent these names: the X-Modelmux-Instance of a
// GET /models/{name} through scripts/fleet (300 of 300 names agreed).
TEST(HashRingTest, RoutesAsTheRealHaproxyDid) {
  const std::map<std::string, int> measured = {{"m-0000", 0}, {"m-0001", 1}, {"m-0002", 0}, {"m-0003", 0},
                                               {"m-0007", 2}, {"m-0042", 0}, {"m-0099", 1}, {"m-0150", 0},
                                               {"m-0201", 2}, {"m-0299", 0}};
  HashRing ring(3);
  for (const auto& [name, server] : measured) EXPECT_EQ(ring.Pick(name), server) << name;
}

TEST(HashRingTest, SpreadsModelsEvenlyEnough) {
  HashRing ring(3);
  std::map<int, int> count;
  for (int i = 0; i < 3000; ++i) ++count[ring.Pick(absl::StrCat("m-", i))];
  ASSERT_EQ(count.size(), 3u);
  for (const auto& [server, n] : count) {
    EXPECT_GT(n, 750) << server;
    EXPECT_LT(n, 1250) << server;
  }
}

TEST(HashRingTest, LosingAServerMovesOnlyItsModels) {
  HashRing ring(4);
  std::map<std::string, int> before;
  for (int i = 0; i < 2000; ++i) before[absl::StrCat("t", i)] = ring.Pick(absl::StrCat("t", i));
  ring.SetUp(2, false);
  EXPECT_EQ(ring.up_count(), 3);
  int moved = 0;
  for (const auto& [name, server] : before) {
    const int now = ring.Pick(name);
    EXPECT_NE(now, 2);
    if (server != 2) {
      EXPECT_EQ(now, server) << name;
    }
    moved += now != server;
  }
  EXPECT_GT(moved, 300);  // about a quarter
  ring.SetUp(2, true);
  for (const auto& [name, server] : before) EXPECT_EQ(ring.Pick(name), server);
}

TEST(HashRingTest, OneServerLeftTakesEverything) {
  HashRing ring(2);
  ring.SetUp(0, false);
  EXPECT_EQ(ring.Pick("anything"), 1);
  ring.SetUp(1, false);
  EXPECT_EQ(ring.Pick("anything"), -1);
}

TEST(HashRingTest, IneligibleServersAreSkippedForTheNextOnTheRing) {
  HashRing ring(3);
  const int first = ring.Pick("hot-model");
  const int second = ring.Pick("hot-model", [&](int s) { return s != first; });
  EXPECT_NE(second, first);
  EXPECT_EQ(ring.Pick("hot-model", [](int) { return true; }), first);
  EXPECT_EQ(ring.Pick("hot-model", [](int) { return false; }), first);  // none eligible
}

// HAProxy's bounded-load slots: with 3 servers and factor 150, one request in
// flight already fills a server (ceil(2 x 1.5) = 3 slots over 4800 weight
// units: 1 each); with 30 in flight a server may hold 16.
TEST(HashRingTest, BoundedLoadSlotsFollowHaproxy) {
  EXPECT_TRUE(BoundedLoadEligible(0, 3, 0, 1, 150));
  EXPECT_FALSE(BoundedLoadEligible(0, 3, 1, 1, 150));
  EXPECT_TRUE(BoundedLoadEligible(1, 3, 15, 30, 150));
  EXPECT_FALSE(BoundedLoadEligible(1, 3, 16, 30, 150));
}

}  // namespace
}  // namespace modelmux::plan
