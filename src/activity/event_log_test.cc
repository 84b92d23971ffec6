#include "activity/event_log.h"

#include <string>

#include "gtest/gtest.h"

namespace modelmux {
namespace {

ModelEvent Event(std::string model, Lifecycle kind = Lifecycle::kLoaded) {
  ModelEvent e;
  e.model = std::move(model);
  e.kind = kind;
  return e;
}

TEST(EventLogTest, NewestFirstWithSequenceNumbers) {
  EventLog log(10);
  log.Add(Event("a"));
  log.Add(Event("b", Lifecycle::kEvicted));
  log.Add(Event("c", Lifecycle::kFailed));
  const auto recent = log.Recent(10);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0].model, "c");
  EXPECT_EQ(recent[0].seq, 3u);
  EXPECT_EQ(recent[2].model, "a");
  EXPECT_EQ(recent[2].seq, 1u);
  EXPECT_EQ(log.last_seq(), 3u);
  EXPECT_EQ(log.Recent(2).size(), 2u);
  const auto after = log.Recent(10, 2);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].model, "c");
}

TEST(EventLogTest, KeepsOnlyTheCapacity) {
  EventLog log(3);
  for (int i = 0; i < 10; ++i) log.Add(Event("m" + std::to_string(i)));
  const auto recent = log.Recent(100);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0].model, "m9");
  EXPECT_EQ(recent[2].model, "m7");
  EXPECT_EQ(recent[2].seq, 8u);
}

TEST(EventLogTest, LongReasonsAreCutOnACharacterBoundary) {
  EventLog log(2);
  ModelEvent e = Event("a", Lifecycle::kFailed);
  for (int i = 0; i < 300; ++i) e.reason += "é";  // two bytes each
  log.Add(e);
  const std::string reason = log.Recent(1)[0].reason;
  EXPECT_LE(reason.size(), EventLog::kMaxReasonBytes + 3);
  EXPECT_EQ(reason.substr(reason.size() - 3), "…");
  EXPECT_EQ((reason.size() - 3) % 2, 0u);  // no half "é"
}

}  // namespace
}  // namespace modelmux
