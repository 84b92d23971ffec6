#include "backends/torchscript/torchscript_backend.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <chrono>
#include <future>
#include <mutex>
#include <system_error>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "backends/torchscript/module_loader.h"
#include "backends/torchscript/torchscript_model.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

constexpr size_t kMaxErrorChars = 400;
// With the legacy executor (see UseLegacyGraphExecutor) the first run
// optimises the graph; it belongs to the load, not to the first user.
constexpr int kWarmUpRuns = 1;

// TorchScript's default profiling executor needs two runs (profile, then
// optimise: 2.6-6.4 ms of a demo model's load) before it runs an optimised
// graph. The legacy executor
// optimises once, on the first run (0.7-1.1 ms), and served the demo models'
// warm requests at the same CPU cost per request. Must run before the first
// module is loaded.
void UseLegacyGraphExecutor() {
  static std::once_flag once;
  std::call_once(once, [] { torch::jit::getProfilingMode() = false; });
}

absl::StatusOr<torch::jit::Module> LoadModule(ModuleLoader& loader, const std::filesystem::path& path,
                                              bool* shared_code) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("artifact has no model file ", path.string()));
  }
  try {
    torch::jit::Module module = loader.Load(path.string(), shared_code);
    if (!module.find_method("forward")) {
      return absl::InvalidArgumentError(absl::StrCat(path.string(), " has no forward method"));
    }
    module.eval();
    return module;
  } catch (const std::exception& e) {
    return absl::DataLossError(
        absl::StrCat(path.string(), " is not a loadable TorchScript module: ", TorchErrorMessage(e)));
  }
}

// Reads a text classifier's vocabulary and labels on a thread of their own
// while the caller deserialises the module. Both are CPU-bound: when a core is
// free this takes the tokenizer's build (1-3 ms for a 32k vocabulary) off the
// cold start; when none is, it costs one short-lived thread, at most one per
// load in progress. Without a thread to be had, they are read at get().
std::future<absl::StatusOr<TextAssets>> ReadTextAssetsConcurrently(const std::filesystem::path& dir) {
  try {
    return std::async(std::launch::async, ReadTextAssets, dir);
  } catch (const std::system_error&) {
    return std::async(std::launch::deferred, ReadTextAssets, dir);
  }
}

// The largest difference a frozen module's outputs may show against the
// module's: optimize_for_inference may reorder float arithmetic (a linear
// layer becomes a product with the pre-transposed weight plus the bias).
constexpr double kFrozenRtol = 1e-4;
constexpr double kFrozenAtol = 1e-5;

// Whether `got` are `want` within the tolerances above; else why not.
std::string CompareOutputs(const std::vector<at::Tensor>& want, const std::vector<at::Tensor>& got) {
  if (want.size() != got.size()) return absl::StrCat(got.size(), " outputs instead of ", want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].sizes() != got[i].sizes() || want[i].scalar_type() != got[i].scalar_type()) {
      return absl::StrCat("output ", i, " has shape ", c10::str(got[i].sizes()), " instead of ",
                          c10::str(want[i].sizes()));
    }
    const bool close = at::isFloatingType(want[i].scalar_type())
                           ? torch::allclose(got[i], want[i], kFrozenRtol, kFrozenAtol, /*equal_nan=*/true)
                           : torch::equal(got[i], want[i]);
    if (!close) return absl::StrCat("output ", i, " differs from the module's on the warm-up input");
  }
  return "";
}

// Swaps a frozen copy of `model`'s module in when it computes what the module
// computed for the warm-up input (`want`); else keeps the module and returns
// why. Its warm-up run is also the frozen graph's first, optimising run.
std::string TryFreeze(TorchScriptModel& model, const std::vector<at::Tensor>& want) {
  const torch::jit::Module original = model.module();
  torch::jit::Module frozen;
  try {
    frozen = FreezeForInference(original);
  } catch (const std::exception& e) {
    return absl::StrCat("freezing failed: ", TorchErrorMessage(e));
  }
  model.ReplaceModule(std::move(frozen));
  absl::StatusOr<std::vector<at::Tensor>> got = model.WarmUp();
  std::string why;
  if (!got.ok()) {
    why = absl::StrCat("the frozen module's warm-up failed: ", got.status().message());
  } else {
    try {
      why = CompareOutputs(want, *got);
    } catch (const std::exception& e) {
      why = absl::StrCat("cannot compare the frozen module's outputs: ", TorchErrorMessage(e));
    }
  }
  if (!why.empty()) model.ReplaceModule(original);
  return why;
}

class TorchScriptBackend final : public Backend {
 public:
  explicit TorchScriptBackend(const TorchScriptOptions& options)
      : options_(options), loader_(/*share_code=*/!options.freeze) {}

  std::string_view name() const override { return "torchscript"; }

