#include "store/model_store.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/model_name.h"
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

absl::StatusOr<ArtifactInfo> ModelStore::Stat(std::string_view name, const CallContext& call) const {
  absl::StatusOr<std::unique_ptr<ArtifactSource>> source = Locate(name, call);
  if (!source.ok()) return source.status();
  return (*source)->info();
}

absl::Status ValidatePageToken(std::string_view page_token) {
  if (page_token.empty()) return absl::OkStatus();
  const absl::Status valid = ValidateModelName(page_token);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat("invalid page_token: ", valid.message()));
  return absl::OkStatus();
}

ModelListPage PageOfSortedNames(const std::vector<std::string>& sorted_names, std::string_view page_token,
                                int page_size, int max_page_size) {
  const size_t limit = static_cast<size_t>(std::clamp(page_size, 1, max_page_size));
  const auto begin = page_token.empty()
                         ? sorted_names.begin()
                         : std::upper_bound(sorted_names.begin(), sorted_names.end(), page_token);
  const size_t remaining = static_cast<size_t>(sorted_names.end() - begin);
  const size_t count = std::min(limit, remaining);
  ModelListPage page;
  page.names.assign(begin, begin + static_cast<std::ptrdiff_t>(count));
  if (count < remaining) page.next_page_token = page.names.back();
  return page;
}

}  // namespace modelmux
