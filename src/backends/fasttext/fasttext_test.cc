#include <fasttext/fasttext.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "backend/model_config.h"
#include "backend/thread_growth_test_util.h"
#include "backends/fasttext/fasttext_backend.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kConfig[] = R"({"backend": "fasttext", "task": "text-classification", "max_tokens": 16})";
constexpr int kDim = 16;
constexpr int kBucket = 1000;
const char* const kLabels[] = {"refund", "login", "shipping"};

// Trains one small classifier with fastText's own trainer (one thread) and
// quantizes it, once for the whole suite: model.bin and model.ftz.
class FastTextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Per process: ctest runs each test of the suite in a process of its own,
    // possibly at the same time.
    trained_ = fs::path(::testing::TempDir()) / ("fasttext_test_trained_" + std::to_string(getpid()));
    fs::remove_all(trained_);
    fs::create_directories(trained_);
    std::ofstream train(trained_ / "train.txt");
    std::mt19937 rng(5);
    for (int i = 0; i < 600; ++i) {
      const int label = i % 3;
      train << "__label__" << kLabels[label];
      for (int w = 0; w < 6; ++w) {
        if (w % 2) {
          train << " filler" << rng() % 40;
        } else {
          train << " " << kLabels[label] << "w" << rng() % 10;
        }
      }
      train << "\n";
    }
    train.close();
    fasttext::Args args;
    args.input = (trained_ / "train.txt").string();
    args.model = fasttext::model_name::sup;
    args.loss = fasttext::loss_name::softmax;
    args.thread = 1;
    args.verbose = 0;
    args.dim = kDim;
    args.epoch = 20;
    args.lr = 0.5;
    args.bucket = kBucket;
    args.minn = 0;
    args.maxn = 0;
    fasttext::FastText ft;
    ft.train(args);
    ft.saveModel((trained_ / "model.bin").string());
    fasttext::Args quantize;
    quantize.input = args.input;
    quantize.qnorm = true;
    quantize.dsub = 2;
    quantize.verbose = 0;
    quantize.thread = 1;
    ft.quantize(quantize);
    ft.saveModel((trained_ / "model.ftz").string());
  }
  static void TearDownTestSuite() {
    fs::remove_all(trained_);
    fs::remove_all(fs::path(::testing::TempDir()) / ("fasttext_test_" + std::to_string(getpid())));
  }

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / ("fasttext_test_" + std::to_string(getpid())) / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& file, std::string_view text) {
    std::ofstream(dir_ / file, std::ios::binary) << text;
  }
  void WriteArtifact(const std::string& model_file = "model.bin", std::string_view config = kConfig) {
    fs::copy_file(trained_ / model_file, dir_ / model_file, fs::copy_options::overwrite_existing);
    Write("config.json", config);
  }
  absl::StatusOr<std::unique_ptr<Model>> Load() {
    std::ifstream in(dir_ / "config.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    absl::StatusOr<ModelConfig> config = ParseModelConfig(text);
    if (!config.ok()) return config.status();
    return backend_->Load(dir_, *config);
  }
  // Overwrites bytes of the copied model file at `offset`.
  void Patch(const std::string& file, int64_t offset, const void* bytes, size_t size) {
    std::fstream f(dir_ / file, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(offset);
    f.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  }

  static fs::path trained_;
  fs::path dir_;
  std::unique_ptr<Backend> backend_ = NewFastTextBackend();
};

fs::path FastTextTest::trained_;

TEST_F(FastTextTest, ClassifiesLikeFastTextItself) {
  WriteArtifact();
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  auto got = (*model)->Classify({"refundw3 filler2 refundw7", "loginw1 loginw4"}, 3);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0][0].label, "refund");
  EXPECT_EQ((*got)[1][0].label, "login");
  fasttext::FastText raw;
  raw.loadModel((dir_ / "model.bin").string());
  std::istringstream line("refundw3 filler2 refundw7\n");
  std::vector<std::pair<fasttext::real, std::string>> want;
  raw.predictLine(line, want, 3, 0.0f);
  ASSERT_EQ((*got)[0].size(), want.size());
  float sum = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ("__label__" + std::string((*got)[0][i].label), want[i].second);
    EXPECT_NEAR((*got)[0][i].score, want[i].first, 1e-6);
    if (i > 0) {
      EXPECT_LE((*got)[0][i].score, (*got)[0][i - 1].score);
    }
    sum += (*got)[0][i].score;
  }
  EXPECT_NEAR(sum, 1.0f, 1e-3) << "softmax over all 3 labels";
}

