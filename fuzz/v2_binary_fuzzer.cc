// Fuzzes the KServe V2 binary tensor data extension (POST /v2/models/{m}/infer
// with Inference-Header-Content-Length): the header's value, the JSON header
// with its 'binary_data_size' parameters, and the tensor data after it
// (v2_binary_data.cc, backend/tensor.cc's raw layout).
//
// Input: the header's value up to the first newline, then the body.
//
// Checks: a refused header or body is an InvalidArgument (400) with a
// message; an accepted body's tensors fill their shapes; and each tensor
// survives a round trip through the raw layout: RawTensorDataSize matches
// what AppendRawTensorData writes, and DecodeRawTensorData reads back the
// same values.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "backend/tensor.h"
#include "frontend/http/codec.h"
#include "frontend/http/v2_binary_data.h"
#include "fuzz_support.h"
#include "tensor_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view header = input.substr(0, newline);
  std::string body(input.substr(newline + 1));

  absl::StatusOr<std::optional<size_t>> json_size = ParseInferenceHeaderLength(header, body.size());
  if (!json_size.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(json_size.status()), "a refused header is a 400");
    FUZZ_CHECK(!json_size.status().message().empty(), "an error says what is wrong");
    return 0;
  }
  FUZZ_CHECK(!json_size->has_value() || (**json_size > 0 && **json_size <= body.size()),
             "the JSON header lies within the body");
  absl::StatusOr<DecodedInfer> decoded = DecodeV2InferBody(body, *json_size);
  if (!decoded.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(decoded.status()), "a refused body is a 400");
    FUZZ_CHECK(!decoded.status().message().empty(), "an error says what is wrong");
    return 0;
  }
  FUZZ_CHECK(decoded->v2 && !decoded->tensors.empty(), "a V2 body holds tensors");
  for (const Tensor& t : decoded->tensors) {
    FUZZ_CHECK(t.ElementCount() >= 0 && t.StoredCount() == t.ElementCount(), "data fills the shape");
    std::string raw;
    AppendRawTensorData(t, raw);
    FUZZ_CHECK(raw.size() == RawTensorDataSize(t), "the raw size is what is written");
    Tensor back;
    back.name = t.name;
    back.dtype = t.dtype;
    back.shape = t.shape;
    FUZZ_CHECK(DecodeRawTensorData(raw, back).ok(), "written raw data decodes again");
    FUZZ_CHECK(fuzz::SameValues(t, back), "values survive the raw layout");
  }
  return 0;
}
