#include "eviction/decayed_value_order.h"

#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

constexpr uint32_t kA = 0, kB = 1, kC = 2;

uint32_t First(DecayedValueOrder& order) {
  return *order.FirstWhere([](uint32_t) { return true; });
}

// The whole eviction order, read by refusing every candidate (which must
// leave the order as it was).
std::vector<uint32_t> Ranking(DecayedValueOrder& order) {
  std::vector<uint32_t> ids;
  EXPECT_FALSE(order.FirstWhere([&](uint32_t id) {
    ids.push_back(id);
    return false;
  }));
  return ids;
}

// A used twice, then C `gap` times (2 resident: each access is 1/8 of a
// half-life of 4), then B once: whether A still outranks B depends on the gap.
uint32_t FirstAfterGap(int gap) {
  DecayedValueOrder order(/*half_life=*/4);
  order.Access(kA, 1.0);
  order.Access(kA, 1.0);
  order.Add(kA);
  order.Access(kC, 1.0);
  order.Add(kC);
  for (int i = 0; i < gap; ++i) order.Access(kC, 1.0);
  order.Access(kB, 1.0);
  order.Add(kB);
  return First(order);
}

TEST(DecayedValueOrderTest, CountsHalveEachHalfLife) {
  EXPECT_EQ(FirstAfterGap(2), kB);   // A: 2 × 2^-0.375 > 1
  EXPECT_EQ(FirstAfterGap(40), kA);  // A: 2 × 2^-5 < 1
}

TEST(DecayedValueOrderTest, LowestValueFirst) {
  DecayedValueOrder order(8);
  order.Access(kA, 0.5);
  order.Add(kA);
  order.Access(kB, 0.1);
  order.Add(kB);
  EXPECT_EQ(First(order), kB);
  order.Access(kB, 0.1);
  order.Access(kB, 0.1);
  order.Access(kB, 0.1);
  order.Access(kB, 0.1);
  order.Access(kB, 0.1);
  EXPECT_EQ(First(order), kA);  // 6 × 0.1 > 0.5
}

TEST(DecayedValueOrderTest, HistorySurvivesRemoval) {
  DecayedValueOrder order(8);
  for (int i = 0; i < 3; ++i) order.Access(kA, 1.0);
  order.Add(kA);
  order.Remove(kA);
  EXPECT_FALSE(order.Contains(kA));
  EXPECT_EQ(order.resident_count(), 0u);
  order.Access(kB, 1.0);
  order.Add(kB);
  order.Access(kA, 1.0);
  order.Add(kA);
  EXPECT_EQ(First(order), kB);
  EXPECT_EQ(order.resident_count(), 2u);
}

TEST(DecayedValueOrderTest, LongerHalfLifeRemembersLonger) {
  auto first = [](double half_life) {
    DecayedValueOrder order(half_life);
    order.Access(kA, 1.0);
    order.Access(kA, 1.0);
    order.Add(kA);
    order.Access(kC, 1.0);
    order.Add(kC);
    for (int i = 0; i < 20; ++i) order.Access(kC, 1.0);
    order.Access(kB, 1.0);
    order.Add(kB);
    return First(order);
  };
  EXPECT_EQ(first(1), kA);    // 10 half-lives: A's two uses are forgotten
  EXPECT_EQ(first(100), kB);  // 0.1 half-life: they still count
}

// Accesses only raise keys, so they leave stale entries behind instead of
// pushing new ones; the order still follows the current keys.
TEST(DecayedValueOrderTest, StaleEntriesFollowCurrentKeys) {
  DecayedValueOrder order(8);
  for (uint32_t id : {kA, kB, kC}) {
    order.Access(id, 1.0);
    order.Add(id);
  }
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kA, kB, kC}));
  for (int i = 0; i < 3; ++i) order.Access(kA, 1.0);
  order.Access(kB, 1.0);
  EXPECT_EQ(order.heap_size(), 3u);
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kC, kB, kA}));
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kC, kB, kA}));
}

// A refused candidate is skipped, not dropped.
TEST(DecayedValueOrderTest, RefusedCandidatesStay) {
  DecayedValueOrder order(8);
  for (uint32_t id : {kA, kB, kC}) {
    order.Access(id, 1.0);
    order.Add(id);
  }
  EXPECT_EQ(order.FirstWhere([](uint32_t id) { return id != kA; }), kB);
  EXPECT_EQ(order.FirstWhere([](uint32_t id) { return id == kC; }), kC);
  EXPECT_EQ(order.resident_count(), 3u);
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kA, kB, kC}));
}

// An entry left behind by a removal never stands for the model once it is
// back: it appears once, at its current key, and not at all once removed.
TEST(DecayedValueOrderTest, RemovedThenAddedAppearsOnce) {
  DecayedValueOrder order(8);
  order.Access(kB, 1.0);
  order.Add(kB);
  for (uint32_t id : {kA, kA, kC, kC, kC}) order.Access(id, 1.0);
  order.Add(kA);
  order.Add(kC);
  ASSERT_EQ(Ranking(order), (std::vector<uint32_t>{kB, kA, kC}));
  order.Remove(kA);  // not the top: its entry stays in the heap, stale
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kB, kC}));
  order.Add(kA);
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kB, kA, kC}));
  order.Remove(kA);
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kB, kC}));
  for (int i = 0; i < 3; ++i) order.Access(kA, 1.0);
  order.Add(kA);
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kB, kC, kA}));
}

