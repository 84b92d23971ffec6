// Trains one tenant's ticket classifier with libtorch and saves it as the
// TorchScript module the server's torchscript backend loads:
//
//   forward(ids: Tensor, offsets: Tensor) -> Tensor   (logits [texts, labels])
//   ids -> mean EmbeddingBag [vocab, dim] -> Linear(dim, hidden) -> ReLU -> Linear(hidden, labels)
//
// Deterministic for a given seed when libtorch runs on one thread. Not
// thread-safe: call from one thread at a time. This header is free of libtorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"

namespace modelmux::make_store {

struct EncodedTicket {
  std::vector<int64_t> ids;  // vocabulary ids, as the server's tokenizer gives them
  int label = 0;
};

struct TrainOptions {
  int64_t vocab_size = 32768;  // rows of the saved embedding
  // Rows that tickets can use (<unk> and real words). Rows past it belong to
  // pseudo-words that no ticket holds: training them would only add zero
  // gradients, so they are left at their initial values.
  int64_t trained_rows = 0;
  int dim = 64;
  int hidden = 64;
  int num_labels = 0;
  int epochs = 10;
  int batch_size = 32;
  double learning_rate = 0.01;
  // Strong decoupled weight decay (AdamW): with ~40 tickets per label the net
  // otherwise memorises the filler words (train 100%, held-out ~80%).
  double weight_decay = 0.5;
  uint64_t seed = 42;
};

struct TrainResult {
  double heldout_accuracy = 0;  // fraction of held-out tickets whose label ranks first
  double train_accuracy = 0;    // the same on the training tickets (a gap means overfitting)
  int64_t parameter_bytes = 0;
};

// Pins libtorch to one thread: results then do not depend on the machine.
void UseOneTorchThread();

// REQUIRES: every id < options.trained_rows, every label < options.num_labels.
absl::StatusOr<TrainResult> TrainAndSave(const std::vector<EncodedTicket>& train,
                                         const std::vector<EncodedTicket>& heldout,
                                         const TrainOptions& options,
                                         const std::filesystem::path& model_path);

}  // namespace modelmux::make_store
