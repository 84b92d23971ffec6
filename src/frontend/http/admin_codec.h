// Decoding of the small admin bodies: SageMaker `POST /models` and the KServe
// V2 repository calls. Errors are InvalidArgument naming the field.
//
// Thread-safe (each thread decodes with its own parser).
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace modelmux {

// SageMaker `POST /models`: {"model_name": "...", "url": "..."}, both required.
struct RegisterModelBody {
  std::string model_name;
  std::string url;
};
absl::StatusOr<RegisterModelBody> DecodeRegisterModelBody(std::string& body);

// `POST /v2/repository/models/{m}/load`: optional body
// {"parameters": {"pin": true|false}}; nullopt when "pin" is not given.
absl::StatusOr<std::optional<bool>> DecodeRepositoryLoadBody(std::string& body);

// `POST /v2/repository/index`: optional body {"ready": true|false}; false when absent.
absl::StatusOr<bool> DecodeRepositoryIndexBody(std::string& body);

}  // namespace modelmux
