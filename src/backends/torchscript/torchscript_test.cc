#include <ATen/Parallel.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "backend/model_config.h"
#include "backends/torchscript/torchscript_backend.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kTextConfig[] = R"({"backend": "torchscript", "task": "text-classification",
                                   "max_tokens": 16})";
constexpr char kVocab[] = "<unk>\nrefund\ncancel\nlost\n";
constexpr char kLabels[] = "refund_duplicate_charge\ncancel_trip\nlost_item\n";
constexpr float kScale = 6.0f;

// forward(ids, offsets): mean of one-hot word embeddings times kScale, so word
// i (1-based) votes for label i-1.
constexpr char kBagForward[] = R"JIT(
def forward(self, ids: Tensor, offsets: Tensor) -> Tensor:
    bag = torch.embedding_bag(self.embedding, ids, offsets, False, 1)[0]
    return torch.linear(bag, self.weight, self.bias)
)JIT";

torch::jit::Module TextModule(int64_t vocab_rows, int64_t labels) {
  torch::jit::Module m("TinyClassifier");
  at::Tensor embedding = torch::zeros({vocab_rows, labels});
  for (int64_t i = 1; i < vocab_rows && i <= labels; ++i) embedding[i][i - 1] = 1.0f;
  m.register_parameter("embedding", embedding, false);
  m.register_parameter("weight", torch::eye(labels) * kScale, false);
  m.register_parameter("bias", torch::zeros({labels}), false);
  m.define(kBagForward);
  return m;
}

class TorchScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / "torchscript_test" / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& file, std::string_view text) {
    std::ofstream(dir_ / file, std::ios::binary) << text;
  }
  void WriteTextArtifact(torch::jit::Module module, std::string_view labels = kLabels) {
    module.save((dir_ / "model.pt").string());
    Write("config.json", kTextConfig);
    Write("vocab.txt", kVocab);
    Write("labels.txt", labels);
  }
  absl::StatusOr<std::unique_ptr<Model>> Load() {
    std::ifstream in(dir_ / "config.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    absl::StatusOr<ModelConfig> config = ParseModelConfig(text);
    if (!config.ok()) return config.status();
    return backend_->Load(dir_, *config);
  }

  fs::path dir_;
  std::unique_ptr<Backend> backend_ = NewTorchScriptBackend();
};

TEST_F(TorchScriptTest, ClassifiesWithSortedProbabilities) {
  WriteTextArtifact(TextModule(4, 3));
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  auto result = (*model)->Classify({"Refund, refund! then CANCEL", "lost lost", "", "nothing known"}, 3);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 4u);

  const auto& first = (*result)[0];
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].label, "refund_duplicate_charge");
  EXPECT_EQ(first[1].label, "cancel_trip");
  EXPECT_EQ(first[2].label, "lost_item");
  // Four words, "then" unknown: logits are kScale * (2/4, 1/4, 0).
  const double z = std::exp(kScale / 2) + std::exp(kScale / 4) + 1;
  EXPECT_NEAR(first[0].score, std::exp(kScale / 2) / z, 1e-5);
  EXPECT_NEAR(first[2].score, 1 / z, 1e-5);
  EXPECT_EQ((*result)[1][0].label, "lost_item");
  for (const auto& ranked : *result) {
    float sum = 0;
    for (size_t i = 0; i < ranked.size(); ++i) {
      if (i > 0) {
        EXPECT_GE(ranked[i - 1].score, ranked[i].score);
      }
      sum += ranked[i].score;
    }
    EXPECT_LE(sum, 1.0f + 1e-5f);
  }
  // Empty and all-unknown texts have an all-zero bag: a uniform distribution.
  EXPECT_NEAR((*result)[2][0].score, 1.0 / 3, 1e-5);
  EXPECT_NEAR((*result)[3][0].score, 1.0 / 3, 1e-5);
}