// A reload may lower a model's value, and with it its key: the model must
// move forward at once, ahead of models whose entries are current.
TEST(DecayedValueOrderTest, FallingKeyMovesForward) {
  DecayedValueOrder order(8);
  for (int i = 0; i < 4; ++i) order.Access(kA, 1.0);
  order.Add(kA);
  order.Access(kB, 1.0);
  order.Add(kB);
  ASSERT_EQ(First(order), kB);
  order.Access(kA, 0.01);  // 5 × 0.01 < 1
  EXPECT_EQ(First(order), kA);
  EXPECT_EQ(Ranking(order), (std::vector<uint32_t>{kA, kB}));
}

// Unloads that leave stale entries behind trigger compactions: the heap stays
// within about twice the resident models and the order is unchanged.
TEST(DecayedValueOrderTest, CompactionKeepsOrder) {
  constexpr uint32_t kModels = 400;
  DecayedValueOrder order(8);
  for (uint32_t id = 0; id < kModels; ++id) {
    order.Access(id, 1.0 + id);  // id 0 has the lowest value
    order.Add(id);
  }
  // Remove every model but one in five, highest first, so none is the top.
  std::vector<uint32_t> kept;
  for (uint32_t id = kModels; id-- > 0;) {
    if (id % 5 == 0) continue;
    order.Remove(id);
    EXPECT_LE(order.heap_size(), 2 * order.resident_count() + 64);
  }
  for (uint32_t id = 0; id < kModels; id += 5) kept.push_back(id);
  EXPECT_LT(order.heap_size(), kModels - 200);  // at least one compaction ran
  EXPECT_EQ(Ranking(order), kept);
}

// The order as an ordered set of (key, id) keeps it, re-keyed on every
// access: what the lazy heap must agree with, step by step.
class SetOrder {
 public:
  explicit SetOrder(double half_life) : half_life_(half_life) {}
  void Access(uint32_t id, double value) {
    State& s = states_[id];
    s.count = s.count * std::exp2(s.stamp - clock_) + 1;
    s.stamp = clock_;
    if (s.resident) order_.erase({s.key, id});
    s.key = std::log2(s.count * value) + s.stamp;
    if (s.resident) order_.insert({s.key, id});
    clock_ += 1.0 / (half_life_ * static_cast<double>(std::max<size_t>(order_.size(), 1)));
  }
  void Add(uint32_t id) {
    if (!states_[id].resident) order_.insert({states_[id].key, id});
    states_[id].resident = true;
  }
  void Remove(uint32_t id) {
    if (states_[id].resident) order_.erase({states_[id].key, id});
    states_[id].resident = false;
  }
  std::vector<uint32_t> Ranking() const {
    std::vector<uint32_t> ids;
    for (const auto& entry : order_) ids.push_back(entry.second);
    return ids;
  }

 private:
  struct State {
    double count = 0, stamp = 0, key = 0;
    bool resident = false;
  };
  double half_life_;
  double clock_ = 0;
  State states_[32];
  std::set<std::pair<double, uint32_t>> order_;
};

TEST(DecayedValueOrderTest, AgreesWithAnOrderedSet) {
  constexpr uint32_t kModels = 32;
  DecayedValueOrder lazy(64);
  SetOrder reference(64);
  std::mt19937 rng(3);
  std::vector<double> values(kModels, 1.0);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t id = rng() % kModels;
    switch (rng() % 8) {
      case 0:
        lazy.Add(id);
        reference.Add(id);
        break;
      case 1:
        lazy.Remove(id);
        reference.Remove(id);
        break;
      case 2: {  // an eviction that refuses some candidates
        const uint32_t refused = rng() % 3;
        auto allowed = [&](uint32_t m) { return m % 3 != refused; };
        const std::optional<uint32_t> victim = lazy.FirstWhere(allowed);
        std::optional<uint32_t> expected;
        for (uint32_t m : reference.Ranking()) {
          if (allowed(m)) {
            expected = m;
            break;
          }
        }
        ASSERT_EQ(victim, expected) << "step " << step;
        if (victim.has_value()) {
          lazy.Remove(*victim);
          reference.Remove(*victim);
        }
        break;
      }
      case 3:
        values[id] = 0.05 * (1 + rng() % 200);  // a reload: up or down
        [[fallthrough]];
      default:
        lazy.Access(id, values[id]);
        reference.Access(id, values[id]);
    }
    if (step % 7 == 0) {
      ASSERT_EQ(Ranking(lazy), reference.Ranking()) << "step " << step;
    }
    ASSERT_LE(lazy.heap_size(), 2 * lazy.resident_count() + 64);
  }
}

}  // namespace
}  // namespace modelmux
