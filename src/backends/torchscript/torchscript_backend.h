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

struct TorchScriptOptions {
  // Freeze and optimise every module at load (torch::jit::freeze, then
  // torch::jit::optimize_for_inference): each forward call is cheaper, each
  // load dearer, and models no longer share compiled code (module_loader.h:
  // each is compiled and optimised for itself). A frozen module that does not compute
  // what the module computed on the warm-up input (e.g. one whose forward
  // changes its own attributes) is dropped for the module, with a warning.
  // Measured in BENCHMARKS.md, "Cold path (issue 15)".
  bool freeze = false;
};

// Also switches TorchScript to its legacy graph executor, process-wide (one
// warm-up run instead of two per load; see torchscript_backend.cc).
std::unique_ptr<Backend> NewTorchScriptBackend(const TorchScriptOptions& options = {});

// Pins libtorch's intra-op and inter-op pools to one thread each, so that the
// server's own worker pool is the only source of parallelism. Runs once per
// process (later calls do nothing); NewTorchScriptBackend calls it too.
void ConfigureTorchThreads();

}  // namespace modelmux
