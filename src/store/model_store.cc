#include "store/model_store.h"

#include <system_error>

#include "spdlog/spdlog.h"

namespace modelmux {

LocalArtifact::~LocalArtifact() {
  if (!remove_on_destroy_ || dir_.empty()) return;
  // A destructor must not throw: use the error_code overload, and keep even
  // the logging (which allocates) inside the try.
  try {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec) spdlog::warn("cannot remove temporary artifact directory {}: {}", dir_.string(), ec.message());
  } catch (...) {
  }
}

}  // namespace modelmux
