// StoreModelLoader over a real LocalDirectoryStore and a test backend: a
// plan's estimate and version come from the store's one lookup, its Load
// fetches, parses and hands the artifact to the backend config.json names,
// and a stopped call ends a load between its steps.
#include "server/store_model_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "store/local_directory_store.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class SizedModel : public Model {
 public:
  explicit SizedModel(ModelConfig config) : config_(std::move(config)) {}
  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return 4096; }
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>&, int) const override {
    return Classifications{};
  }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>&) const override {
    return absl::FailedPreconditionError("not a tensor model");
  }

 private:
  ModelConfig config_;
};

class CountingBackend : public Backend {
 public:
  std::string_view name() const override { return "counting"; }
  absl::StatusOr<std::unique_ptr<Model>> Load(const fs::path& dir, const ModelConfig& config) const override {
    ++loads;
    if (!fs::exists(dir / "model.bin")) return absl::DataLossError("model.bin missing");
    return std::make_unique<SizedModel>(config);
  }
  mutable std::atomic<int> loads{0};
};

class StoreModelLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "store-loader-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    root_ = dir;
    Write("good", R"({"backend": "counting", "task": "text-classification"})");
    Write("alien", R"({"backend": "onnx", "task": "text-classification"})");
    Write("broken", R"({"backend": )");
    LocalDirectoryStore::Options options;
    options.root = root_;
    options.scratch_dir = root_ / ".scratch";
    store_ = *LocalDirectoryStore::Create(options);
    loader_ = std::make_unique<StoreModelLoader>(store_.get(), std::vector<const Backend*>{&backend_});
  }
  void TearDown() override {
    loader_.reset();
    store_.reset();
    fs::remove_all(root_);
  }

  void Write(const std::string& name, const std::string& config) {
    fs::create_directories(root_ / name);
    std::ofstream(root_ / name / "config.json") << config;
    std::ofstream(root_ / name / "model.bin") << std::string(1000, 'w');
  }

  absl::StatusOr<std::unique_ptr<Model>> PlanAndLoad(std::string_view name, const CallContext& call = {}) {
    absl::StatusOr<std::unique_ptr<LoadPlan>> plan = loader_->Plan(name, call);
    if (!plan.ok()) return plan.status();
    return (*plan)->Load(call);
  }

  fs::path root_;
  CountingBackend backend_;
  std::unique_ptr<LocalDirectoryStore> store_;
  std::unique_ptr<StoreModelLoader> loader_;
};

TEST_F(StoreModelLoaderTest, PlanEstimatesFromTheStoreAndLoadsThroughTheNamedBackend) {
  absl::StatusOr<std::unique_ptr<LoadPlan>> plan = loader_->Plan("good", {});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const int64_t files = static_cast<int64_t>(fs::file_size(root_ / "good" / "config.json")) + 1000;
  EXPECT_EQ((*plan)->estimated_bytes(), files);
  EXPECT_EQ((*plan)->version(), "");  // a local directory has no versions
  EXPECT_EQ(backend_.loads, 0);       // planning loads nothing
  absl::StatusOr<std::unique_ptr<Model>> model = (*plan)->Load({});
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->MemoryBytes(), 4096);
  EXPECT_EQ(backend_.loads, 1);
}

TEST_F(StoreModelLoaderTest, UnknownModelIsNotFoundAtPlanning) {
  EXPECT_EQ(loader_->Plan("ghost", {}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreModelLoaderTest, BadConfigOrMissingBackendIsInvalidArgument) {
  absl::Status alien = PlanAndLoad("alien").status();
  EXPECT_EQ(alien.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(alien.message(), HasSubstr("asks for backend 'onnx'"));
  absl::Status broken = PlanAndLoad("broken").status();
  EXPECT_EQ(broken.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(broken.message(), HasSubstr("config.json of model 'broken'"));
  EXPECT_EQ(backend_.loads, 0);
}

TEST_F(StoreModelLoaderTest, StoppedCallLoadsNothing) {
  absl::StatusOr<std::unique_ptr<LoadPlan>> plan = loader_->Plan("good", {});
  ASSERT_TRUE(plan.ok());
  auto cancellation = std::make_shared<Cancellation>();
  cancellation->Cancel(absl::DeadlineExceededError("loading model 'good' took longer than the load timeout"));
  absl::Status status = (*plan)->Load({Deadline::Never(), cancellation}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("load timeout"));
  EXPECT_EQ(backend_.loads, 0);
}

}  // namespace
}  // namespace modelmux
