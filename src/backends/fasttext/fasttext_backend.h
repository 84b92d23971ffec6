// The fastText backend: serves supervised fastText classifiers, model.bin as
// written by fastText's `supervised`, or model.ftz as written by `quantize`:
//
//   config.json  {"backend": "fasttext", "task": "text-classification",
//                 "default_top_k": 3, "max_tokens": 128}
//   labels.txt   optional: the model carries its labels; when present it must
//                list the same ones (one a line, without the label prefix)
//
// Requests and answers are those of every text classifier (model.h
// Classify): the top-k labels with their probabilities, best first, the
// label prefix ("__label__") removed. A text is what fastText's own `predict`
// reads from one line: its first max_tokens whitespace-separated words, with
// line breaks read as spaces.
//
// Threads: loading and predicting run on the caller's thread; fastText starts
// threads only to train. Memory: a model is charged the heap bytes its load
// left allocated (backend/heap_meter.h), less the untouched size-class tails
// of its big matrix arrays (whose sizes the layout check reads from the file);
// without jemalloc, its file size.
//
// This header is free of libfasttext: only this folder includes it. The
// backend and its models are thread-safe.
#pragma once

#include <memory>

#include "backend/model.h"

namespace modelmux {

std::unique_ptr<Backend> NewFastTextBackend();

}  // namespace modelmux
