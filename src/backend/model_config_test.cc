#include "backend/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace modelmux {
namespace {

using ::testing::HasSubstr;

TEST(ModelConfigTest, ParsesTextClassifier) {
  auto config = ParseModelConfig(
      R"({"backend": "torchscript", "task": "text-classification", "max_tokens": 64,
          "default_top_k": 5, "max_batch_size": 16, "tenant": "extra metadata is ignored"})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->backend, "torchscript");
  EXPECT_EQ(config->task, ModelTask::kTextClassification);
  EXPECT_EQ(config->max_tokens, 64);
  EXPECT_EQ(config->default_top_k, 5);
  EXPECT_EQ(config->max_batch_size, 16);
  EXPECT_TRUE(config->inputs.empty());
}

TEST(ModelConfigTest, DefaultsApplyWhenFieldsAreAbsent) {
  auto config = ParseModelConfig("{}");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->backend, "torchscript");
  EXPECT_EQ(config->task, ModelTask::kTextClassification);
  EXPECT_EQ(config->max_tokens, 128);
  EXPECT_EQ(config->default_top_k, 3);
  EXPECT_EQ(config->max_batch_size, 8);
}

TEST(ModelConfigTest, ParsesTensorModel) {
  auto config = ParseModelConfig(R"({"backend": "torchscript", "task": "tensor",
      "inputs":  [{"name": "x", "datatype": "FP32", "shape": [-1, 4]},
                  {"name": "mask", "datatype": "BOOL", "shape": [-1]}],
      "outputs": [{"name": "y", "datatype": "INT64", "shape": [-1, 2]}]})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->task, ModelTask::kTensor);
  ASSERT_EQ(config->inputs.size(), 2u);
  EXPECT_EQ(config->inputs[0].name, "x");
  EXPECT_EQ(config->inputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(config->inputs[0].shape, (std::vector<int64_t>{-1, 4}));
  EXPECT_EQ(config->inputs[1].dtype, DataType::kBool);
  ASSERT_EQ(config->outputs.size(), 1u);
  EXPECT_EQ(config->outputs[0].dtype, DataType::kInt64);
}

struct BadConfig {
  std::string json;
  std::string field;  // the error must name it
};

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, RejectedNamingTheField) {
  auto config = ParseModelConfig(GetParam().json);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr(GetParam().field));
}

constexpr char kInput[] = R"({"name": "x", "datatype": "FP32", "shape": [2]})";

INSTANTIATE_TEST_SUITE_P(
    Fields, BadConfigTest,
    ::testing::Values(
        BadConfig{"not json", "not valid JSON"}, BadConfig{"[1, 2]", "JSON object"},
        BadConfig{R"({"backend": 7})", "'backend'"}, BadConfig{R"({"backend": ""})", "'backend'"},
        BadConfig{R"({"task": "translation"})", "'task'"}, BadConfig{R"({"max_tokens": 0})", "'max_tokens'"},
        BadConfig{R"({"max_tokens": "128"})", "'max_tokens'"},
        BadConfig{R"({"max_tokens": 1.5})", "'max_tokens'"},
        BadConfig{R"({"default_top_k": -1})", "'default_top_k'"},
        BadConfig{R"({"max_batch_size": 0})", "'max_batch_size'"},
        BadConfig{R"({"max_batch_size": 5000})", "'max_batch_size'"},
        BadConfig{R"({"task": "tensor", "outputs": [)" + std::string(kInput) + "]}", "'inputs'"},
        BadConfig{R"({"task": "tensor", "inputs": [], "outputs": [)" + std::string(kInput) + "]}",
                  "'inputs'"},
        BadConfig{R"({"task": "tensor", "inputs": [)" + std::string(kInput) + "]}", "'outputs'"},
        BadConfig{R"({"task": "tensor", "inputs": [{"datatype": "FP32", "shape": [1]}],
                      "outputs": [)" +
                      std::string(kInput) + "]}",
                  "'inputs[0].name'"},
        BadConfig{R"({"task": "tensor", "inputs": [{"name": "x", "datatype": "FP16", "shape": [1]}],
                      "outputs": [)" +
                      std::string(kInput) + "]}",
                  "'inputs[0].datatype'"},
        BadConfig{R"({"task": "tensor", "inputs": [)" + std::string(kInput) + R"(],
                      "outputs": [{"name": "y", "datatype": "FP32", "shape": [2, -3]}]})",
                  "'outputs[0].shape[1]'"},
        BadConfig{R"({"task": "tensor", "inputs": [)" + std::string(kInput) + R"(],
                      "outputs": [{"name": "y", "datatype": "FP32"}]})",
                  "'outputs[0].shape'"},
        BadConfig{R"({"task": "tensor", "inputs": [)" + std::string(kInput) + "," + std::string(kInput) +
                      "], \"outputs\": [" + std::string(kInput) + "]}",
                  "'inputs[1].name'"},
        BadConfig{R"({"inputs": [)" + std::string(kInput) + "]}", "'inputs'"},
        BadConfig{R"({"task": "tabular"})", "'features'"},
        BadConfig{R"({"task": "tabular", "features": []})", "'features'"},
        BadConfig{R"({"task": "tabular", "features": ["a", 3]})", "'features[1]'"},
        BadConfig{R"({"task": "tabular", "features": ["a", ""]})", "'features[1]'"},
        BadConfig{R"({"task": "tabular", "features": ["a", "b", "a"]})", "'features[2]'"},
        BadConfig{R"({"task": "tabular", "features": ["a"], "inputs": [)" + std::string(kInput) + "]}",
                  "'inputs'"}));

TEST(ModelConfigTest, ParsesTabularModel) {
  auto config = ParseModelConfig(
      R"({"backend": "xgboost", "task": "tabular", "features": ["tenure_months", "logins_30d", "seats"]})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->backend, "xgboost");
  EXPECT_EQ(config->task, ModelTask::kTabular);
  EXPECT_EQ(config->features, (std::vector<std::string>{"tenure_months", "logins_30d", "seats"}));
  // The one input is derived from the features; outputs come from the model.
  ASSERT_EQ(config->inputs.size(), 1u);
  EXPECT_EQ(config->inputs[0].name, kTabularInputName);
  EXPECT_EQ(config->inputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(config->inputs[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_TRUE(config->outputs.empty());
}

TEST(ModelConfigTest, FeaturesAreMetadataForOtherTasks) {
  auto config = ParseModelConfig(R"({"task": "text-classification", "features": "whatever"})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->features.empty());
}

TEST(ModelConfigTest, TaskNamesRoundTrip) {
  EXPECT_EQ(ModelTaskName(ModelTask::kTextClassification), "text-classification");
  EXPECT_EQ(ModelTaskName(ModelTask::kTensor), "tensor");
  EXPECT_EQ(ModelTaskName(ModelTask::kTabular), "tabular");
}

}  // namespace
}  // namespace modelmux
