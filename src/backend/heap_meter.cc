#include "backend/heap_meter.h"

#include <algorithm>
#include <cstddef>

// jemalloc's control interface. Weak: resolved only when the binary links
// jemalloc (the server does), null otherwise.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));
extern "C" size_t nallocx(size_t size, int flags) __attribute__((weak));

namespace modelmux {
namespace {

uint64_t ReadCounter(const char* name) {
  uint64_t value = 0;
  size_t size = sizeof(value);
  if (mallctl == nullptr || mallctl(name, &value, &size, nullptr, 0) != 0) return 0;
  return value;
}

}  // namespace

bool HeapMeter::Available() {
  if (mallctl == nullptr) return false;
  uint64_t value = 0;
  size_t size = sizeof(value);
  // Fails when jemalloc was built without statistics.
  static const bool available = mallctl("thread.allocated", &value, &size, nullptr, 0) == 0;
  return available;
}

HeapMeter::HeapMeter() {
  if (!Available()) return;
  allocated_ = ReadCounter("thread.allocated");
  deallocated_ = ReadCounter("thread.deallocated");
}

int64_t HeapMeter::UntouchedTail(int64_t requested) {
  if (!Available() || nallocx == nullptr || requested <= 0) return 0;
  constexpr int64_t kPage = 4096;
  const auto served = static_cast<int64_t>(nallocx(static_cast<size_t>(requested), 0));
  const int64_t touched = (requested + kPage - 1) / kPage * kPage;
  return std::max<int64_t>(0, served - touched);
}

std::optional<int64_t> HeapMeter::NetBytes() const {
  if (!Available()) return std::nullopt;
  const uint64_t allocated = ReadCounter("thread.allocated") - allocated_;
  const uint64_t deallocated = ReadCounter("thread.deallocated") - deallocated_;
  return static_cast<int64_t>(allocated) - static_cast<int64_t>(deallocated);
}

}  // namespace modelmux
