// The Backend/Model pair: the loader contract of modelmux.
//
// A Backend turns an artifact directory into a loaded Model. A Model is
// immutable after Load returns and is safe to call from many threads at once
// (it holds no per-request state). Models never throw: every failure is an
// absl::Status with a message a user can act on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/model_config.h"
#include "backend/tensor.h"

namespace modelmux {

struct LabelScore {
  std::string_view label;  // points into the model's label table: valid while the model is alive
  float score = 0;
};

// predictions[i] holds the top-k labels of texts[i], best first.
using Classifications = std::vector<std::vector<LabelScore>>;

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelConfig& config() const = 0;

  // Bytes this model holds in memory (weights, buffers, vocabulary, labels),
  // measured after load. The registry charges this against the budget.
  virtual int64_t MemoryBytes() const = 0;

  // Text classifiers: tokenize, run, softmax, keep the top_k (top_k >= 1,
  // capped at the number of labels). FailedPrecondition for tensor models.
  virtual absl::StatusOr<Classifications> Classify(const std::vector<std::string_view>& texts,
                                                   int top_k) const = 0;

  // Tensor models: inputs checked against config().inputs; returns the
  // declared outputs. FailedPrecondition for text models.
  virtual absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The config.json "backend" value this backend serves, e.g. "torchscript".
  virtual std::string_view name() const = 0;

  // Loads the artifact in `dir` (config already parsed from dir/config.json)
  // and runs one warm-up inference before returning. Corrupt or inconsistent
  // files give InvalidArgument/DataLoss with the file named.
  virtual absl::StatusOr<std::unique_ptr<Model>> Load(const std::filesystem::path& dir,
                                                      const ModelConfig& config) const = 0;
};

}  // namespace modelmux
