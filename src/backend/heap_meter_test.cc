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

TEST(HeapMeterTest, NothingWithoutJemalloc) {
  if (HeapMeter::Available()) GTEST_SKIP() << "the allocator is jemalloc";
  EXPECT_FALSE(HeapMeter().NetBytes().has_value());
}

}  // namespace
}  // namespace modelmux
