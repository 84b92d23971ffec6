#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "backend/model_config.h"
#include "backend/thread_growth_test_util.h"
#include "backends/xgboost/xgboost_backend.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kFeatures = 4;
constexpr char kConfig[] =
    R"({"backend": "xgboost", "task": "tabular", "features": ["usage", "seats", "tickets", "tenure"]})";

// Rows of kFeatures standard normals; label 1 when usage - seats > 0.
struct Data {
  std::vector<float> x, y;
  int rows = 0;
};

Data MakeData(int rows, uint32_t seed) {
  Data d;
  d.rows = rows;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < kFeatures; ++j) d.x.push_back(normal(rng));
    d.y.push_back(d.x[i * kFeatures] - d.x[i * kFeatures + 1] > 0 ? 1.0f : 0.0f);
  }
  return d;
}

class XGBoostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("xgboost_test_" + std::to_string(getpid())) / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (booster_ != nullptr) XGBoosterFree(booster_);
    fs::remove_all(dir_.parent_path());
  }

  // Trains a booster with XGBoost itself (names the features when asked) and
  // keeps it, so tests can compare the backend with the raw library.
  void Train(const char* objective, bool named = true, int rounds = 10) {
    data_ = MakeData(400, 1);
    DMatrixHandle m = nullptr;
    ASSERT_EQ(XGDMatrixCreateFromMat(data_.x.data(), data_.rows, kFeatures, NAN, &m), 0);
    ASSERT_EQ(XGDMatrixSetFloatInfo(m, "label", data_.y.data(), data_.rows), 0);
    const char* names[] = {"usage", "seats", "tickets", "tenure"};
    if (named) {
      ASSERT_EQ(XGDMatrixSetStrFeatureInfo(m, "feature_name", names, kFeatures), 0);
    }
    ASSERT_EQ(XGBoosterCreate(&m, 1, &booster_), 0);
    // The C API does not copy a DMatrix's names into the model.
    if (named) {
      ASSERT_EQ(XGBoosterSetStrFeatureInfo(booster_, "feature_name", names, kFeatures), 0);
    }
    XGBoosterSetParam(booster_, "nthread", "1");
    XGBoosterSetParam(booster_, "objective", objective);
    if (std::string_view(objective).starts_with("multi:")) XGBoosterSetParam(booster_, "num_class", "2");
    XGBoosterSetParam(booster_, "max_depth", "3");
    for (int i = 0; i < rounds; ++i) ASSERT_EQ(XGBoosterUpdateOneIter(booster_, i, m), 0);
    XGDMatrixFree(m);
  }
  void Write(const std::string& file, std::string_view text) {
    std::ofstream(dir_ / file, std::ios::binary) << text;
  }
  void WriteArtifact(const std::string& model_file = "model.json", std::string_view config = kConfig) {
    ASSERT_EQ(XGBoosterSaveModel(booster_, (dir_ / model_file).c_str()), 0);
    Write("config.json", config);
  }
  absl::StatusOr<std::unique_ptr<Model>> Load(const fs::path& dir) {
    std::ifstream in(dir / "config.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    absl::StatusOr<ModelConfig> config = ParseModelConfig(text);
    if (!config.ok()) return config.status();
    return backend_->Load(dir, *config);
  }
  absl::StatusOr<std::unique_ptr<Model>> Load() { return Load(dir_); }
  // What the training booster itself predicts for the first `rows` rows.
  std::vector<float> RawPredictions(int rows) {
    DMatrixHandle m = nullptr;
    XGDMatrixCreateFromMat(data_.x.data(), rows, kFeatures, NAN, &m);
    bst_ulong length = 0;
    const float* out = nullptr;
    XGBoosterPredict(booster_, m, 0, 0, 0, &length, &out);
    std::vector<float> result(out, out + length);
    XGDMatrixFree(m);
    return result;
  }
  static Tensor Rows(const float* data, int rows, int width = kFeatures) {
    Tensor t;
    t.name = "features";
    t.shape = {rows, width};
    t.fp32.assign(data, data + rows * width);
    return t;
  }

  fs::path dir_;
  Data data_;
  BoosterHandle booster_ = nullptr;
  std::unique_ptr<Backend> backend_ = NewXGBoostBackend();
};

TEST_F(XGBoostTest, PredictsWhatXGBoostPredictsFromJsonAndUbj) {
  Train("binary:logistic");
  const std::vector<float> want = RawPredictions(50);
  for (const char* file : {"model.json", "model.ubj"}) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    WriteArtifact(file);
    auto model = Load();
    ASSERT_TRUE(model.ok()) << file << ": " << model.status();
    auto out = (*model)->Infer({Rows(data_.x.data(), 50)});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), 1u);
    const Tensor& p = (*out)[0];
    EXPECT_EQ(p.name, "probability");
    EXPECT_EQ(p.shape, (std::vector<int64_t>{50}));
    ASSERT_EQ(p.fp32.size(), want.size());
    int right = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(p.fp32[i], want[i], 1e-6) << file << " row " << i;
      right += (p.fp32[i] > 0.5f) == (data_.y[i] > 0.5f);
    }
    EXPECT_GE(right, 45) << "the rule usage > seats is easy to learn";
    EXPECT_GT((*model)->MemoryBytes(), 0);
  }
}

