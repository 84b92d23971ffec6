// Fuzzes what the HTTP front end does with a request target before any route
// runs: SplitTarget, MatchRoute, the query parameters the SageMaker routes
// read, and the decoding and validation of a model name taken from the path
// (route_call.cc's ModelNameFromPath is PercentDecode + ValidateModelName).
//
// Checks: a matched name is a non-empty view into the path with no '/'; only
// routes with a {name} capture one; every route has a template and an Allow
// list; percent-decoding never grows the text; the name validator agrees with
// an independent statement of the rule, so nothing that reaches a path
// (".", "..", "a/b", "") is ever accepted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/model_name.h"
#include "frontend/http/request_target.h"
#include "frontend/http/route_table.h"
#include "fuzz_support.h"

namespace modelmux {
namespace {

bool HasName(Route route) {
  switch (route) {
    case Route::kModel:
    case Route::kModelInvoke:
    case Route::kV2Model:
    case Route::kV2ModelReady:
    case Route::kV2ModelInfer:
    case Route::kV2RepositoryLoad:
    case Route::kV2RepositoryUnload:
      return true;
    default:
      return false;
  }
}

bool IsViewInto(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void CheckDecodedName(std::string_view raw) {
  absl::StatusOr<std::string> decoded = PercentDecode(raw, /*plus_is_space=*/false);
  if (!decoded.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(decoded.status()), "a bad escape is InvalidArgument");
    return;
  }
  FUZZ_CHECK(decoded->size() <= raw.size(), "percent-decoding never grows the text");
  if (raw.find('%') == std::string_view::npos) FUZZ_CHECK(*decoded == raw, "text without '%' is unchanged");
  const bool valid = ValidateModelName(*decoded).ok();
  FUZZ_CHECK(valid == fuzz::IsModelName(*decoded), "ValidateModelName disagrees with the name rule");
}

void CheckRoute(std::string_view path) {
  const RouteMatch match = MatchRoute(path);
  FUZZ_CHECK(!RouteTemplate(match.route).empty(), "every route has a template");
  FUZZ_CHECK(match.route == Route::kNone || !AllowedMethods(match.route).empty(), "a route allows a method");
  if (!HasName(match.route)) {
    FUZZ_CHECK(match.name.empty(), "only {name} routes capture a name");
    return;
  }
  FUZZ_CHECK(!match.name.empty(), "a captured name is never empty");
  FUZZ_CHECK(IsViewInto(match.name, path), "a captured name points into the path");
  FUZZ_CHECK(match.name.find('/') == std::string_view::npos, "a captured name is one path segment");
  CheckDecodedName(match.name);
}

void CheckQuery(std::string_view query) {
  for (std::string_view key : {"max_results", "next_page_token"}) {
    absl::StatusOr<std::optional<std::string>> value = FindQueryParam(query, key);
    if (!value.ok()) {
      FUZZ_CHECK(absl::IsInvalidArgument(value.status()), "a bad query escape is InvalidArgument");
      continue;
    }
    if (value->has_value())
      FUZZ_CHECK((*value)->size() <= query.size(), "a value is no longer than the query");
  }
}

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  const RequestTarget split = SplitTarget(target);
  FUZZ_CHECK(IsViewInto(split.path, target) && IsViewInto(split.query, target),
             "parts point into the target");
  FUZZ_CHECK(split.path.find_first_of("?#") == std::string_view::npos, "the path stops at '?' or '#'");
  FUZZ_CHECK(split.query.find('#') == std::string_view::npos, "the query stops at '#'");
  CheckRoute(split.path);
  CheckQuery(split.query);
  // The whole input as one name too: the decoder and validator see raw bytes.
  CheckDecodedName(target);
  return 0;
}
