#include "server/inference_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <utility>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Labels each text by its length, so answers can be checked.
class EchoModel : public Model {
 public:
  explicit EchoModel(ModelConfig config) : config_(std::move(config)) {}
  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return 1000; }
  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts, int top_k) const override {
    Classifications out;
    calls_by_size[std::min<size_t>(texts.size(), kMaxCounted)]++;
    if (texts.size() == 1 && texts[0] == "block") {
      blocked = true;
      while (!released) std::this_thread::yield();
    }
    for (std::string_view text : texts) {
      if (text == "throw") throw std::runtime_error("the model's forward threw");
    }
    for (std::string_view text : texts) {
      out.push_back({{labels_[text.size() % 2], 0.75f}});
      if (top_k > 1) out.back().push_back({labels_[(text.size() + 1) % 2], 0.25f});
    }
    return out;
  }
  static inline std::atomic<bool> blocked{false};
  static inline std::atomic<bool> released{false};
  // Classify calls by number of texts.
  static constexpr size_t kMaxCounted = 16;
  static inline std::atomic<int> calls_by_size[kMaxCounted + 1] = {};

  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) const override {
    if (config_.task != ModelTask::kTensor) return absl::FailedPreconditionError("not a tensor model");
    Tensor out = inputs.at(0);
    out.name = "y";
    for (float& v : out.fp32) v *= 2;
    return std::vector<Tensor>{out};
  }

 private:
  ModelConfig config_;
  std::string labels_[2] = {"even", "odd"};
};

class EchoBackend : public Backend {
 public:
  std::string_view name() const override { return "echo"; }
  absl::StatusOr<std::unique_ptr<Model>> Load(const fs::path&, const ModelConfig& config) const override {
    ++loads;
    return std::make_unique<EchoModel>(config);
  }
  mutable std::atomic<int> loads{0};
};

// A store of models "text-N" and "tensor-N", each a directory with config.json.
class TempStore : public ModelStore {
 public:
  class Source : public ArtifactSource {
   public:
    Source(ArtifactInfo info, fs::path dir) : info_(std::move(info)), dir_(std::move(dir)) {}
    const ArtifactInfo& info() const override { return info_; }
    absl::StatusOr<std::unique_ptr<LocalArtifact>> Fetch(const CallContext&) override {
      WhileStalled();
      return std::make_unique<LocalArtifact>(dir_, false);
    }

   private:
    ArtifactInfo info_;
    fs::path dir_;
  };

  TempStore() : root_(fs::temp_directory_path() / absl::StrCat("mmx-server-test-", getpid(), "-", counter_++)) {
    fs::create_directories(root_);
    for (int i = 0; i < 5; ++i) {
      Write(absl::StrCat("text-", i), R"({"backend": "echo", "task": "text-classification"})");
      Write(absl::StrCat("unbatched-", i),
            R"({"backend": "echo", "task": "text-classification", "max_batch_size": 1})");
      Write(absl::StrCat("tensor-", i),
            R"({"backend": "echo", "task": "tensor", "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]})");
    }
    Write("needs-other-backend", R"({"backend": "onnx", "task": "text-classification"})");
  }
  ~TempStore() override { fs::remove_all(root_); }

  std::string Describe() const override { return root_.string(); }
  absl::StatusOr<std::unique_ptr<ArtifactSource>> Locate(std::string_view name, const CallContext&) const override {
    WhileStalled();
    if (!fs::exists(root_ / name)) return absl::NotFoundError(absl::StrCat("model '", std::string(name), "' not found"));
    return std::make_unique<Source>(ArtifactInfo{std::string(name), 1000, ""}, root_ / name);
  }
  absl::StatusOr<ModelListPage> List(std::string_view, int, const CallContext&) const override {
    WhileStalled();
    ModelListPage page;
    for (const auto& entry : fs::directory_iterator(root_)) page.names.push_back(entry.path().filename());
    std::sort(page.names.begin(), page.names.end());
    return page;
  }

  // While set, every store call hangs (a black-holed store); tests clear it
  // before the server shuts down.
  static inline std::atomic<bool> stalled{false};

 private:
  static void WhileStalled() {
    while (stalled) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void Write(const std::string& name, const std::string& config) {
    fs::create_directories(root_ / name);
    std::ofstream(root_ / name / "config.json") << config;
  }
  static inline std::atomic<int> counter_{0};
  fs::path root_;
};

