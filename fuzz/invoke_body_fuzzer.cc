// Fuzzes the decoder of SageMaker invoke bodies (POST /models/{m}/invoke,
// POST /invocations): {"text"}, {"instances"}, "top_k", or a V2 body with
// "inputs".
//
// Checks: a body the decoder refuses is an InvalidArgument (a 400, never a
// 500) whose message the server can send back as a readable JSON error; a
// body it accepts holds texts or tensors within the documented bounds
// (1..1024 instances, top_k 0..1000, tensors whose data fills their shape).
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/http/codec.h"
#include "frontend/http/json_writer.h"
#include "fuzz_support.h"
#include "nlohmann/json.hpp"

namespace modelmux {
namespace {

// What the server answers for a refused body must be JSON {"error": "..."}
// even when the message quotes raw bytes of the request.
void CheckErrorBody(const absl::Status& status) {
  const std::string message = fuzz::Message(status);
  FUZZ_CHECK(!message.empty(), "an error says what is wrong");
  const nlohmann::json body =
      nlohmann::json::parse(JsonErrorBody(message), nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(body.is_object() && body.contains("error") && body["error"].is_string(),
             "the error body is a JSON object with a string 'error'");
}

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  std::string body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<DecodedInfer> decoded = DecodeInvokeBody(body);
  if (!decoded.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(decoded.status()), "a refused body is a 400");
    CheckErrorBody(decoded.status());
    return 0;
  }
  FUZZ_CHECK(decoded->top_k >= 0 && decoded->top_k <= kMaxTopK, "top_k within 0..1000");
  if (decoded->v2) {
    FUZZ_CHECK(!decoded->tensors.empty() && decoded->texts.empty(), "a V2 body holds tensors only");
    for (const Tensor& t : decoded->tensors) {
      FUZZ_CHECK(t.ElementCount() >= 0 && t.StoredCount() == t.ElementCount(), "data fills the shape");
    }
  } else {
    FUZZ_CHECK(!decoded->texts.empty() && decoded->texts.size() <= kMaxInstances, "1..1024 texts");
    FUZZ_CHECK(decoded->tensors.empty(), "a text body holds texts only");
  }
  return 0;
}