TEST_F(TorchScriptTest, TopKIsCappedAtLabelCount) {
  WriteTextArtifact(TextModule(4, 3));
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*(*model)->Classify({"refund"}, 1))[0].size(), 1u);
  EXPECT_EQ((*(*model)->Classify({"refund"}, 2))[0].size(), 2u);
  EXPECT_EQ((*(*model)->Classify({"refund"}, 50))[0].size(), 3u);
  EXPECT_EQ((*model)->Classify({"refund"}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*(*model)->Classify({}, 3)).empty());
}

TEST_F(TorchScriptTest, MaxTokensTruncatesText) {
  WriteTextArtifact(TextModule(4, 3));
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  // max_tokens is 16: the 17th word onwards is never seen.
  std::string text;
  for (int i = 0; i < 16; ++i) text += "lost ";
  for (int i = 0; i < 40; ++i) text += "refund ";
  EXPECT_EQ((*(*model)->Classify({text}, 1))[0][0].label, "lost_item");
}

TEST_F(TorchScriptTest, CorruptModelFileIsAClearError) {
  WriteTextArtifact(TextModule(4, 3));
  Write("model.pt", "PK\x03\x04 this is not a zip archive");
  auto model = Load();
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(model.status().message(), HasSubstr("model.pt"));
  EXPECT_THAT(model.status().message(), Not(HasSubstr("frame #")));  // no C++ backtrace
}

TEST_F(TorchScriptTest, MissingFilesAreNamed) {
  WriteTextArtifact(TextModule(4, 3));
  fs::remove(dir_ / "labels.txt");
  EXPECT_EQ(Load().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Load().status().message(), HasSubstr("labels.txt"));
  fs::remove(dir_ / "vocab.txt");
  EXPECT_EQ(Load().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Load().status().message(), HasSubstr("vocab.txt"));
  fs::remove(dir_ / "model.pt");
  EXPECT_EQ(Load().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Load().status().message(), HasSubstr("model.pt"));
}

TEST_F(TorchScriptTest, LabelCountMismatchIsRejectedAtLoad) {
  WriteTextArtifact(TextModule(4, 3), "a\nb\nc\nd\n");
  auto model = Load();
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("[1, 3]"));
  EXPECT_THAT(model.status().message(), HasSubstr("[1, 4]"));
  EXPECT_THAT(model.status().message(), HasSubstr("labels.txt has 4 labels"));
}

TEST_F(TorchScriptTest, EmbeddingSmallerThanVocabularyIsRejectedAtLoad) {
  WriteTextArtifact(TextModule(3, 3));  // vocab.txt has 4 tokens
  auto model = Load();
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("warm-up"));
  EXPECT_THAT(model.status().message(), HasSubstr("vocab.txt has 4 tokens"));
}

TEST_F(TorchScriptTest, TextForwardMustTakeIdsAndOffsets) {
  torch::jit::Module m("Wrong");
  m.define("def forward(self, ids: Tensor) -> Tensor:\n    return ids\n");
  WriteTextArtifact(m);
  EXPECT_THAT(Load().status().message(), HasSubstr("(ids: Tensor, offsets: Tensor)"));
}

TEST_F(TorchScriptTest, MemoryCoversWeights) {
  WriteTextArtifact(TextModule(4000, 3));
  Write("vocab.txt", std::string(kVocab));
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  const int64_t weight_bytes = (4000 * 3 + 3 * 3 + 3) * sizeof(float);
  EXPECT_GE((*model)->MemoryBytes(), weight_bytes);
  EXPECT_LT((*model)->MemoryBytes(), weight_bytes + (1 << 20));
}

TEST_F(TorchScriptTest, ConcurrentClassifyMatchesSerial) {
  WriteTextArtifact(TextModule(4, 3));
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<std::string_view> texts = {"refund cancel cancel", "lost refund", "cancel"};
  const Classifications expected = *(*model)->Classify(texts, 3);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto got = (*model)->Classify(texts, 3);
        if (!got.ok() || got->size() != expected.size()) {
          ++mismatches;
          continue;
        }
        for (size_t j = 0; j < expected.size(); ++j) {
          if ((*got)[j][0].label != expected[j][0].label || (*got)[j][0].score != expected[j][0].score) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

constexpr char kTensorConfig[] = R"({"backend": "torchscript", "task": "tensor",
    "inputs":  [{"name": "x", "datatype": "FP32", "shape": [-1, 3]},
                {"name": "k", "datatype": "INT64", "shape": [1]}],
    "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3]},
                {"name": "total", "datatype": "FP64", "shape": [-1]}]})";

