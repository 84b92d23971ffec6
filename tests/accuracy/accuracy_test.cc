// Scores the held-out examples of a generated store through the server's own
// path: config parsing, the backend the tenant names (TorchScript and fastText
// ticket classifiers, XGBoost churn models), top-k. The store is made by the
// ctest fixture accuracy_make_store (see CMakeLists.txt).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "backend/model_config.h"
#include "backends/fasttext/fasttext_backend.h"
#include "backends/torchscript/torchscript_backend.h"
#include "backends/xgboost/xgboost_backend.h"
#include "make_store/churn_data.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

constexpr double kMinMeanAccuracy = 0.80;  // ticket classifiers, top-1
constexpr double kMinMeanAuc = 0.80;       // churn models
constexpr size_t kBatch = 64;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<nlohmann::json> Heldout(const fs::path& store, const std::string& name) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(store / "_heldout" / (name + ".jsonl"));
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  EXPECT_FALSE(rows.empty()) << name << " has no held-out examples";
  return rows;
}

absl::StatusOr<std::unique_ptr<Model>> LoadTenant(const Backend& backend, const fs::path& dir) {
  absl::StatusOr<ModelConfig> config = ParseModelConfig(ReadFile(dir / "config.json"));
  if (!config.ok()) return config.status();
  return backend.Load(dir, *config);
}

struct Scored {
  double top1 = 0, top3 = 0;  // ticket classifiers
  double auc = 0;             // churn models
  int total = 0;
};

Scored ScoreTickets(const Model& model, const std::vector<nlohmann::json>& tickets) {
  Scored s;
  std::vector<std::string> texts;
  for (const auto& t : tickets) texts.push_back(t["text"]);
  for (size_t begin = 0; begin < texts.size(); begin += kBatch) {
    const size_t end = std::min(texts.size(), begin + kBatch);
    std::vector<std::string_view> batch(texts.begin() + begin, texts.begin() + end);
    auto result = model.Classify(batch, 3);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return s;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& ranked = (*result)[i];
      for (size_t k = 0; k < ranked.size(); ++k) {
        if (ranked[k].label != tickets[begin + i]["label"].get<std::string>()) continue;
        s.top1 += k == 0;
        ++s.top3;
      }
      ++s.total;
    }
  }
  s.top1 /= s.total;
  s.top3 /= s.total;
  return s;
}

// Also checks every probability against what XGBoost itself predicted when
// the store was made.
Scored ScoreRows(const Model& model, const std::vector<nlohmann::json>& rows, const std::string& name) {
  Scored s;
  std::vector<float> scores, labels;
  for (size_t begin = 0; begin < rows.size(); begin += kBatch) {
    const size_t end = std::min(rows.size(), begin + kBatch);
    Tensor batch;
    batch.name = "features";
    for (size_t i = begin; i < end; ++i) {
      for (double v : rows[i]["features"]) batch.fp32.push_back(static_cast<float>(v));
    }
    batch.shape = {static_cast<int64_t>(end - begin), static_cast<int64_t>(rows[begin]["features"].size())};
    auto result = model.Infer({batch});
    EXPECT_TRUE(result.ok()) << name << ": " << result.status();
    if (!result.ok()) return s;
    const std::vector<float>& p = (*result)[0].fp32;
    for (size_t i = begin; i < end; ++i) {
      EXPECT_NEAR(p[i - begin], rows[i]["probability"].get<double>(), 1e-6) << name << " row " << i;
      scores.push_back(p[i - begin]);
      labels.push_back(rows[i]["label"].get<float>());
    }
  }
  s.total = static_cast<int>(scores.size());
  s.auc = make_store::Auc(scores, labels);
  return s;
}

