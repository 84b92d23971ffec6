// Internal to backends/torchscript (includes libtorch): the Model
// implementations behind NewTorchScriptBackend.
//
// A model holds a loaded torch::jit::Module and never mutates it after
// construction; forward runs are safe from many threads at once.
#pragma once

#include <torch/script.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/model.h"
#include "text/label_table.h"
#include "text/tokenizer.h"

namespace modelmux {

// The one line of a libtorch error worth showing a user (no C++ backtrace, no
// TorchScript traceback).
std::string TorchErrorMessage(const std::exception& e);

// Bytes of every parameter and buffer of `module` and its submodules, each
// storage counted once.
int64_t ModuleTensorBytes(const torch::jit::Module& module);

class TorchScriptModel : public Model {
 public:
  const ModelConfig& config() const override { return config_; }
  int64_t MemoryBytes() const override { return memory_bytes_; }

  // Runs one inference on made-up input, checks the outputs' shapes and
  // returns them (as the module returned them, before any conversion).
  virtual absl::StatusOr<std::vector<at::Tensor>> WarmUp() const = 0;

  const torch::jit::Module& module() const { return module_; }
  // Serves `module` (same forward schema) from now on; MemoryBytes() stays.
  // Only while the model is not yet shared: at load, to swap in a frozen module.
  void ReplaceModule(torch::jit::Module module);

 protected:
  TorchScriptModel(ModelConfig config, torch::jit::Module module);

  // Calls forward under InferenceMode. Errors from libtorch become Internal.
  absl::StatusOr<c10::IValue> Forward(std::vector<c10::IValue> inputs) const;
  // Arguments of forward, not counting self.
  size_t ForwardArity() const;

  ModelConfig config_;
  torch::jit::Module module_;
  torch::jit::Method forward_;
  int64_t memory_bytes_ = 0;
};

// What a text classifier needs besides its module: vocab.txt and labels.txt.
struct TextAssets {
  Tokenizer tokenizer;
  LabelTable labels;
};

// Reads `dir`/vocab.txt and `dir`/labels.txt. A missing file is
// InvalidArgument (the artifact is incomplete), not NotFound.
absl::StatusOr<TextAssets> ReadTextAssets(const std::filesystem::path& dir);

class TextClassifierModel final : public TorchScriptModel {
 public:
  // `dir` names the artifact in errors.
  static absl::StatusOr<std::unique_ptr<TextClassifierModel>> Create(const std::filesystem::path& dir,
                                                                     ModelConfig config,
                                                                     torch::jit::Module module,
                                                                     TextAssets assets);

  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts,
                                           int top_k) const override;
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) const override;
  absl::StatusOr<std::vector<at::Tensor>> WarmUp() const override;

 private:
  TextClassifierModel(ModelConfig config, torch::jit::Module module, Tokenizer tokenizer, LabelTable labels);

  // Float logits of shape [offsets.size(), labels], contiguous.
  absl::StatusOr<at::Tensor> Logits(std::vector<int64_t>& ids, std::vector<int64_t>& offsets) const;

  Tokenizer tokenizer_;
  LabelTable labels_;
};

class TensorModel final : public TorchScriptModel {
 public:
  static absl::StatusOr<std::unique_ptr<TensorModel>> Create(ModelConfig config, torch::jit::Module module);

  absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts,
                                           int top_k) const override;
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) const override;
  absl::StatusOr<std::vector<at::Tensor>> WarmUp() const override;

 private:
  using TorchScriptModel::TorchScriptModel;
  // Forward on `inputs` (checked against config.json), its output tensors
  // counted against the declared outputs.
  absl::StatusOr<std::vector<at::Tensor>> RunTorch(const std::vector<Tensor>& inputs) const;
};

}  // namespace modelmux
