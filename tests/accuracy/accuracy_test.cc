// Scores the held-out tickets of a generated store through the server's own
// path: config parsing, TorchScript backend, tokenizer, top-k. The store is
// made by the ctest fixture accuracy_make_store (see CMakeLists.txt).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backend/model_config.h"
#include "backends/torchscript/torchscript_backend.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

constexpr double kMinMeanAccuracy = 0.80;
constexpr size_t kBatch = 64;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct Scored {
  int top1 = 0;
  int top3 = 0;
  int total = 0;
};

Scored ScoreTenant(const Backend& backend, const fs::path& store, const std::string& name) {
  Scored scored;
  auto config = ParseModelConfig(ReadFile(store / name / "config.json"));
  EXPECT_TRUE(config.ok()) << name << ": " << config.status();
  if (!config.ok()) return scored;
  auto model = backend.Load(store / name, *config);
  EXPECT_TRUE(model.ok()) << name << ": " << model.status();
  if (!model.ok()) return scored;

  std::vector<std::string> texts, labels;
  std::ifstream heldout(store / "_heldout" / (name + ".jsonl"));
  for (std::string line; std::getline(heldout, line);) {
    nlohmann::json ticket = nlohmann::json::parse(line);
    texts.push_back(ticket["text"]);
    labels.push_back(ticket["label"]);
  }
  EXPECT_FALSE(texts.empty()) << name << " has no held-out tickets";
  for (size_t begin = 0; begin < texts.size(); begin += kBatch) {
    const size_t end = std::min(texts.size(), begin + kBatch);
    std::vector<std::string_view> batch(texts.begin() + begin, texts.begin() + end);
    auto result = (*model)->Classify(batch, 3);
    EXPECT_TRUE(result.ok()) << name << ": " << result.status();
    if (!result.ok()) return scored;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& ranked = (*result)[i];
      for (size_t k = 0; k < ranked.size(); ++k) {
        if (ranked[k].label != labels[begin + i]) continue;
        scored.top1 += k == 0;
        ++scored.top3;
      }
      ++scored.total;
    }
  }
  return scored;
}

TEST(AccuracyTest, RightMacroRanksFirstOnHeldOutTickets) {
  const char* store_env = std::getenv("MODELMUX_ACCURACY_STORE");
  ASSERT_NE(store_env, nullptr) << "set MODELMUX_ACCURACY_STORE to a store made by modelmux-make-store";
  const fs::path store(store_env);
  const nlohmann::json summary = nlohmann::json::parse(ReadFile(store / "_heldout" / "summary.json"));
  ASSERT_GE(summary["tenants"].size(), 1u);

  std::unique_ptr<Backend> backend = NewTorchScriptBackend();
  double sum_top1 = 0, sum_top3 = 0, sum_reported = 0;
  for (const auto& tenant : summary["tenants"]) {
    const std::string name = tenant["name"];
    const Scored s = ScoreTenant(*backend, store, name);
    ASSERT_GT(s.total, 0) << name;
    const double top1 = static_cast<double>(s.top1) / s.total;
    const double top3 = static_cast<double>(s.top3) / s.total;
    std::printf("%-36s %4d tickets  top-1 %5.1f%%  top-3 %5.1f%%\n", name.c_str(), s.total, 100 * top1,
                100 * top3);
    // Same weights, same tokenizer: the server must agree with the trainer's
    // own evaluation (up to float summation order).
    EXPECT_NEAR(top1, tenant["accuracy"].get<double>(), 0.01) << name;
    sum_top1 += top1;
    sum_top3 += top3;
    sum_reported += tenant["accuracy"].get<double>();
  }
  const double n = static_cast<double>(summary["tenants"].size());
  std::printf("mean top-1 %.1f%%, top-3 %.1f%% (generator reported %.1f%%)\n", 100 * sum_top1 / n,
              100 * sum_top3 / n, 100 * sum_reported / n);
  EXPECT_GE(sum_top1 / n, kMinMeanAccuracy);
  EXPECT_GE(sum_top3, sum_top1);
}

}  // namespace
}  // namespace modelmux
