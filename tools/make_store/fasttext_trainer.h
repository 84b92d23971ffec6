// Trains one tenant's ticket classifier with fastText's own trainer
// (libfasttext's supervised training, one thread) and saves it as the
// fastText backend loads it: model.bin, or model.ftz when quantized.
//
// Tickets are given to fastText as they are (one per line, line breaks as
// spaces), exactly as the server's fastText backend will read them.
// Deterministic for a seed (one training thread). Not thread-safe: call from
// one thread at a time. This header is free of libfasttext.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "make_store/synthetic_tenant.h"

namespace modelmux::make_store {

struct FastTextTrainOptions {
  int dim = 32;
  int epochs = 50;
  double learning_rate = 0.5;
  int word_ngrams = 1;
  int min_char_ngram = 2;  // subwords: they make "Refund," and "refund" alike
  int max_char_ngram = 5;
  int buckets = 32768;  // hashed rows for word and character n-grams
  // Quantizing: product quantization (two dimensions per subquantizer, norms
  // quantized too) of the `quantize_cutoff` input rows of largest norm; rows
  // no training example touched keep their small initial values and go.
  bool quantize = false;
  int quantize_cutoff = 8000;
  uint64_t seed = 42;
};

struct FastTextTrainResult {
  double heldout_accuracy = 0;  // top-1, of the model as saved (quantized or not)
  double train_accuracy = 0;
  std::filesystem::path model_path;  // dir/model.bin or dir/model.ftz
  int64_t model_bytes = 0;
};

// `labels[i]` names label i of the tickets. Writes the model into `dir`.
absl::StatusOr<FastTextTrainResult> TrainFastText(const std::vector<Ticket>& train,
                                                  const std::vector<Ticket>& heldout,
                                                  const std::vector<std::string>& labels,
                                                  const FastTextTrainOptions& options,
                                                  const std::filesystem::path& dir);

}  // namespace modelmux::make_store
