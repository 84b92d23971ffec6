#include "frontend/grpc/infer_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace modelmux {
namespace {

using inference::InferParameter;
using inference::ModelInferRequest;
using inference::ModelInferResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ModelInferRequest::InferInputTensor* AddInput(ModelInferRequest& m, const std::string& name,
                                              const std::string& datatype, std::vector<int64_t> shape) {
  ModelInferRequest::InferInputTensor* in = m.add_inputs();
  in->set_name(name);
  in->set_datatype(datatype);
  for (int64_t d : shape) in->add_shape(d);
  return in;
}

template <typename T>
std::string RawOf(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

template <typename T>
void Fill(google::protobuf::RepeatedField<T>* field, std::initializer_list<T> values) {
  for (T v : values) field->Add(v);
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(DecodeModelInferTest, ReadsTypedInputsAndParameters) {
  ModelInferRequest m;
  m.set_model_name("vec");
  m.set_id("req-7");
  (*m.mutable_parameters())["top_k"].set_int64_param(5);
  Fill(AddInput(m, "x", "FP32", {2, 2})->mutable_contents()->mutable_fp32_contents(),
       {1.0f, 2.0f, 3.0f, 4.0f});
  AddInput(m, "k", "INT64", {1})->mutable_contents()->add_int64_contents(-9);
  Fill(AddInput(m, "n", "INT32", {2})->mutable_contents()->mutable_int_contents(), {7, 8});
  AddInput(m, "w", "FP64", {1})->mutable_contents()->add_fp64_contents(0.25);
  Fill(AddInput(m, "b", "BOOL", {2})->mutable_contents()->mutable_bool_contents(), {true, false});
  auto* s = AddInput(m, "text", "BYTES", {2})->mutable_contents();
  s->add_bytes_contents("hello");
  s->add_bytes_contents(std::string("a\0b", 3));
  m.add_outputs()->set_name("y");

  absl::StatusOr<DecodedModelInfer> d = DecodeModelInfer(m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->request.model, "vec");
  EXPECT_EQ(d->form.id, "req-7");
  EXPECT_EQ(d->request.top_k, 5);
  EXPECT_TRUE(d->request.tensors_given);
  EXPECT_FALSE(d->form.raw_output);
  EXPECT_THAT(d->form.requested_outputs, ElementsAre("y"));
  const std::vector<Tensor>& t = d->request.tensors;
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t[0].name, "x");
  EXPECT_EQ(t[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t[0].fp32, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(t[1].int64, (std::vector<int64_t>{-9}));
  EXPECT_EQ(t[2].int32, (std::vector<int32_t>{7, 8}));
  EXPECT_EQ(t[3].fp64, (std::vector<double>{0.25}));
  EXPECT_EQ(t[4].dtype, DataType::kBool);
  EXPECT_EQ(t[4].int64, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(t[5].bytes, (std::vector<std::string>{"hello", std::string("a\0b", 3)}));
}

TEST(DecodeModelInferTest, ReadsRawInputsAndAnswersRawUnlessToldOtherwise) {
  ModelInferRequest m;
  m.set_model_name("vec");
  AddInput(m, "x", "FP32", {1, 3});
  AddInput(m, "text", "BYTES", {1});
  m.add_raw_input_contents(RawOf(std::vector<float>{0.5f, -1, 2}));
  m.add_raw_input_contents(std::string("\x03\0\0\0abc", 7));
  absl::StatusOr<DecodedModelInfer> d = DecodeModelInfer(m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->form.raw_output);
  EXPECT_EQ(d->request.tensors[0].fp32, (std::vector<float>{0.5f, -1, 2}));
  EXPECT_EQ(d->request.tensors[1].bytes, (std::vector<std::string>{"abc"}));

  (*m.mutable_parameters())["binary_data_output"].set_bool_param(false);
  d = DecodeModelInfer(m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->form.raw_output);

  ModelInferRequest typed;
  AddInput(typed, "x", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
  (*typed.mutable_parameters())["binary_data_output"].set_bool_param(true);
  d = DecodeModelInfer(typed);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->form.raw_output);
}

struct BadRequest {
  std::string what;
  std::function<void(ModelInferRequest&)> build;
  std::string needle;
};

TEST(DecodeModelInferTest, RejectsMalformedRequestsNamingTheProblem) {
  const BadRequest cases[] = {
      {"no inputs", [](ModelInferRequest&) {}, "at least one input"},
      {"unnamed input",
       [](ModelInferRequest& m) { AddInput(m, "", "FP32", {1})->mutable_contents()->add_fp32_contents(1); },
       "needs a name"},
      {"unknown datatype", [](ModelInferRequest& m) { AddInput(m, "x", "FP16", {1}); },
       "input 'x': unknown datatype 'FP16'"},
      {"negative dimension", [](ModelInferRequest& m) { AddInput(m, "x", "FP32", {-1}); },
       "must not be negative"},
      {"too many elements",
       [](ModelInferRequest& m) {
         AddInput(m, "x", "BOOL", {int64_t{1} << 32, int64_t{1} << 32});
       },
       "too many elements"},
      {"values in the wrong field",
       [](ModelInferRequest& m) { AddInput(m, "x", "FP32", {1})->mutable_contents()->add_fp64_contents(1); },
       "FP32 values go in contents.fp32_contents"},
      {"too few values",
       [](ModelInferRequest& m) {
         AddInput(m, "x", "INT64", {3})->mutable_contents()->add_int64_contents(1);
       },
       "shape [3] needs 3 values but contents.int64_contents holds 1"},
      {"raw count differs from inputs",
       [](ModelInferRequest& m) {
         AddInput(m, "x", "FP32", {1});
         AddInput(m, "y", "FP32", {1});
         m.add_raw_input_contents(RawOf(std::vector<float>{1}));
       },
       "raw_input_contents has 1 entries for 2 inputs"},
      {"raw and typed at once",
       [](ModelInferRequest& m) {
         AddInput(m, "x", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
         m.add_raw_input_contents(RawOf(std::vector<float>{1}));
       },
       "use one or the other"},
      {"raw too short",
       [](ModelInferRequest& m) {
         AddInput(m, "x", "FP32", {2});
         m.add_raw_input_contents(RawOf(std::vector<float>{1}));
       },
       "tensor 'x'"},
      {"top_k not an int64",
       [](ModelInferRequest& m) {
         AddInput(m, "x", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
         (*m.mutable_parameters())["top_k"].set_string_param("3");
       },
       "'top_k' must be an int64_param from 1 to 1000"},
      {"top_k too large",
       [](ModelInferRequest& m) {
         AddInput(m, "x", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
         (*m.mutable_parameters())["top_k"].set_int64_param(1001);
       },
       "'top_k'"},
      {"binary_data_output not a bool",
       [](ModelInferRequest& m) {
         AddInput(m, "x", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
         (*m.mutable_parameters())["binary_data_output"].set_int64_param(1);
       },
       "'binary_data_output' must be a bool_param"},
  };
  for (const BadRequest& c : cases) {
    ModelInferRequest m;
    m.set_model_name("vec");
    c.build(m);
    absl::StatusOr<DecodedModelInfer> d = DecodeModelInfer(m);
    ASSERT_FALSE(d.ok()) << c.what;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(Message(d.status()), HasSubstr(c.needle)) << c.what;
  }
}

TEST(DecodeModelInferTest, OnlyVersionOneExists) {
  ModelInferRequest m;
  m.set_model_name("vec");
  AddInput(m, "x", "FP32", {1})->mutable_contents()->add_fp32_contents(1);
  m.set_model_version("1");
  EXPECT_TRUE(DecodeModelInfer(m).ok());
  m.set_model_version("2");
  EXPECT_EQ(DecodeModelInfer(m).status().code(), absl::StatusCode::kNotFound);
}

InferReplyForm Call(bool raw, std::vector<std::string> outputs = {}) {
  InferReplyForm form;
  form.model = "m";
  form.raw_output = raw;
  form.requested_outputs = std::move(outputs);
  form.id = "id-1";
  return form;
}

InferResponse TextResponse() {
  InferResponse r;
  r.task = ModelTask::kTextClassification;
  r.classifications = {{{"refund", 0.75f}, {"late", 0.25f}}, {{"other", 1.0f}}};
  return r;
}

TEST(EncodeModelInferTest, TextAnswersLabelAndScorePaddedToK) {
  ModelInferResponse reply;
  ASSERT_TRUE(EncodeModelInfer(TextResponse(), Call(false), reply).ok());
  EXPECT_EQ(reply.model_name(), "m");
  EXPECT_EQ(reply.model_version(), "1");
  EXPECT_EQ(reply.id(), "id-1");
  ASSERT_EQ(reply.outputs_size(), 2);
  EXPECT_EQ(reply.raw_output_contents_size(), 0);
  const auto& label = reply.outputs(0);
  EXPECT_EQ(label.name(), "label");
  EXPECT_EQ(label.datatype(), "BYTES");
  EXPECT_THAT(label.shape(), ElementsAre(2, 2));
  EXPECT_THAT(label.contents().bytes_contents(), ElementsAre("refund", "late", "other", ""));
  const auto& score = reply.outputs(1);
  EXPECT_EQ(score.name(), "score");
  EXPECT_EQ(score.datatype(), "FP32");
  EXPECT_THAT(score.shape(), ElementsAre(2, 2));
  EXPECT_THAT(score.contents().fp32_contents(), ElementsAre(0.75f, 0.25f, 1.0f, 0.0f));
}

TEST(EncodeModelInferTest, TextAnswersRawWhenAsked) {
  ModelInferResponse reply;
  ASSERT_TRUE(EncodeModelInfer(TextResponse(), Call(true), reply).ok());
  ASSERT_EQ(reply.outputs_size(), 2);
  ASSERT_EQ(reply.raw_output_contents_size(), 2);
  EXPECT_FALSE(reply.outputs(0).has_contents());
  Tensor labels;
  labels.name = "label";
  labels.dtype = DataType::kBytes;
  labels.shape = {2, 2};
  ASSERT_TRUE(DecodeRawTensorData(reply.raw_output_contents(0), labels).ok());
  EXPECT_EQ(labels.bytes, (std::vector<std::string>{"refund", "late", "other", ""}));
  EXPECT_EQ(reply.raw_output_contents(1), RawOf(std::vector<float>{0.75f, 0.25f, 1.0f, 0.0f}));
}

InferResponse TensorResponse() {
  InferResponse r;
  r.task = ModelTask::kTensor;
  Tensor y;
  y.name = "y";
  y.shape = {1, 2};
  y.fp32 = {1.5f, -2};
  Tensor flags;
  flags.name = "flags";
  flags.dtype = DataType::kBool;
  flags.shape = {2};
  flags.int64 = {1, 0};
  r.tensors = {y, flags};
  return r;
}

TEST(EncodeModelInferTest, TensorsTypedOrRaw) {
  ModelInferResponse typed;
  ASSERT_TRUE(EncodeModelInfer(TensorResponse(), Call(false), typed).ok());
  ASSERT_EQ(typed.outputs_size(), 2);
  EXPECT_EQ(typed.outputs(0).name(), "y");
  EXPECT_EQ(typed.outputs(0).datatype(), "FP32");
  EXPECT_THAT(typed.outputs(0).shape(), ElementsAre(1, 2));
  EXPECT_THAT(typed.outputs(0).contents().fp32_contents(), ElementsAre(1.5f, -2.0f));
  EXPECT_EQ(typed.outputs(1).datatype(), "BOOL");
  EXPECT_THAT(typed.outputs(1).contents().bool_contents(), ElementsAre(true, false));

  ModelInferResponse raw;
  ASSERT_TRUE(EncodeModelInfer(TensorResponse(), Call(true), raw).ok());
  ASSERT_EQ(raw.raw_output_contents_size(), 2);
  EXPECT_EQ(raw.raw_output_contents(0), RawOf(std::vector<float>{1.5f, -2}));
  EXPECT_EQ(raw.raw_output_contents(1), std::string("\x01\x00", 2));
}

TEST(EncodeModelInferTest, ReturnsOnlyTheRequestedOutputs) {
  ModelInferResponse reply;
  ASSERT_TRUE(EncodeModelInfer(TensorResponse(), Call(true, {"flags"}), reply).ok());
  ASSERT_EQ(reply.outputs_size(), 1);
  EXPECT_EQ(reply.outputs(0).name(), "flags");
  EXPECT_EQ(reply.raw_output_contents_size(), 1);

  ModelInferResponse scores;
  ASSERT_TRUE(EncodeModelInfer(TextResponse(), Call(false, {"score"}), scores).ok());
  ASSERT_EQ(scores.outputs_size(), 1);
  EXPECT_EQ(scores.outputs(0).name(), "score");

  ModelInferResponse unknown;
  absl::Status s = EncodeModelInfer(TensorResponse(), Call(false, {"z"}), unknown);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("model 'm' has no output 'z' (its outputs: y, flags)"));
}

}  // namespace
}  // namespace modelmux