InferRequest TextRequest(std::string model, std::vector<std::string> texts, int top_k = 0) {
  InferRequest request;
  request.model = std::move(model);
  request.texts = std::move(texts);
  request.top_k = top_k;
  return request;
}

InferRequest TensorRequest(std::string model, std::vector<Tensor> tensors) {
  InferRequest request;
  request.model = std::move(model);
  request.tensors = std::move(tensors);
  request.tensors_given = true;
  return request;
}

Tensor BytesTensor(std::string name, std::vector<std::string> values) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = DataType::kBytes;
  t.shape = {static_cast<int64_t>(values.size())};
  t.bytes = std::move(values);
  return t;
}

Tensor Fp32Tensor(std::string name, std::vector<float> values) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = DataType::kFp32;
  t.shape = {static_cast<int64_t>(values.size())};
  t.fp32 = std::move(values);
  return t;
}

class InferenceServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<InferenceServer> MakeServer(int64_t budget = 1 << 20, int workers = 2, int queue = 128,
                                              std::chrono::milliseconds store_timeout = std::chrono::seconds(2)) {
    InferenceServer::Options options;
    options.store_timeout = store_timeout;
    options.store = std::make_unique<TempStore>();
    auto backend = std::make_unique<EchoBackend>();
    backend_ = backend.get();
    options.backends.push_back(std::move(backend));
    options.metrics = &metrics_;
    options.memory_budget_bytes = budget;
    options.workers = workers;
    options.max_queue_per_model = queue;
    auto server = InferenceServer::Create(std::move(options));
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }

  static absl::StatusOr<InferResponse> InferSync(InferenceServer& server, InferRequest request) {
    std::promise<absl::StatusOr<InferResponse>> promise;
    auto future = promise.get_future();
    server.Infer(std::move(request),
                 [&promise](absl::StatusOr<InferResponse> response) { promise.set_value(std::move(response)); });
    return future.get();
  }

  static absl::StatusOr<ModelDescription> DescribeSync(InferenceServer& server, std::string_view name) {
    std::promise<absl::StatusOr<ModelDescription>> promise;
    server.Describe(name, [&promise](absl::StatusOr<ModelDescription> d) { promise.set_value(std::move(d)); });
    return promise.get_future().get();
  }

  // Waits up to 2.5 s for the preload to finish; true when the server is ready.
  static bool WaitReady(InferenceServer& server) {
    for (int i = 0; i < 500 && !server.Ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return server.Ready();
  }

  // The names of the READY models and of the pinned ones.
  static std::pair<std::set<std::string>, std::set<std::string>> ReadyAndPinned(InferenceServer& server) {
    std::set<std::string> ready, pinned;
    for (const ModelStatus& s : server.LoadedModels()) {
      if (s.state == ModelState::kReady) ready.insert(s.name);
      if (s.pinned) pinned.insert(s.name);
    }
    return {ready, pinned};
  }

  Metrics metrics_{{}};
  EchoBackend* backend_ = nullptr;
};

TEST_F(InferenceServerTest, ClassifiesTextAndLoadsLazilyOnce) {
  auto server = MakeServer();
  for (int i = 0; i < 3; ++i) {
    auto response = InferSync(*server, TextRequest("text-1", {"abc", "ab"}, 2));
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->classifications.size(), 2u);
    EXPECT_EQ(response->classifications[0][0].label, "odd");
    EXPECT_EQ(response->classifications[1][0].label, "even");
    EXPECT_EQ(response->classifications[0].size(), 2u);
  }
  EXPECT_EQ(backend_->loads.load(), 1);
  EXPECT_THAT(metrics_.Serialize(), HasSubstr("modelmux_model_cache_hits_total 2"));
}

