// Fuzzes the SageMaker `POST /models` body, {"model_name", "url"}, the way
// sagemaker_routes.cc reads it: DecodeRegisterModelBody, then the url mapped
// to an artifact of the configured store by ArtifactNameFromUrl, for a local
// store root and an S3 one. The same bytes also go through the two V2
// repository body decoders (load {"parameters": {"pin"}}, index {"ready"}).
//
// Checks: refused bodies are InvalidArgument (400); a url never names
// anything but a valid artifact name of the store: whatever path, URI,
// "..", "%2e%2e" or scheme it holds, the name that comes out satisfies the
// model-name rule (so it cannot leave the store's directory or prefix), and
// a url outside the store is NotFound, never a location to fetch from.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/model_name.h"
#include "frontend/http/admin_codec.h"
#include "frontend/http/request_target.h"
#include "fuzz_support.h"

namespace modelmux {
namespace {

void CheckUrl(const std::string& url, std::string_view store_root) {
  absl::StatusOr<std::string> name = ArtifactNameFromUrl(url, store_root);
  if (!name.ok()) {
    FUZZ_CHECK(absl::IsNotFound(name.status()) || absl::IsInvalidArgument(name.status()),
               "a url the store cannot serve is 404 or 400");
    return;
  }
  FUZZ_CHECK(fuzz::IsModelName(*name), "a url maps only to a valid model name");
  FUZZ_CHECK(url.find(*name) != std::string::npos, "the name is taken from the url, never invented");
}

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string body = input;
  absl::StatusOr<RegisterModelBody> decoded = DecodeRegisterModelBody(body);
  if (decoded.ok()) {
    FUZZ_CHECK(ValidateModelName(decoded->model_name).ok() == fuzz::IsModelName(decoded->model_name),
               "ValidateModelName disagrees with the name rule");
    for (std::string_view root : {"/srv/models", "file:///srv/models/", "s3://acme-models/tenants", "/"}) {
      CheckUrl(decoded->url, root);
    }
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(decoded.status()), "a refused body is a 400");
  }
  // The raw input as a url too: most inputs are not JSON with a "url".
  CheckUrl(input, "/srv/models");

  body = input;
  absl::StatusOr<std::optional<bool>> pin = DecodeRepositoryLoadBody(body);
  FUZZ_CHECK(pin.ok() || absl::IsInvalidArgument(pin.status()), "a refused load body is a 400");
  body = input;
  absl::StatusOr<bool> ready = DecodeRepositoryIndexBody(body);
  FUZZ_CHECK(ready.ok() || absl::IsInvalidArgument(ready.status()), "a refused index body is a 400");
  return 0;
}