TEST(AccuracyTest, EveryBackendScoresItsHeldOutExamples) {
  const char* store_env = std::getenv("MODELMUX_ACCURACY_STORE");
  ASSERT_NE(store_env, nullptr) << "set MODELMUX_ACCURACY_STORE to a store made by modelmux-make-store";
  const fs::path store(store_env);
  const nlohmann::json summary = nlohmann::json::parse(ReadFile(store / "_heldout" / "summary.json"));
  ASSERT_GE(summary["tenants"].size(), 1u);

  std::map<std::string, std::unique_ptr<Backend>> backends;
  backends["torchscript"] = NewTorchScriptBackend();
  backends["fasttext"] = NewFastTextBackend();
  backends["xgboost"] = NewXGBoostBackend();
  std::map<std::string, std::vector<Scored>> by_backend;
  for (const auto& tenant : summary["tenants"]) {
    const std::string name = tenant["name"];
    const std::string backend = tenant.value("backend", "torchscript");
    ASSERT_TRUE(backends.contains(backend)) << name << ": " << backend;
    auto model = LoadTenant(*backends[backend], store / name);
    ASSERT_TRUE(model.ok()) << name << ": " << model.status();
    const std::vector<nlohmann::json> heldout = Heldout(store, name);
    if (backend == "xgboost") {
      const Scored s = ScoreRows(**model, heldout, name);
      std::printf("%-36s %-12s %4d rows     AUC %.3f\n", name.c_str(), backend.c_str(), s.total, s.auc);
      EXPECT_NEAR(s.auc, tenant["auc"].get<double>(), 1e-6) << name;
      by_backend[backend].push_back(s);
      continue;
    }
    const Scored s = ScoreTickets(**model, heldout);
    std::printf("%-36s %-12s %4d tickets  top-1 %5.1f%%  top-3 %5.1f%%\n", name.c_str(), backend.c_str(),
                s.total, 100 * s.top1, 100 * s.top3);
    // Same weights, same input: the server must agree with the trainer's own
    // evaluation (up to float summation order).
    EXPECT_NEAR(s.top1, tenant["accuracy"].get<double>(), 0.01) << name;
    EXPECT_GE(s.top3, s.top1) << name;
    by_backend[backend].push_back(s);
  }
  for (const auto& [backend, scores] : by_backend) {
    double top1 = 0, top3 = 0, auc = 0;
    for (const Scored& s : scores) {
      top1 += s.top1 / scores.size();
      top3 += s.top3 / scores.size();
      auc += s.auc / scores.size();
    }
    if (backend == "xgboost") {
      std::printf("%s: %zu tenants, mean AUC %.3f\n", backend.c_str(), scores.size(), auc);
      EXPECT_GE(auc, kMinMeanAuc) << backend;
    } else {
      std::printf("%s: %zu tenants, mean top-1 %.1f%%, top-3 %.1f%%\n", backend.c_str(), scores.size(),
                  100 * top1, 100 * top3);
      EXPECT_GE(top1, kMinMeanAccuracy) << backend;
    }
  }
}

// --torchscript-freeze (issue 15): every demo TorchScript model, frozen and
// optimised at load, gives the probabilities the module gives.
TEST(AccuracyTest, FrozenTorchScriptModelsGiveTheSameProbabilities) {
  const char* store_env = std::getenv("MODELMUX_ACCURACY_STORE");
  ASSERT_NE(store_env, nullptr) << "set MODELMUX_ACCURACY_STORE to a store made by modelmux-make-store";
  const fs::path store(store_env);
  const nlohmann::json summary = nlohmann::json::parse(ReadFile(store / "_heldout" / "summary.json"));
  std::unique_ptr<Backend> plain = NewTorchScriptBackend();
  std::unique_ptr<Backend> frozen = NewTorchScriptBackend({.freeze = true});
  int compared = 0;
  for (const auto& tenant : summary["tenants"]) {
    if (tenant.value("backend", "torchscript") != "torchscript") continue;
    const std::string name = tenant["name"];
    auto want_model = LoadTenant(*plain, store / name);
    auto got_model = LoadTenant(*frozen, store / name);
    ASSERT_TRUE(want_model.ok() && got_model.ok()) << name;
    std::vector<std::string> texts;
    for (const auto& t : Heldout(store, name)) texts.push_back(t["text"]);
    const std::vector<std::string_view> views(texts.begin(), texts.end());
    auto want = (*want_model)->Classify(views, 3);
    auto got = (*got_model)->Classify(views, 3);
    ASSERT_TRUE(want.ok() && got.ok()) << name;
    ASSERT_EQ(got->size(), want->size()) << name;
    for (size_t i = 0; i < want->size(); ++i) {
      ASSERT_EQ((*got)[i].size(), (*want)[i].size()) << name << " ticket " << i;
      std::map<std::string_view, float> want_scores;
      for (const LabelScore& s : (*want)[i]) want_scores[s.label] = s.score;
      for (size_t j = 0; j < (*want)[i].size(); ++j) {
        // The same ranking and probabilities; a label may differ only where
        // two labels tie (then its score is the one at that rank).
        EXPECT_NEAR((*got)[i][j].score, (*want)[i][j].score, 1e-6) << name << " ticket " << i;
        auto it = want_scores.find((*got)[i][j].label);
        if (it != want_scores.end()) {
          EXPECT_NEAR((*got)[i][j].score, it->second, 1e-6) << name << " ticket " << i;
        }
      }
    }
    ++compared;
  }
  EXPECT_GE(compared, 1);
}

}  // namespace
}  // namespace modelmux

// Debian's libfasttext.so exports fastText's command-line main(): a main in
// the test's own object keeps the linker from taking that one.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
