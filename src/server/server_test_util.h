// For tests that run a real InferenceServer over a local store of fake
// models (the front ends' tests): a store root named after the running test,
// model configs written into it, and the server over it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "metrics/metrics.h"
#include "server/inference_server.h"
#include "store/local_directory_store.h"

namespace modelmux::testing_util {

// An empty directory under the system temp dir: <prefix>-<pid>-<test name>.
inline std::filesystem::path FreshTestRoot(std::string_view prefix) {
  std::filesystem::path root = std::filesystem::temp_directory_path() /
                               (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  return root;
}

// <root>/<name>/config.json holding `config`.
inline void WriteModelConfig(const std::filesystem::path& root, const std::string& name,
                             const std::string& config) {
  std::filesystem::create_directories(root / name);
  std::ofstream(root / name / "config.json") << config;
}

// An InferenceServer over a LocalDirectoryStore at `root`, with `backend`
// alone, one worker and a 1 MiB budget. REQUIRES: `metrics` outlives it.
inline absl::StatusOr<std::unique_ptr<InferenceServer>> MakeTestServer(const std::filesystem::path& root,
                                                                       std::unique_ptr<Backend> backend,
                                                                       Metrics* metrics,
                                                                       int max_queue_per_model = 128) {
  LocalDirectoryStore::Options store_options;
  store_options.root = root;
  absl::StatusOr<std::unique_ptr<LocalDirectoryStore>> store = LocalDirectoryStore::Create(store_options);
  if (!store.ok()) return store.status();
  InferenceServer::Options options;
  options.store = *std::move(store);
  options.backends.push_back(std::move(backend));
  options.metrics = metrics;
  options.memory_budget_bytes = 1 << 20;
  options.workers = 1;
  options.max_queue_per_model = max_queue_per_model;
  return InferenceServer::Create(std::move(options));
}

}  // namespace modelmux::testing_util
