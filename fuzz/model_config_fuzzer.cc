// Fuzzes ParseModelConfig, the reader of an artifact's config.json (a file
// from the model store, written by whoever uploaded the model).
//
// Checks: a refused file is an InvalidArgument with a message (the load
// fails with that reason, the server keeps serving); an accepted one has
// every knob within its documented range, a known backend name that is not
// empty, and for tensor models non-empty, uniquely named inputs and outputs
// whose dimensions are >= -1.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "backend/model_config.h"
#include "fuzz_support.h"

namespace modelmux {
namespace {

void CheckSpecs(const std::vector<TensorSpec>& specs) {
  FUZZ_CHECK(!specs.empty(), "a tensor model declares its tensors");
  std::set<std::string> names;
  for (const TensorSpec& spec : specs) {
    FUZZ_CHECK(!spec.name.empty() && names.insert(spec.name).second, "tensor names are non-empty and unique");
    for (int64_t d : spec.shape) FUZZ_CHECK(d >= -1, "dimensions are >= -1");
  }
}

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ModelConfig> config = ParseModelConfig(text);
  if (!config.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(config.status()), "a bad config.json is InvalidArgument");
    FUZZ_CHECK(!config.status().message().empty(), "the error says what is wrong");
    return 0;
  }
  FUZZ_CHECK(!config->backend.empty(), "the backend is named");
  FUZZ_CHECK(config->max_tokens >= 1 && config->max_tokens <= (1 << 16), "max_tokens within 1..65536");
  FUZZ_CHECK(config->default_top_k >= 1, "default_top_k >= 1");
  FUZZ_CHECK(config->max_batch_size >= 1 && config->max_batch_size <= 1024, "max_batch_size within 1..1024");
  if (config->task == ModelTask::kTensor) {
    CheckSpecs(config->inputs);
    CheckSpecs(config->outputs);
  } else {
    FUZZ_CHECK(config->inputs.empty() && config->outputs.empty(), "text models declare no tensors");
  }
  return 0;
}
