#include "backend/heap_meter.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace modelmux {
namespace {

// Keeps the compiler from eliding an allocation it can see is unused.
void Escape(void* p) { asm volatile("" : : "g"(p) : "memory"); }

// backend_test links jemalloc in the plain build (see CMakeLists.txt); the
// sanitizer builds keep their own allocator and have no counters.
TEST(HeapMeterTest, CountsWhatIsKeptNotWhatIsFreed) {
  if (!HeapMeter::Available()) GTEST_SKIP() << "the allocator is not jemalloc";
  HeapMeter meter;
  auto kept = std::make_unique<std::vector<char>>(4 << 20);
  Escape(kept->data());
  {
    std::vector<char> scratch(8 << 20);
    Escape(scratch.data());
  }
  const std::optional<int64_t> net = meter.NetBytes();
  ASSERT_TRUE(net.has_value());
  EXPECT_GE(*net, 4 << 20);
  EXPECT_LT(*net, (4 << 20) + (64 << 10));
  kept.reset();
  EXPECT_LT(*meter.NetBytes(), 64 << 10);
}

TEST(HeapMeterTest, UntouchedTailOfALargeSizeClass) {
  if (!HeapMeter::Available()) GTEST_SKIP() << "the allocator is not jemalloc";
  // 4.2 MiB is served from the 5 MiB class; small requests have no tail.
  EXPECT_EQ(HeapMeter::UntouchedTail(4'404'020), 5 * (1 << 20) - 4'407'296);
  EXPECT_EQ(HeapMeter::UntouchedTail(5 * (1 << 20)), 0);
  EXPECT_EQ(HeapMeter::UntouchedTail(24), 0);
}

TEST(HeapMeterTest, NothingWithoutJemalloc) {
  if (HeapMeter::Available()) GTEST_SKIP() << "the allocator is jemalloc";
  EXPECT_FALSE(HeapMeter().NetBytes().has_value());
  EXPECT_EQ(HeapMeter::UntouchedTail(4'404'020), 0);
}

}  // namespace
}  // namespace modelmux
