// Shared by the raw-library baselines of bench/backends.sh: each framework's
// model with nothing around it, in one process on one thread.
//
// A RawKind loads a model directory (the framework's load plus one first
// inference, as the server's load ends with a warm-up) and times one call on
// a loaded model; the measurements (load, forward, density) are the same code
// for every framework.
#pragma once

#include <time.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace modelmux::bench {

int64_t Ns(clockid_t clock);
int64_t RssBytes();  // of this process, from /proc/self/statm

struct RawOptions {
  std::vector<std::filesystem::path> dirs;  // model directories of one store
  std::filesystem::path heldout_dir;        // <store>/_heldout
  std::string text;                         // text classifiers: the timed input
  double seconds = 3;
  int rounds = 3;
  int batch_rows = 256;      // tabular: rows per batch call
  int density_copies = 100;  // loads of the first model kept at once
};

// One framework. A loaded model is type-erased: the kind knows its type.
class RawKind {
 public:
  using Loaded = std::shared_ptr<void>;
  virtual ~RawKind() = default;
  // Framework load + one first inference.
  virtual Loaded Load(const std::filesystem::path& dir) = 0;
  // The call timed as one request: one text, or one row.
  virtual void Forward(const Loaded& model) = 0;
  // Held-out quality of the model in `dir`: top-1 accuracy, or ROC AUC.
  virtual double Score(const std::filesystem::path& dir, const std::filesystem::path& heldout) = 0;
  // Tabular only: extra measurements (rows per second in batches).
  virtual nlohmann::json Extra(const Loaded&, const RawOptions&) { return nullptr; }
};

std::unique_ptr<RawKind> NewTorchScriptKind(const RawOptions& options);
std::unique_ptr<RawKind> NewFastTextKind(const RawOptions& options);
std::unique_ptr<RawKind> NewXGBoostKind(const RawOptions& options);

// Wall and thread-CPU microseconds per call of `call`, repeated for `seconds`.
nlohmann::json TimeCalls(const std::function<void()>& call, double seconds);

// The held-out lines of the model in `dir`, parsed.
std::vector<nlohmann::json> HeldoutLines(const std::filesystem::path& heldout,
                                         const std::filesystem::path& dir);

}  // namespace modelmux::bench