TEST_F(XGBoostTest, OutputsFollowTheObjective) {
  struct Case {
    const char* objective;
    const char* output;
    std::vector<int64_t> shape;
  };
  for (const Case& c :
       {Case{"binary:logistic", "probability", {-1}}, Case{"multi:softprob", "probability", {-1, 2}},
        Case{"multi:softmax", "class", {-1}}, Case{"reg:squarederror", "score", {-1}}}) {
    if (booster_ != nullptr) XGBoosterFree(booster_);
    Train(c.objective, true, 3);
    WriteArtifact();
    auto model = Load();
    ASSERT_TRUE(model.ok()) << c.objective << ": " << model.status();
    const ModelConfig& config = (*model)->config();
    ASSERT_EQ(config.outputs.size(), 1u);
    EXPECT_EQ(config.outputs[0].name, c.output) << c.objective;
    EXPECT_EQ(config.outputs[0].shape, c.shape) << c.objective;
    auto out = (*model)->Infer({Rows(data_.x.data(), 3)});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ((*out)[0].shape[0], 3);
  }
}

TEST_F(XGBoostTest, WrongWidthNamesTheExpectedWidth) {
  Train("binary:logistic");
  WriteArtifact();
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  auto narrow = (*model)->Infer({Rows(data_.x.data(), 2, kFeatures - 1)});
  ASSERT_EQ(narrow.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(narrow.status().message(),
              HasSubstr("rows of 4 features (usage, seats, tickets, tenure), got rows of 3"));
  Tensor flat = Rows(data_.x.data(), 1);
  flat.shape = {kFeatures};
  EXPECT_EQ((*model)->Infer({flat}).status().code(), absl::StatusCode::kInvalidArgument);
  Tensor text;
  text.dtype = DataType::kBytes;
  text.shape = {1, kFeatures};
  text.bytes.assign(kFeatures, "x");
  EXPECT_THAT((*model)->Infer({text}).status().message(), HasSubstr("FP32"));
  EXPECT_EQ((*model)->Infer({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*model)->Classify({"hello"}, 1).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(XGBoostTest, OtherNumberTypesAreConverted) {
  Train("binary:logistic");
  WriteArtifact();
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  Tensor doubles;
  doubles.dtype = DataType::kFp64;
  doubles.shape = {2, kFeatures};
  doubles.fp64.assign(data_.x.begin(), data_.x.begin() + 2 * kFeatures);
  auto got = (*model)->Infer({doubles});
  auto want = (*model)->Infer({Rows(data_.x.data(), 2)});
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_EQ((*got)[0].fp32, (*want)[0].fp32);
}

TEST_F(XGBoostTest, ConfigMustMatchTheModel) {
  Train("binary:logistic");
  WriteArtifact("model.json",
                R"({"backend": "xgboost", "task": "tabular", "features": ["usage", "seats", "tickets"]})");
  auto narrow = Load();
  EXPECT_EQ(narrow.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(narrow.status().message(), HasSubstr("trained on 4 features; config.json declares 3"));
  Write("config.json",
        R"({"backend": "xgboost", "task": "tabular", "features": ["usage", "seats", "tenure", "x"]})");
  EXPECT_THAT(Load().status().message(), HasSubstr("feature 2 is 'tickets' in the model but 'tenure'"));
  Write("config.json", R"({"backend": "xgboost", "task": "text-classification"})");
  EXPECT_THAT(Load().status().message(), HasSubstr("serves 'tabular' models"));
}

TEST_F(XGBoostTest, UnnamedFeaturesAreCheckedByCountOnly) {
  Train("binary:logistic", /*named=*/false);
  WriteArtifact();
  EXPECT_TRUE(Load().ok());
}

TEST_F(XGBoostTest, CorruptOrMissingArtifactIsAClearError) {
  Write("config.json", kConfig);
  auto missing = Load();
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("no model file (model.json or model.ubj)"));
  Write("model.json", "{\"learner\": this is not json");
  auto corrupt = Load();
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(corrupt.status().message(), HasSubstr("model.json is not a loadable XGBoost model"));
  EXPECT_THAT(corrupt.status().message(), Not(HasSubstr("Stack trace")));
  Train("binary:logistic");
  ASSERT_EQ(XGBoosterSaveModel(booster_, (dir_ / "whole.ubj").c_str()), 0);
  const auto size = fs::file_size(dir_ / "whole.ubj");
  fs::remove(dir_ / "model.json");
  fs::copy_file(dir_ / "whole.ubj", dir_ / "model.ubj");
  fs::resize_file(dir_ / "model.ubj", size / 2);
  auto truncated = Load();
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss) << truncated.status();
  EXPECT_THAT(truncated.status().message(), HasSubstr("model.ubj"));
  fs::copy_file(dir_ / "whole.ubj", dir_ / "model.json");
  EXPECT_THAT(Load().status().message(), HasSubstr("both model.json and model.ubj"));
}

// Many models loaded and predicted from fresh threads (OpenMP keeps a team
// per calling thread): XGBoost must start no thread of its own.
TEST_F(XGBoostTest, ThreadCountDoesNotGrowWithModels) {
  Train("binary:logistic");
  WriteArtifact();
  constexpr int kCallers = 4;
  const testing_util::ThreadGrowth growth = testing_util::MeasureThreadGrowth(
      kCallers, 10, [&] { return Load(); },
      [&](const Model& m) {
        auto out = m.Infer({Rows(data_.x.data(), 64)});
        EXPECT_TRUE(out.ok()) << out.status();
      });
  EXPECT_EQ(growth.most, growth.before + kCallers) << "threads besides the callers were started";
  EXPECT_EQ(growth.after, growth.before);
}

TEST_F(XGBoostTest, ConcurrentCallsOnOneModelAgree) {
  Train("binary:logistic");
  WriteArtifact();
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  const auto want = (*model)->Infer({Rows(data_.x.data(), 100)});
  ASSERT_TRUE(want.ok());
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto got = (*model)->Infer({Rows(data_.x.data(), 100)});
        ASSERT_TRUE(got.ok());
        EXPECT_EQ((*got)[0].fp32, (*want)[0].fp32);
      }
    });
  }
  for (std::thread& t : callers) t.join();
}

}  // namespace
}  // namespace modelmux
