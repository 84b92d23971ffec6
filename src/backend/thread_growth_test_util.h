// Test-only: whether loading and using models starts threads of a backend's
// own (the seed's thread explosion), measured from /proc/self/task.
//
// MeasureThreadGrowth runs `callers` fresh threads; each loads its share of
// callers * models_per_caller models with `load`, then, once every caller has
// loaded, calls `use` on every model. The thread count is sampled while all
// callers are alive, after their loads and after their calls. A backend that
// starts no thread of its own shows most == before + callers, after == before.
#pragma once

#include <dirent.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/model.h"
#include "gtest/gtest.h"
#include "spdlog/spdlog.h"

namespace modelmux::testing_util {

// The threads of this process.
inline int ThreadCount() {
  int n = 0;
  DIR* dir = opendir("/proc/self/task");
  while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
  closedir(dir);
  return n;
}

struct ThreadGrowth {
  int before = 0;  // before the callers started
  int most = 0;    // the most seen while they ran
  int after = 0;   // once they were joined
};

inline ThreadGrowth MeasureThreadGrowth(int callers, int models_per_caller,
                                        const std::function<absl::StatusOr<std::unique_ptr<Model>>()>& load,
                                        const std::function<void(const Model&)>& use) {
  std::vector<std::unique_ptr<Model>> models(static_cast<size_t>(callers * models_per_caller));
  // Sanitizer runtimes start a helper thread with the first thread created.
  std::thread([] {}).join();
  // Loads log through spdlog, whose registry is made on first use inside the
  // uninstrumented libspdlog: make it here, before the threads, or TSan sees
  // the callers race on it (the server's main logs before any thread starts).
  spdlog::default_logger_raw();
  ThreadGrowth growth;
  growth.before = ThreadCount();
  std::atomic<int> most{0};
  auto count = [&] {
    const int now = ThreadCount();
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
  };
  std::latch loaded(callers), counted(callers);
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < models.size(); i += static_cast<size_t>(callers)) {
        auto model = load();
        EXPECT_TRUE(model.ok()) << model.status();
        if (model.ok()) models[i] = *std::move(model);
      }
      count();
      loaded.arrive_and_wait();
      for (const auto& m : models) {
        if (m != nullptr) use(*m);
      }
      count();  // every caller is alive until all have counted
      counted.arrive_and_wait();
    });
  }
  for (std::thread& t : threads) t.join();
  growth.most = most.load();
  // A joined thread may stay listed in /proc/self/task for a moment (the
  // kernel wakes the joiner before it reaps the task): wait, bounded, for the
  // count to come back down before reading it.
  for (int i = 0; i < 400 && ThreadCount() > growth.before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  growth.after = ThreadCount();
  return growth;
}

}  // namespace modelmux::testing_util