TEST_F(InferenceServerTest, TextClassifierAcceptsV2TextTensor) {
  auto server = MakeServer();
  Tensor text = BytesTensor("text", {"a", "bb"});
  auto response = InferSync(*server, TensorRequest("text-0", {text}));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->classifications[0][0].label, "odd");
  Tensor wrong_shape = text;
  wrong_shape.shape = {3};
  auto bad = InferSync(*server, TensorRequest("text-0", {wrong_shape}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(InferenceServerTest, TensorModelsNeedTensors) {
  auto server = MakeServer();
  auto bad = InferSync(*server, TextRequest("tensor-0", {"hello"}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("/v2/models/tensor-0/infer"));
  Tensor x = Fp32Tensor("x", {1, 2});
  auto good = InferSync(*server, TensorRequest("tensor-0", {x}));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->tensors.at(0).fp32, (std::vector<float>{2, 4}));
}

TEST_F(InferenceServerTest, ErrorsHaveTheirCodes) {
  auto server = MakeServer();
  EXPECT_EQ(InferSync(*server, TextRequest("../etc", {"x"})).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InferSync(*server, TextRequest("missing", {"x"})).status().code(), absl::StatusCode::kNotFound);
  auto other = InferSync(*server, TextRequest("needs-other-backend", {"x"}));
  EXPECT_THAT(other.status().message(), HasSubstr("backend 'onnx'"));
  auto small = MakeServer(/*budget=*/500);
  absl::Status memory = InferSync(*small, TextRequest("text-0", {"x"})).status();
  EXPECT_EQ(memory.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(IsThrottled(memory));
}

TEST_F(InferenceServerTest, FullModelQueueIsThrottled) {
  auto server = MakeServer(1 << 20, /*workers=*/1, /*queue=*/1);
  ASSERT_TRUE(InferSync(*server, TextRequest("text-0", {"warm"})).ok());
  EchoModel::blocked = false;
  EchoModel::released = false;
  std::promise<absl::StatusOr<InferResponse>> first, second;
  server->Infer(TextRequest("text-0", {"block"}), [&](auto r) { first.set_value(std::move(r)); });
  while (!EchoModel::blocked) std::this_thread::yield();  // the only worker is busy
  server->Infer(TextRequest("text-0", {"queued"}), [&](auto r) { second.set_value(std::move(r)); });
  auto third = InferSync(*server, TextRequest("text-0", {"one too many"}));
  EXPECT_TRUE(IsThrottled(third.status())) << third.status();
  // Another model has its own queue.
  std::promise<absl::StatusOr<InferResponse>> other;
  server->Infer(TextRequest("text-1", {"x"}), [&](auto r) { other.set_value(std::move(r)); });
  EchoModel::released = true;
  EXPECT_TRUE(first.get_future().get().ok());
  EXPECT_TRUE(second.get_future().get().ok());
  EXPECT_TRUE(other.get_future().get().ok());
}

// Requests queued behind a busy worker for one model run as one Classify
// call, and each still gets its own answers and its own top_k.
TEST_F(InferenceServerTest, BatchesTheTextRequestsQueuedForAModel) {
  auto server = MakeServer(1 << 20, /*workers=*/1);
  ASSERT_TRUE(InferSync(*server, TextRequest("text-0", {"warm"})).ok());
  ASSERT_TRUE(InferSync(*server, TextRequest("text-1", {"warm"})).ok());
  EchoModel::blocked = false;
  EchoModel::released = false;
  std::promise<absl::StatusOr<InferResponse>> blocker;
  server->Infer(TextRequest("text-1", {"block"}), [&](auto r) { blocker.set_value(std::move(r)); });
  while (!EchoModel::blocked) std::this_thread::yield();  // the only worker is busy
  for (auto& count : EchoModel::calls_by_size) count = 0;
  const std::vector<std::vector<std::string>> texts = {{"a"}, {"bb", "ccc"}, {"dddd"}, {"e"}, {"ff"}, {"g"}};
  std::vector<std::promise<absl::StatusOr<InferResponse>>> answers(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    server->Infer(TextRequest("text-0", texts[i], /*top_k=*/i % 2 + 1),
                  [&answers, i](auto r) { answers[i].set_value(std::move(r)); });
  }
  EchoModel::released = true;
  ASSERT_TRUE(blocker.get_future().get().ok());
  for (size_t i = 0; i < texts.size(); ++i) {
    absl::StatusOr<InferResponse> answer = answers[i].get_future().get();
    ASSERT_TRUE(answer.ok()) << answer.status();
    ASSERT_EQ(answer->classifications.size(), texts[i].size()) << i;
    for (size_t j = 0; j < texts[i].size(); ++j) {
      EXPECT_EQ(answer->classifications[j][0].label, texts[i][j].size() % 2 ? "odd" : "even") << i;
      EXPECT_EQ(answer->classifications[j].size(), i % 2 + 1) << i;
    }
  }
  // 7 texts, at most 8 per call (the default max_batch_size): one call.
  EXPECT_EQ(EchoModel::calls_by_size[7].load(), 1);
  EXPECT_EQ(EchoModel::calls_by_size[1].load(), 0);
}

TEST_F(InferenceServerTest, MaxBatchSizeOneRunsEachRequestAlone) {
  auto server = MakeServer(1 << 20, /*workers=*/1);
  ASSERT_TRUE(InferSync(*server, TextRequest("unbatched-0", {"warm"})).ok());
  ASSERT_TRUE(InferSync(*server, TextRequest("text-1", {"warm"})).ok());
  EchoModel::blocked = false;
  EchoModel::released = false;
  std::promise<absl::StatusOr<InferResponse>> blocker;
  server->Infer(TextRequest("text-1", {"block"}), [&](auto r) { blocker.set_value(std::move(r)); });
  while (!EchoModel::blocked) std::this_thread::yield();
  for (auto& count : EchoModel::calls_by_size) count = 0;
  std::vector<std::promise<absl::StatusOr<InferResponse>>> answers(4);
  for (size_t i = 0; i < answers.size(); ++i) {
    server->Infer(TextRequest("unbatched-0", {"x"}), [&answers, i](auto r) { answers[i].set_value(std::move(r)); });
  }
  EchoModel::released = true;
  ASSERT_TRUE(blocker.get_future().get().ok());
  for (auto& answer : answers) EXPECT_TRUE(answer.get_future().get().ok());
  EXPECT_EQ(EchoModel::calls_by_size[1].load(), 4);
}

TEST_F(InferenceServerTest, PreloadGatesReadiness) {
  auto server = MakeServer();
  EXPECT_TRUE(server->Ready());
  server->Preload({{"text-0", true}, {"text-1", false}, {"missing", false}});
  ASSERT_TRUE(WaitReady(*server));
  const auto [ready, pinned] = ReadyAndPinned(*server);
  EXPECT_EQ(ready, (std::set<std::string>{"text-0", "text-1"}));
  EXPECT_EQ(pinned, (std::set<std::string>{"text-0"}));
}

TEST_F(InferenceServerTest, PreloadAllStopsAtTheBudget) {
  auto server = MakeServer(/*budget=*/3500);
  server->PreloadAll();
  ASSERT_TRUE(WaitReady(*server));
  EXPECT_EQ(ReadyAndPinned(*server).first.size(), 3u);
  EXPECT_THAT(metrics_.Serialize(), HasSubstr("modelmux_evictions_total 0"));
}

TEST_F(InferenceServerTest, PreloadWithinBudgetLoadsInListOrderUntilFull) {
  auto server = MakeServer(/*budget=*/2500);
  server->PreloadWithinBudget({{"text-3", false}, {"text-1", true}, {"text-4", false}, {"text-0", false}});
  ASSERT_TRUE(WaitReady(*server));
  const auto [ready, pinned] = ReadyAndPinned(*server);
  EXPECT_EQ(ready, (std::set<std::string>{"text-3", "text-1"}));
  EXPECT_EQ(pinned, (std::set<std::string>{"text-1"}));
  EXPECT_THAT(metrics_.Serialize(), HasSubstr("modelmux_evictions_total 0"));
}

TEST_F(InferenceServerTest, DescribeReportsConfigOfLoadedModels) {
  auto server = MakeServer();
  auto cold = DescribeSync(*server, "tensor-2");
  ASSERT_TRUE(cold.ok());
  EXPECT_FALSE(cold->config.has_value());
  Tensor x = Fp32Tensor("x", {1});
  ASSERT_TRUE(InferSync(*server, TensorRequest("tensor-2", {x})).ok());
  auto warm = DescribeSync(*server, "tensor-2");
  ASSERT_TRUE(warm.ok());
  ASSERT_TRUE(warm->config.has_value());
  EXPECT_EQ(warm->config->inputs.at(0).name, "x");
  EXPECT_EQ(warm->status.state, ModelState::kReady);
  EXPECT_EQ(DescribeSync(*server, "nope").status().code(), absl::StatusCode::kNotFound);
}

// ---- Deadlines, isolation and exceptions (issue 11)

using std::chrono::milliseconds;

// Stalls every store call while in scope, so a failing test cannot leave the
// server's threads stuck at shutdown.
class StalledStore {
 public:
  StalledStore() { TempStore::stalled = true; }
  ~StalledStore() { TempStore::stalled = false; }
};

InferRequest WithDeadline(InferRequest request, milliseconds timeout) {
  request.deadline = Deadline::In(timeout);
  return request;
}

// Blocks the only worker with a "block" request of `model`; returns its answer.
std::future<absl::StatusOr<InferResponse>> BlockWorker(InferenceServer& server, const std::string& model,
                                                       std::promise<absl::StatusOr<InferResponse>>& blocker) {
  EchoModel::blocked = false;
  EchoModel::released = false;
  server.Infer(TextRequest(model, {"block"}), [&blocker](auto r) { blocker.set_value(std::move(r)); });
  while (!EchoModel::blocked) std::this_thread::yield();
  return blocker.get_future();
}

TEST_F(InferenceServerTest, DeadlinePassingInTheQueueAnswers504AndNeverRuns) {
  auto server = MakeServer(1 << 20, /*workers=*/1);
  ASSERT_TRUE(InferSync(*server, TextRequest("text-0", {"warm"})).ok());
  std::promise<absl::StatusOr<InferResponse>> blocker;
  auto blocked = BlockWorker(*server, "text-0", blocker);
  for (auto& count : EchoModel::calls_by_size) count = 0;
  const auto start = std::chrono::steady_clock::now();
  auto late = InferSync(*server, WithDeadline(TextRequest("text-0", {"queued"}), milliseconds(50)));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_THAT(late.status().message(), HasSubstr("queued for a worker for model 'text-0'"));
  EXPECT_THAT(late.status().message(), HasSubstr("not run"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EchoModel::released = true;
  ASSERT_TRUE(blocked.get().ok());
  // The worker is free again: a new request runs, the expired one never did.
  ASSERT_TRUE(InferSync(*server, TextRequest("text-0", {"after"})).ok());
  EXPECT_EQ(EchoModel::calls_by_size[1].load(), 1);
  EXPECT_THAT(metrics_.Serialize(), HasSubstr(R"(modelmux_invocations_total{outcome="timeout"} 1)"));
}

TEST_F(InferenceServerTest, DeadlinePassingDuringALoadAnswers504) {
  auto server = MakeServer();
  absl::StatusOr<InferResponse> late;
  {
    StalledStore stalled;
    late = InferSync(*server, WithDeadline(TextRequest("text-3", {"x"}), milliseconds(50)));
  }
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_THAT(late.status().message(), HasSubstr("waiting for model 'text-3' to load"));
  // The load itself goes on and serves the next request.
  EXPECT_TRUE(InferSync(*server, TextRequest("text-3", {"x"})).ok());
}

TEST_F(InferenceServerTest, RequestTimeoutAppliesWithoutAClientDeadline) {
  InferenceServer::Options options;
  options.store = std::make_unique<TempStore>();
  options.backends.push_back(std::make_unique<EchoBackend>());
  options.metrics = &metrics_;
  options.memory_budget_bytes = 1 << 20;
  options.workers = 1;
  options.request_timeout = milliseconds(50);
  auto server = InferenceServer::Create(std::move(options));
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(InferSync(**server, TextRequest("text-0", {"warm"})).ok());
  std::promise<absl::StatusOr<InferResponse>> blocker;
  auto blocked = BlockWorker(**server, "text-0", blocker);
  // The blocked request itself runs past the timeout: it is answered 504 at
  // its deadline, and its late result is dropped.
  auto queued = InferSync(**server, TextRequest("text-0", {"queued"}));
  EXPECT_EQ(queued.status().code(), absl::StatusCode::kDeadlineExceeded);
  absl::StatusOr<InferResponse> running = blocked.get();
  EchoModel::released = true;
  EXPECT_EQ(running.status().code(), absl::StatusCode::kDeadlineExceeded) << running.status();
  EXPECT_THAT(running.status().message(), HasSubstr("its result was dropped"));
}

TEST_F(InferenceServerTest, ExpiredOnArrivalIsAnsweredAtOnce) {
  auto server = MakeServer();
  InferRequest request = TextRequest("text-0", {"x"});
  request.deadline = Deadline::At(std::chrono::steady_clock::now() - milliseconds(1));
  EXPECT_EQ(InferSync(*server, std::move(request)).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(backend_->loads.load(), 0);
}

TEST_F(InferenceServerTest, DefaultWorkerCapLeavesAWorkerForOtherModels) {
  EXPECT_EQ(InferenceServer::DefaultMaxWorkersPerModel(1), 1);
  EXPECT_EQ(InferenceServer::DefaultMaxWorkersPerModel(2), 1);
  EXPECT_EQ(InferenceServer::DefaultMaxWorkersPerModel(4), 3);
  EXPECT_EQ(InferenceServer::DefaultMaxWorkersPerModel(8), 6);
  auto server = MakeServer(1 << 20, /*workers=*/2);
  EXPECT_EQ(server->Info().max_workers_per_model, 1);
  ASSERT_TRUE(InferSync(*server, TextRequest("unbatched-0", {"warm"})).ok());
  ASSERT_TRUE(InferSync(*server, TextRequest("text-1", {"warm"})).ok());
  // A slow model holds one worker; a second request for it waits, and
  // another model still runs on the other worker.
  std::promise<absl::StatusOr<InferResponse>> blocker;
  auto blocked = BlockWorker(*server, "unbatched-0", blocker);
  std::promise<absl::StatusOr<InferResponse>> second_slow;
  server->Infer(TextRequest("unbatched-0", {"x"}), [&](auto r) { second_slow.set_value(std::move(r)); });
  EXPECT_TRUE(InferSync(*server, WithDeadline(TextRequest("text-1", {"fast"}), std::chrono::seconds(10))).ok());
  auto second = second_slow.get_future();
  EXPECT_EQ(second.wait_for(milliseconds(20)), std::future_status::timeout);
  EchoModel::released = true;
  EXPECT_TRUE(blocked.get().ok());
  EXPECT_TRUE(second.get().ok());
}

TEST_F(InferenceServerTest, AThrowingForwardAnswersEveryRequestOfItsBatch) {
  auto server = MakeServer(1 << 20, /*workers=*/1);
  ASSERT_TRUE(InferSync(*server, TextRequest("text-0", {"warm"})).ok());
  ASSERT_TRUE(InferSync(*server, TextRequest("text-1", {"warm"})).ok());
  std::promise<absl::StatusOr<InferResponse>> blocker;
  auto blocked = BlockWorker(*server, "text-1", blocker);
  std::promise<absl::StatusOr<InferResponse>> a, b;
  server->Infer(TextRequest("text-0", {"throw"}), [&](auto r) { a.set_value(std::move(r)); });
  server->Infer(TextRequest("text-0", {"fine"}), [&](auto r) { b.set_value(std::move(r)); });
  EchoModel::released = true;
  ASSERT_TRUE(blocked.get().ok());
  for (auto* answer : {&a, &b}) {
    absl::StatusOr<InferResponse> result = answer->get_future().get();
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
    EXPECT_THAT(result.status().message(), HasSubstr("the model's forward threw"));
  }
  // The worker survived.
  EXPECT_TRUE(InferSync(*server, TextRequest("text-0", {"fine"})).ok());
}

TEST_F(InferenceServerTest, AStalledStoreGivesMetadataAFast503) {
  auto server = MakeServer(1 << 20, 2, 128, /*store_timeout=*/milliseconds(100));
  ASSERT_TRUE(InferSync(*server, TextRequest("text-0", {"warm"})).ok());
  StalledStore stalled;
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ModelDescription> cold = DescribeSync(*server, "text-4");
  EXPECT_EQ(cold.status().code(), absl::StatusCode::kUnavailable) << cold.status();
  EXPECT_THAT(cold.status().message(), HasSubstr("did not answer within 100 ms"));
  std::promise<absl::StatusOr<std::vector<ModelStatus>>> index;
  server->RepositoryIndex(false, [&](auto r) { index.set_value(std::move(r)); });
  EXPECT_EQ(index.get_future().get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Loaded models are described from memory, and still served.
  absl::StatusOr<ModelDescription> warm = DescribeSync(*server, "text-0");
  EXPECT_TRUE(warm.ok()) << warm.status();
  EXPECT_TRUE(InferSync(*server, TextRequest("text-0", {"x"})).ok());
  std::promise<absl::StatusOr<std::vector<ModelStatus>>> ready_index;
  server->RepositoryIndex(true, [&](auto r) { ready_index.set_value(std::move(r)); });
  absl::StatusOr<std::vector<ModelStatus>> ready = ready_index.get_future().get();
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->size(), 1u);
}

TEST_F(InferenceServerTest, LoadCanUnpinAndIndexMergesStoreAndRegistry) {
  auto server = MakeServer();
  std::promise<absl::Status> pinned;
  server->Load("text-2", {.pin = true}, [&](absl::Status s) { pinned.set_value(s); });
  ASSERT_TRUE(pinned.get_future().get().ok());
  EXPECT_EQ(ReadyAndPinned(*server).second, (std::set<std::string>{"text-2"}));
  std::promise<absl::Status> unpinned;
  server->Load("text-2", {.unpin = true}, [&](absl::Status s) { unpinned.set_value(s); });
  ASSERT_TRUE(unpinned.get_future().get().ok());
  EXPECT_TRUE(ReadyAndPinned(*server).second.empty());
  std::promise<absl::StatusOr<std::vector<ModelStatus>>> index;
  server->RepositoryIndex(false, [&](auto r) { index.set_value(std::move(r)); });
  absl::StatusOr<std::vector<ModelStatus>> all = index.get_future().get();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 16u);  // 5 x 3 kinds + needs-other-backend
  for (const ModelStatus& m : *all) {
    EXPECT_EQ(m.state, m.name == "text-2" ? ModelState::kReady : ModelState::kUnloaded) << m.name;
  }
}

}  // namespace
}  // namespace modelmux