TEST_F(FastTextTest, QuantizedModelAgreesAndIsSmaller) {
  WriteArtifact("model.ftz");
  auto ftz = Load();
  ASSERT_TRUE(ftz.ok()) << ftz.status();
  fs::remove(dir_ / "model.ftz");
  WriteArtifact("model.bin");
  auto bin = Load();
  ASSERT_TRUE(bin.ok()) << bin.status();
  for (const char* text : {"shippingw2 filler9", "loginw8", "refundw0 refundw1"}) {
    EXPECT_EQ((*(*ftz)->Classify({text}, 1))[0][0].label, (*(*bin)->Classify({text}, 1))[0][0].label) << text;
  }
  EXPECT_LT((*ftz)->MemoryBytes(), (*bin)->MemoryBytes());
}

TEST_F(FastTextTest, ChargesAtLeastTheMatrices) {
  WriteArtifact();
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  const int64_t file = static_cast<int64_t>(fs::file_size(dir_ / "model.bin"));
  const int64_t input_matrix = int64_t{kBucket} * kDim * 4;
  EXPECT_GE((*model)->MemoryBytes(), input_matrix);
  EXPECT_LE((*model)->MemoryBytes(), 2 * file);
}

TEST_F(FastTextTest, TopKLineBreaksAndMaxTokens) {
  WriteArtifact();
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*(*model)->Classify({"loginw1"}, 10))[0].size(), 3u) << "capped at the labels";
  EXPECT_EQ((*model)->Classify({"loginw1"}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  auto split = (*model)->Classify({"loginw1\nloginw2", "loginw1 loginw2"}, 3);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ((*split)[0][0].score, (*split)[1][0].score) << "a line break is a space";
  std::string many = "shippingw1";
  for (int i = 0; i < 40; ++i) many += " loginw1";
  EXPECT_EQ((*(*model)->Classify({many}, 1))[0][0].label, "login");
  many = "shippingw1 shippingw2 shippingw3";
  for (int i = 0; i < 40; ++i) many += " loginw1";
  const auto cut = (*model)->Classify({many}, 1);
  auto first16 = std::string("shippingw1 shippingw2 shippingw3");
  for (int i = 0; i < 13; ++i) first16 += " loginw1";
  EXPECT_EQ((*cut)[0][0].score, (*(*model)->Classify({first16}, 1))[0][0].score) << "max_tokens is 16";
  EXPECT_EQ((*(*model)->Classify({""}, 1))[0].size(), 1u) << "an empty text still gets an answer";
  EXPECT_EQ((*model)->Infer({}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FastTextTest, LabelsFileIsOptionalButMustAgree) {
  WriteArtifact();
  Write("labels.txt", "shipping\nrefund\nlogin\n");
  EXPECT_TRUE(Load().ok());
  Write("labels.txt", "shipping\nrefund\n");
  auto missing = Load();
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("labels.txt does not list the model's label 'login'"));
  Write("labels.txt", "shipping\nrefund\nlogin\ncancel\n");
  EXPECT_THAT(Load().status().message(),
              HasSubstr("lists 'cancel', which is not one of the model's 3 labels"));
}

TEST_F(FastTextTest, CorruptArtifactsAreClearErrorsWithoutHugeAllocations) {
  Write("config.json", kConfig);
  EXPECT_THAT(Load().status().message(), HasSubstr("no model file (model.bin or model.ftz)"));
  Write("model.bin", std::string(4096, 'x'));
  auto garbage = Load();
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(garbage.status().message(), HasSubstr("does not start with fastText's magic number"));

  WriteArtifact();
  const auto size = fs::file_size(dir_ / "model.bin");
  fs::resize_file(dir_ / "model.bin", size - 100);
  auto truncated = Load();
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(truncated.status().message(), HasSubstr("model.bin is not a valid fastText model"));

  // The dictionary's entry count is the first field after the 8-byte header
  // and 56 bytes of arguments; a flipped high bit asks for 2^30 entries.
  WriteArtifact();
  const int32_t huge = 1 << 30;
  Patch("model.bin", 8 + 56, &huge, sizeof(huge));
  EXPECT_THAT(Load().status().message(), HasSubstr("the dictionary says 1073741824 entries"));

  WriteArtifact();
  std::ofstream(dir_ / "model.bin", std::ios::binary | std::ios::app) << "trailing";
  EXPECT_THAT(Load().status().message(), HasSubstr("8 bytes follow the model"));

  WriteArtifact();
  const int32_t skipgram = 2;
  Patch("model.bin", 8 + 7 * 4, &skipgram, sizeof(skipgram));
  EXPECT_THAT(Load().status().message(), HasSubstr("not a supervised classifier"));

  WriteArtifact();
  WriteArtifact("model.ftz");
  EXPECT_THAT(Load().status().message(), HasSubstr("both model.bin and model.ftz"));
}

TEST_F(FastTextTest, CorruptMatrixSizeIsCaught) {
  WriteArtifact();
  // Find the input matrix header: it follows the dictionary; locate it by
  // its known contents (rows = words + buckets, columns = dim).
  std::ifstream in(dir_ / "model.bin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const int64_t columns = kDim;
  const std::string needle(reinterpret_cast<const char*>(&columns), sizeof(columns));
  const size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  const int64_t rows = int64_t{1} << 40;
  Patch("model.bin", static_cast<int64_t>(at) - 8, &rows, sizeof(rows));
  auto load = Load();
  EXPECT_EQ(load.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(load.status().message(), HasSubstr("a matrix says"));
}

TEST_F(FastTextTest, WrongTaskOrBackendIsRefused) {
  WriteArtifact("model.bin", R"({"backend": "fasttext", "task": "tabular", "features": ["a"]})");
  EXPECT_THAT(Load().status().message(), HasSubstr("serves 'text-classification'"));
  Write("config.json", R"({"backend": "torchscript"})");
  EXPECT_THAT(Load().status().message(), HasSubstr("not 'fasttext'"));
}

// Models loaded and used from fresh threads: fastText must start none.
TEST_F(FastTextTest, ThreadCountDoesNotGrowWithModels) {
  WriteArtifact();
  constexpr int kCallers = 4;
  const testing_util::ThreadGrowth growth = testing_util::MeasureThreadGrowth(
      kCallers, 10, [&] { return Load(); },
      [](const Model& m) { EXPECT_TRUE(m.Classify({"refundw1 filler3"}, 2).ok()); });
  EXPECT_EQ(growth.most, growth.before + kCallers) << "threads besides the callers were started";
  EXPECT_EQ(growth.after, growth.before);
}

TEST_F(FastTextTest, ConcurrentCallsOnOneModelAgree) {
  WriteArtifact();
  auto model = Load();
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<std::string_view> texts = {"refundw1 filler3", "shippingw4", "loginw2 loginw9 filler1"};
  const auto want = (*model)->Classify(texts, 3);
  ASSERT_TRUE(want.ok());
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto got = (*model)->Classify(texts, 3);
        ASSERT_TRUE(got.ok());
        for (size_t j = 0; j < texts.size(); ++j) {
          ASSERT_EQ((*got)[j].size(), (*want)[j].size());
          for (size_t k = 0; k < (*got)[j].size(); ++k) {
            EXPECT_EQ((*got)[j][k].label, (*want)[j][k].label);
            EXPECT_EQ((*got)[j][k].score, (*want)[j][k].score);
          }
        }
      }
    });
  }
  for (std::thread& t : callers) t.join();
}

}  // namespace
}  // namespace modelmux

// Debian's libfasttext.so exports fastText's command-line main(): a main in
// the test's own object keeps the linker from taking that one instead of
// gtest_main's.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
