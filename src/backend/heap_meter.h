// HeapMeter: the heap bytes a stretch of code leaves allocated, as counted by
// the allocator.
//
// The server links jemalloc, which keeps per-thread totals of the bytes each
// thread has allocated and freed (mallctl "thread.allocated" and
// "thread.deallocated", in the size classes it really handed out). A meter
// reads both when constructed and again in NetBytes(): the difference is what
// the thread allocated in between and did not free. Backends load a model on
// one thread with nothing else running on it, so this is the model's heap
// footprint, whatever the framework keeps inside (dictionaries, hash tables,
// trees) and without knowing its data structures.
//
// Without jemalloc (sanitizer builds, binaries that do not link it) there are
// no such counters: NetBytes() is nullopt and callers estimate instead.
//
// Not thread-safe: construct and read it on the same thread.
#pragma once

#include <cstdint>
#include <optional>

namespace modelmux {

class HeapMeter {
 public:
  HeapMeter();

  // Whether the process's allocator keeps per-thread counters.
  static bool Available();

  // Bytes allocated minus bytes freed on this thread since construction
  // (negative when it freed more than it allocated); nullopt without jemalloc.
  std::optional<int64_t> NetBytes() const;

  // What NetBytes() counts for one allocation of `requested` bytes beyond the
  // pages it touches: jemalloc serves a large request from a size class up to
  // 25% bigger (4.4 MB: 5 MiB), whose tail pages a program that writes only
  // what it asked for never makes resident. 0 without jemalloc.
  static int64_t UntouchedTail(int64_t requested);

 private:
  uint64_t allocated_ = 0;
  uint64_t deallocated_ = 0;
};

}  // namespace modelmux
