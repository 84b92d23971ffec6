#include <span>

#include "absl/strings/str_cat.h"
#include "backends/torchscript/torchscript_model.h"
#include "common/status_macros.h"
#include "text/top_k.h"

namespace modelmux {
namespace {

// A file missing from an artifact makes the artifact invalid; NotFound would
// read as "no such model" to the layers above.
template <typename T>
absl::StatusOr<T> AsArtifactError(absl::StatusOr<T> result) {
  if (result.status().code() == absl::StatusCode::kNotFound) {
    return absl::InvalidArgumentError(result.status().message());
  }
  return result;
}

}  // namespace

TextClassifierModel::TextClassifierModel(ModelConfig config, torch::jit::Module module, Tokenizer tokenizer,
                                         LabelTable labels)
    : TorchScriptModel(std::move(config), std::move(module)),
      tokenizer_(std::move(tokenizer)),
      labels_(std::move(labels)) {
  memory_bytes_ += tokenizer_.MemoryBytes() + labels_.MemoryBytes();
}

absl::StatusOr<TextAssets> ReadTextAssets(const std::filesystem::path& dir) {
  ASSIGN_OR_RETURN(Tokenizer tokenizer, AsArtifactError(Tokenizer::Create(dir / "vocab.txt")));
  ASSIGN_OR_RETURN(LabelTable labels, AsArtifactError(LabelTable::Create(dir / "labels.txt")));
  return TextAssets{std::move(tokenizer), std::move(labels)};
}

absl::StatusOr<std::unique_ptr<TextClassifierModel>> TextClassifierModel::Create(
    const std::filesystem::path& dir, ModelConfig config, torch::jit::Module module, TextAssets assets) {
  auto model = std::unique_ptr<TextClassifierModel>(new TextClassifierModel(
      std::move(config), std::move(module), std::move(assets.tokenizer), std::move(assets.labels)));
  if (model->ForwardArity() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat((dir / "model.pt").string(), ": forward takes ", model->ForwardArity(),
                     " arguments; a text classifier's forward must take (ids: Tensor, offsets: Tensor)"));
  }
  return model;
}

absl::StatusOr<at::Tensor> TextClassifierModel::Logits(std::vector<int64_t>& ids,
                                                       std::vector<int64_t>& offsets) const {
  // from_blob borrows the vectors: they outlive the forward call.
  at::Tensor ids_t = torch::from_blob(ids.data(), {static_cast<int64_t>(ids.size())}, torch::kLong);
  at::Tensor offsets_t =
      torch::from_blob(offsets.data(), {static_cast<int64_t>(offsets.size())}, torch::kLong);
  ASSIGN_OR_RETURN(c10::IValue out, Forward({ids_t, offsets_t}));
  if (!out.isTensor()) {
    return absl::InternalError(absl::StrCat("model returned ", out.tagKind(), ", expected a logits tensor"));
  }
  at::Tensor logits = out.toTensor();
  const auto n = static_cast<int64_t>(offsets.size());
  if (logits.dim() != 2 || logits.size(0) != n || logits.size(1) != labels_.size()) {
    return absl::InternalError(absl::StrCat("model returned logits of shape ", c10::str(logits.sizes()),
                                            ", expected [", n, ", ", labels_.size(),
                                            "] (one row per text, one column per line of labels.txt)"));
  }
  try {
    return logits.to(torch::kFloat).contiguous();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model returned unusable logits: ", TorchErrorMessage(e)));
  }
}

absl::StatusOr<Classifications> TextClassifierModel::Classify(const std::vector<std::string_view>& texts,
                                                              int top_k) const {
  if (top_k < 1) return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 1, got ", top_k));
  Classifications result;
  if (texts.empty()) return result;
  std::vector<int64_t> ids;
  std::vector<int64_t> offsets(texts.size());
  ids.reserve(texts.size() * 32);
  for (size_t i = 0; i < texts.size(); ++i) {
    offsets[i] = static_cast<int64_t>(ids.size());
    tokenizer_.Encode(texts[i], config_.max_tokens, &ids);
  }
  ASSIGN_OR_RETURN(at::Tensor logits, Logits(ids, offsets));
  const float* data = logits.data_ptr<float>();
  const int width = labels_.size();
  result.resize(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::span<const float> row(data + i * width, width);
    for (const ScoredClass& c : TopK(row, top_k)) {
      result[i].push_back(LabelScore{labels_.label(c.index), c.score});
    }
  }
  return result;
}

absl::StatusOr<std::vector<Tensor>> TextClassifierModel::Infer(const std::vector<Tensor>&) const {
  return absl::FailedPreconditionError(
      "this model is a text classifier: send texts to classify, not tensors");
}

// Feeds the highest vocabulary id, so an embedding smaller than vocab.txt
// fails here rather than on the first user text that happens to use it.
absl::StatusOr<std::vector<at::Tensor>> TextClassifierModel::WarmUp() const {
  std::vector<int64_t> ids = {Tokenizer::kUnknownId, tokenizer_.vocab_size() - 1};
  std::vector<int64_t> offsets = {0};
  absl::StatusOr<at::Tensor> logits = Logits(ids, offsets);
  if (!logits.ok()) {
    return absl::Status(logits.status().code(),
                        absl::StrCat(logits.status().message(), " (vocab.txt has ", tokenizer_.vocab_size(),
                                     " tokens, labels.txt has ", labels_.size(), " labels)"));
  }
  return std::vector<at::Tensor>{*std::move(logits)};
}

}  // namespace modelmux
