#include "backends/fasttext/fasttext_model.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "backend/heap_meter.h"
#include "common/status_macros.h"

namespace modelmux {
namespace {

// The bytes fastText's reader takes as word separators; '\n' also ends a line.
bool IsSeparator(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == '\0';
}

// Appends `text` as one line of fastText input: line breaks become spaces
// (each text is one line), and words after the first `max_tokens` are cut.
void AppendLine(std::string_view text, int max_tokens, std::string& lines) {
  int words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool separator = IsSeparator(c);
    if (!separator && !in_word && words++ == max_tokens) break;
    in_word = !separator;
    lines.push_back(c == '\n' ? ' ' : c);
  }
  lines.push_back('\n');
}

}  // namespace

absl::StatusOr<std::unique_ptr<FastTextModel>> FastTextModel::Create(const std::filesystem::path& model_path,
                                                                     const std::filesystem::path& labels_path,
                                                                     const FastTextLayout& layout,
                                                                     ModelConfig config) {
  const HeapMeter meter;
  auto model = std::unique_ptr<FastTextModel>(new FastTextModel(std::move(config)));
  try {
    model->fasttext_.loadModel(model_path.string());
  } catch (const std::exception& e) {
    return absl::DataLossError(
        absl::StrCat(model_path.string(), " is not a loadable fastText model: ", e.what()));
  }
  if (absl::Status labels = model->ReadLabels(); !labels.ok()) {
    return absl::Status(labels.code(), absl::StrCat(model_path.string(), ": ", labels.message()));
  }
  RETURN_IF_ERROR(model->CheckLabelsFile(labels_path));
  absl::StatusOr<Classifications> warm = model->Classify({"warm up"}, 1);
  if (!warm.ok() || warm->size() != 1 || warm->front().size() != 1) {
    return absl::InternalError(absl::StrCat(model_path.string(), ": warm-up classification failed",
                                            warm.ok() ? "" : absl::StrCat(": ", warm.status().message())));
  }
  std::error_code ec;
  const auto file_bytes = static_cast<int64_t>(std::filesystem::file_size(model_path, ec));
  // The allocator's count, less the size-class tails of the big matrix
  // arrays, which the model never touches (HeapMeter::UntouchedTail).
  std::optional<int64_t> heap = meter.NetBytes();
  if (heap.has_value()) {
    for (int64_t bytes : layout.arrays) *heap -= HeapMeter::UntouchedTail(bytes);
  }
  model->memory_bytes_ = heap.value_or(ec ? 0 : file_bytes);
  return model;
}

absl::Status FastTextModel::ReadLabels() {
  const std::shared_ptr<const fasttext::Dictionary> dict = fasttext_.getDictionary();
  const std::string prefix = fasttext_.getArgs().label;
  if (dict->nlabels() < 1) return absl::InvalidArgumentError("the model has no labels");
  labels_.reserve(dict->nlabels());
  for (int32_t i = 0; i < dict->nlabels(); ++i) {
    std::string label = dict->getLabel(i);
    if (!prefix.empty() && label.starts_with(prefix)) label.erase(0, prefix.size());
    labels_.push_back(std::move(label));
  }
  return absl::OkStatus();
}

absl::Status FastTextModel::CheckLabelsFile(const std::filesystem::path& labels_path) const {
  std::ifstream in(labels_path);
  if (!in.is_open()) return absl::OkStatus();  // optional
  const absl::flat_hash_set<std::string_view> model_labels(labels_.begin(), labels_.end());
  absl::flat_hash_set<std::string> listed;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!model_labels.contains(line)) {
      return absl::InvalidArgumentError(absl::StrCat(labels_path.string(), " lists '", line,
                                                     "', which is not one of the model's ", labels_.size(),
                                                     " labels"));
    }
    listed.insert(std::move(line));
  }
  for (const std::string& label : labels_) {
    if (!listed.contains(label)) {
      return absl::InvalidArgumentError(
          absl::StrCat(labels_path.string(), " does not list the model's label '", label, "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Classifications> FastTextModel::Classify(const std::vector<std::string_view>& texts,
                                                        int top_k) const {
  if (top_k < 1) return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 1, got ", top_k));
  const int k = std::min(top_k, static_cast<int>(labels_.size()));
  std::string lines;
  for (std::string_view text : texts) AppendLine(text, config_.max_tokens, lines);
  std::istringstream in(std::move(lines));
  Classifications result(texts.size());
  try {
    const std::shared_ptr<const fasttext::Dictionary> dict = fasttext_.getDictionary();
    std::vector<int32_t> words, line_labels;
    fasttext::Predictions predictions;
    for (std::vector<LabelScore>& row : result) {
      dict->getLine(in, words, line_labels);
      predictions.clear();
      fasttext_.predict(k, words, predictions, 0.0f);
      row.reserve(predictions.size());
      // fastText gives log-probabilities, best first.
      for (const auto& [log_probability, label] : predictions) {
        row.push_back(LabelScore{labels_[label], std::exp(log_probability)});
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("fastText prediction failed: ", e.what()));
  }
  return result;
}

absl::StatusOr<std::vector<Tensor>> FastTextModel::Infer(const std::vector<Tensor>&) const {
  return absl::FailedPreconditionError(
      "this model is a text classifier: send texts to classify, not tensors");
}

}  // namespace modelmux
