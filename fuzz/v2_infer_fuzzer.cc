// Fuzzes the KServe V2 infer body decoder (POST /v2/models/{m}/infer): the
// "inputs" tensors (v2_tensor_decoder.cc), "parameters", "id".
//
// Checks: a refused body is an InvalidArgument (400) with a message; an
// accepted body's tensors fill their shapes and pass CheckTensorAgainstSpec
// for a spec of their own name, type and shape (with the first dimension
// variable too); and the tensors survive a round trip through the response
// encoder: EncodeV2Tensors writes them as "outputs", and decoding those
// gives back the same names, types, shapes and values.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "frontend/http/codec.h"
#include "frontend/http/json_reader.h"
#include "frontend/http/v2_tensor_decoder.h"
#include "fuzz_support.h"
#include "tensor_checks.h"

namespace modelmux {
namespace {

void CheckAgainstOwnSpec(const Tensor& t) {
  TensorSpec spec{t.name, t.dtype, t.shape};
  FUZZ_CHECK(CheckTensorAgainstSpec(t, spec).ok(), "a decoded tensor matches its own spec");
  if (!spec.shape.empty()) {
    spec.shape[0] = -1;
    FUZZ_CHECK(CheckTensorAgainstSpec(t, spec).ok(), "a variable first dimension accepts any size");
  }
}

void CheckRoundTrip(const DecodedInfer& decoded) {
  std::string encoded = EncodeV2Tensors("m", decoded.id, decoded.tensors);
  absl::StatusOr<simdjson::dom::object> root = ParseJsonObject(encoded);
  FUZZ_CHECK(root.ok(), "the encoder writes valid JSON");
  simdjson::dom::element outputs;
  FUZZ_CHECK((*root)["outputs"].get(outputs) == simdjson::SUCCESS, "the answer has 'outputs'");
  if (decoded.id.has_value()) {
    std::string_view id;
    FUZZ_CHECK((*root)["id"].get_string().get(id) == simdjson::SUCCESS && id == *decoded.id,
               "the id is echoed unchanged");
  }
  std::vector<Tensor> again;
  std::vector<int64_t> binary_sizes;
  const absl::Status status = ReadV2Inputs(outputs, again, binary_sizes);
  if (!status.ok()) std::fprintf(stderr, "re-decoding the answer: %s\n", fuzz::Message(status).c_str());
  FUZZ_CHECK(status.ok(), "the encoder's tensors decode again");
  FUZZ_CHECK(again.size() == decoded.tensors.size(), "as many tensors come back");
  for (int64_t size : binary_sizes) FUZZ_CHECK(size == -1, "a JSON answer carries no binary data");
  for (size_t i = 0; i < again.size(); ++i) {
    const Tensor& a = decoded.tensors[i];
    const Tensor& b = again[i];
    FUZZ_CHECK(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape, "name, type and shape survive");
    FUZZ_CHECK(fuzz::SameValues(a, b), "values survive the round trip");
  }
}

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  std::string body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<DecodedInfer> decoded = DecodeV2InferBody(body);
  if (!decoded.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(decoded.status()), "a refused body is a 400");
    FUZZ_CHECK(!decoded.status().message().empty(), "an error says what is wrong");
    return 0;
  }
  FUZZ_CHECK(decoded->v2 && !decoded->tensors.empty(), "a V2 body holds tensors");
  FUZZ_CHECK(decoded->top_k >= 0 && decoded->top_k <= kMaxTopK, "top_k within 0..1000");
  for (const Tensor& t : decoded->tensors) {
    FUZZ_CHECK(t.ElementCount() >= 0 && t.StoredCount() == t.ElementCount(), "data fills the shape");
    CheckAgainstOwnSpec(t);
  }
  CheckRoundTrip(*decoded);
  return 0;
}