TEST_F(TorchScriptTest, TensorModelRoundTrips) {
  torch::jit::Module m("Affine");
  m.define(R"JIT(
def forward(self, x: Tensor, k: Tensor) -> Tuple[Tensor, Tensor]:
    y = x * 2.0 + k.float()
    return y, y.sum(1)
)JIT");
  m.save((dir_ / "model.pt").string());
  Write("config.json", kTensorConfig);
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();

  Tensor x;
  x.name = "x";
  x.shape = {2, 3};
  x.fp32 = {1, 2, 3, 4, 5, 6};
  Tensor k;
  k.name = "k";
  k.dtype = DataType::kInt64;
  k.shape = {1};
  k.int64 = {10};
  auto out = (*model)->Infer({k, x});  // named inputs may come in any order
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].name, "y");
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ((*out)[0].fp32, (std::vector<float>{12, 14, 16, 18, 20, 22}));
  EXPECT_EQ((*out)[1].dtype, DataType::kFp64);
  EXPECT_EQ((*out)[1].fp64, (std::vector<double>{42, 60}));

  x.shape = {3, 2};
  EXPECT_EQ((*model)->Infer({x, k}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*model)->Infer({x}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*model)->Classify({"text"}, 1).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TorchScriptTest, TextModelRefusesTensors) {
  WriteTextArtifact(TextModule(4, 3));
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->Infer({}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TorchScriptTest, TensorModelOutputShapeCheckedAtLoad) {
  torch::jit::Module m("Wrong");
  m.define(R"JIT(
def forward(self, x: Tensor, k: Tensor) -> Tuple[Tensor, Tensor]:
    return x.sum(1), x.sum(1)
)JIT");
  m.save((dir_ / "model.pt").string());
  Write("config.json", kTensorConfig);
  auto model = Load();
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("model output 'y'"));
}

// The demo model's architecture (tools/make_store/classifier_trainer.cc):
// an embedding bag, a hidden ReLU layer, an output layer; random weights.
constexpr char kDemoForward[] = R"JIT(
def forward(self, ids: Tensor, offsets: Tensor) -> Tensor:
    bag = torch.embedding_bag(self.embedding, ids, offsets, False, 1)[0]
    hidden = torch.relu(torch.linear(bag, self.hidden_weight, self.hidden_bias))
    return torch.linear(hidden, self.output_weight, self.output_bias)
)JIT";

TEST_F(TorchScriptTest, AFrozenDemoModelGivesTheSameProbabilities) {
  torch::manual_seed(3);
  torch::jit::Module m("TicketClassifier");
  m.register_parameter("embedding", torch::randn({4, 64}), false);
  m.register_parameter("hidden_weight", torch::randn({64, 64}) / 8, false);
  m.register_parameter("hidden_bias", torch::randn({64}) / 8, false);
  m.register_parameter("output_weight", torch::randn({3, 64}) / 8, false);
  m.register_parameter("output_bias", torch::randn({3}) / 8, false);
  m.define(kDemoForward);
  WriteTextArtifact(m);
  auto plain = Load();
  ASSERT_TRUE(plain.ok()) << plain.status();
  backend_ = NewTorchScriptBackend({.freeze = true});
  auto frozen = Load();
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  EXPECT_EQ((*frozen)->MemoryBytes(), (*plain)->MemoryBytes());  // the weights, counted before freezing
  const std::vector<std::string_view> texts = {"refund cancel", "lost lost refund", "", "cancel"};
  auto want = (*plain)->Classify(texts, 3);
  auto got = (*frozen)->Classify(texts, 3);
  ASSERT_TRUE(want.ok() && got.ok());
  ASSERT_EQ(got->size(), want->size());
  for (size_t i = 0; i < want->size(); ++i) {
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ((*got)[i][j].label, (*want)[i][j].label);
      EXPECT_NEAR((*got)[i][j].score, (*want)[i][j].score, 1e-6);
    }
  }
}