  absl::StatusOr<std::unique_ptr<Model>> Load(const std::filesystem::path& dir,
                                              const ModelConfig& config) const override {
    if (config.backend != name()) {
      return absl::InvalidArgumentError(absl::StrCat("config.json backend is '", config.backend,
                                                     "', not 'torchscript' (", dir.string(), ")"));
    }
    if (config.task == ModelTask::kTabular) {
      return absl::InvalidArgumentError(
          absl::StrCat("config.json task is 'tabular'; the torchscript backend serves 'text-classification' "
                       "and 'tensor' (",
                       dir.string(), ")"));
    }
    using Clock = std::chrono::steady_clock;
    const Clock::time_point start = Clock::now();
    const bool text = config.task == ModelTask::kTextClassification;
    std::future<absl::StatusOr<TextAssets>> assets;
    if (text) assets = ReadTextAssetsConcurrently(dir);
    bool shared_code = false;
    ASSIGN_OR_RETURN(torch::jit::Module module, LoadModule(loader_, dir / "model.pt", &shared_code));
    const Clock::time_point deserialized = Clock::now();
    std::unique_ptr<TorchScriptModel> model;
    if (text) {
      ASSIGN_OR_RETURN(TextAssets text_assets, assets.get());
      ASSIGN_OR_RETURN(model,
                       TextClassifierModel::Create(dir, config, std::move(module), std::move(text_assets)));
    } else {
      ASSIGN_OR_RETURN(model, TensorModel::Create(config, std::move(module)));
    }
    const Clock::time_point prepared = Clock::now();
    absl::StatusOr<std::vector<at::Tensor>> warm;
    for (int run = 0; run < kWarmUpRuns; ++run) {
      warm = model->WarmUp();
      if (!warm.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            (dir / "model.pt").string(), ": warm-up inference failed: ", warm.status().message()));
      }
    }
    const Clock::time_point warmed = Clock::now();
    std::string freezing = "not frozen";
    if (options_.freeze) {
      if (std::string why = TryFreeze(*model, *warm); why.empty()) {
        freezing = "frozen";
      } else {
        spdlog::warn("{}: serving the module unfrozen: {}", (dir / "model.pt").string(), why);
        freezing = "freezing failed";
      }
    }
    const Clock::time_point frozen = Clock::now();
    // Where a cold start's time goes, per phase.
    auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    spdlog::debug("loaded {}: deserialize {:.2f} ms ({}), prepare {:.2f} ms, warm-up {:.2f} ms, {} {:.2f} ms",
                  dir.string(), ms(deserialized - start),
                  shared_code ? "code shared with an earlier model" : "code compiled",
                  ms(prepared - deserialized), ms(warmed - prepared), freezing, ms(frozen - warmed));
    return model;
  }

 private:
  const TorchScriptOptions options_;
  // Shares compiled code between models of one architecture (module_loader.h).
  mutable ModuleLoader loader_;
};

}  // namespace

std::string TorchErrorMessage(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string_view text = c10_error ? c10_error->what_without_backtrace() : e.what();
  // TorchScript interpreter errors end with the original exception, e.g.
  // "RuntimeError: index out of range in self"; that line is the useful one.
  if (size_t pos = text.rfind("RuntimeError: "); pos != std::string_view::npos) {
    text.remove_prefix(pos + std::string_view("RuntimeError: ").size());
  }
  text = text.substr(0, text.find('\n'));
  std::string out(text.substr(0, kMaxErrorChars));
  if (text.size() > kMaxErrorChars) out += "...";
  return out;
}

int64_t ModuleTensorBytes(const torch::jit::Module& module) {
  absl::flat_hash_set<const void*> seen;
  int64_t bytes = 0;
  auto add = [&](const at::Tensor& t) {
    if (!t.defined() || !t.has_storage()) return;
    const c10::Storage& storage = t.storage();
    if (seen.insert(storage.unsafeGetStorageImpl()).second) {
      bytes += static_cast<int64_t>(storage.nbytes());
    }
  };
  for (const at::Tensor& p : module.parameters(/*recurse=*/true)) add(p);
  for (const at::Tensor& b : module.buffers(/*recurse=*/true)) add(b);
  return bytes;
}

TorchScriptModel::TorchScriptModel(ModelConfig config, torch::jit::Module module)
    : config_(std::move(config)),
      module_(std::move(module)),
      forward_(module_.get_method("forward")),
      memory_bytes_(ModuleTensorBytes(module_)) {}

void TorchScriptModel::ReplaceModule(torch::jit::Module module) {
  module_ = std::move(module);
  forward_ = module_.get_method("forward");
}

absl::StatusOr<c10::IValue> TorchScriptModel::Forward(std::vector<c10::IValue> inputs) const {
  try {
    c10::InferenceMode guard;
    return forward_(std::move(inputs));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model forward failed: ", TorchErrorMessage(e)));
  }
}

size_t TorchScriptModel::ForwardArity() const {
  const size_t args = forward_.function().getSchema().arguments().size();
  return args > 0 ? args - 1 : 0;
}

void ConfigureTorchThreads() {
  static std::once_flag once;
  std::call_once(once, [] {
    at::set_num_threads(1);
    // Throws when the inter-op pool already started (someone ran a parallel op
    // first); the pool then keeps its size, which only costs idle threads.
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
    }
  });
}

std::unique_ptr<Backend> NewTorchScriptBackend(const TorchScriptOptions& options) {
  ConfigureTorchThreads();
  UseLegacyGraphExecutor();
  return std::make_unique<TorchScriptBackend>(options);
}

}  // namespace modelmux
