// The TorchScript backend: loads model.pt files written by torch.jit.save.
//
// Two kinds of artifact (config.json "task"):
//   text-classification: model.pt + vocab.txt + labels.txt; forward(ids, offsets)
//     takes the int64 concatenation of all texts' token ids and the int64 start
//     offset of each text (as torch.embedding_bag does) and returns float logits
//     of shape [texts, labels].
//   tensor: forward takes the declared inputs in order and returns one tensor or
//     a tuple of tensors, mapped to the declared outputs in order.
//
// This header is free of libtorch on purpose: only this folder pays its
// compile cost. The backend and its models are thread-safe.
#pragma once

#include <memory>

#include "backend/model.h"

namespace modelmux {

// Also switches TorchScript to its legacy graph executor, process-wide (one
// warm-up run instead of two per load; see torchscript_backend.cc).
std::unique_ptr<Backend> NewTorchScriptBackend();

// Pins libtorch's intra-op and inter-op pools to one thread each, so that the
// server's own worker pool is the only source of parallelism. Runs once per
// process (later calls do nothing); NewTorchScriptBackend calls it too.
void ConfigureTorchThreads();

}  // namespace modelmux