// A model's own error (an assert in its forward) reaches the caller in its
// words, also for a module compiled by the loader (no .debug_pkl ranges).
TEST_F(TorchScriptTest, AForwardThatFailsSaysWhyInItsOwnWords) {
  torch::jit::Module m("Refusing");
  m.register_parameter("embedding", torch::eye(4, 3), false);
  m.register_parameter("weight", torch::eye(3), false);
  m.register_parameter("bias", torch::zeros({3}), false);
  m.define(R"JIT(
def forward(self, ids: Tensor, offsets: Tensor) -> Tensor:
    assert ids.size(0) <= 2, "tenant model failure: at most 2 tokens"
    bag = torch.embedding_bag(self.embedding, ids, offsets, False, 1)[0]
    return torch.linear(bag, self.weight, self.bias)
)JIT");
  WriteTextArtifact(m);
  auto first = Load();  // compiles the code
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Load();  // shares it
  ASSERT_TRUE(second.ok()) << second.status();
  for (auto* model : {&first, &second}) {
    auto result = (**model)->Classify({"refund cancel lost"}, 1);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(result.status().message(), HasSubstr("tenant model failure: at most 2 tokens"));
  }
}

// Freezing copies the module's attributes into the frozen one: a forward that
// changes its own attributes would then count from the copy. Such a module is
// served unfrozen, as without freezing.
TEST_F(TorchScriptTest, AModuleThatChangesItsAttributesIsServedUnfrozen) {
  torch::jit::Module m("Counter");
  m.register_attribute("calls", c10::IntType::get(), 0);
  m.define(R"JIT(
def forward(self, x: Tensor, k: Tensor) -> Tuple[Tensor, Tensor]:
    self.calls += 1
    y = x + float(self.calls)
    return y, y.sum(1).double()
)JIT");
  m.save((dir_ / "model.pt").string());
  Write("config.json", kTensorConfig);
  auto plain = Load();
  ASSERT_TRUE(plain.ok()) << plain.status();
  backend_ = NewTorchScriptBackend({.freeze = true});
  // The fallback is logged: capture the default logger's output.
  std::ostringstream log;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  auto frozen = Load();
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  EXPECT_THAT(log.str(), HasSubstr("serving the module unfrozen: output 0 differs"));
  Tensor x;
  x.name = "x";
  x.shape = {1, 3};
  x.fp32 = {0, 0, 0};
  Tensor k;
  k.name = "k";
  k.dtype = DataType::kInt64;
  k.shape = {1};
  k.int64 = {0};
  for (int call = 0; call < 3; ++call) {
    auto want = (*plain)->Infer({x, k});
    auto got = (*frozen)->Infer({x, k});
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ((*got)[0].fp32, (*want)[0].fp32) << "call " << call;
  }
}

// One warm-up run is enough only with the legacy executor, which optimises
// on the first run; the profiling executor would leave that to a user.
TEST(NewTorchScriptBackendTest, SelectsTheLegacyGraphExecutor) {
  std::unique_ptr<Backend> backend = NewTorchScriptBackend();
  EXPECT_FALSE(torch::jit::getProfilingMode());
  EXPECT_TRUE(torch::jit::getExecutorMode());
}

TEST(ConfigureTorchThreadsTest, PinsPoolsToOneThreadAndIsIdempotent) {
  ConfigureTorchThreads();
  ConfigureTorchThreads();
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_EQ(at::get_num_interop_threads(), 1);
}

// Tabular models (issue 14) are the xgboost backend's.
TEST_F(TorchScriptTest, TabularTaskIsRefused) {
  WriteTextArtifact(TextModule(4, 3));
  Write("config.json", R"({"backend": "torchscript", "task": "tabular", "features": ["a", "b"]})");
  auto model = Load();
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("serves 'text-classification' and 'tensor'"));
}

}  // namespace
}  // namespace modelmux
