// The XGBoost backend: loads gradient-boosted tree models saved by XGBoost
// (model.json or model.ubj) and serves them as tabular models:
//
//   config.json  {"backend": "xgboost", "task": "tabular",
//                 "features": ["tenure_months", "logins_30d", ...]}
//
// A request is rows of numbers, one per declared feature, in that order (the
// one input, FP32 [rows, features]; see backend/model_config.h). The answer is
// one output: "probability" (binary:logistic: [rows]; multi:softprob:
// [rows, classes]), "class" (multi:softmax, binary:hinge: [rows]) or "score"
// (every other objective: [rows]). A row of the wrong width is
// InvalidArgument naming the width the model expects.
//
// Threads: XGBoost parallelises with OpenMP. Every booster is pinned to one
// thread (nthread = 1), and every thread that loads or runs a model sets its
// own OpenMP default to one thread first, so no OpenMP team (and no OpenMP
// worker thread) is ever started: the server's worker pool is the only
// parallelism, whatever the number of models loaded.
//
// Memory: a model is charged the heap bytes its load left allocated
// (backend/heap_meter.h); without jemalloc, the size of its model file.
//
// This header is free of XGBoost: only this folder includes it. The backend
// and its models are thread-safe (XGBoost's in-place prediction is).
#pragma once

#include <memory>

#include "backend/model.h"

namespace modelmux {

std::unique_ptr<Backend> NewXGBoostBackend();

}  // namespace modelmux
