// S3Store: asking the store where a model is (one HEAD per archive form, at
// once; else one listing), and the paginated index of model names.
#include <algorithm>
#include <array>
#include <future>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/model_name.h"
#include "common/status_macros.h"
#include "store/archive.h"
#include "store/s3/s3_store.h"
#include "store/s3/s3_wire.h"

namespace modelmux {
namespace {

absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

using HeadResults = std::array<absl::StatusOr<S3Object>, kArchiveFormats.size()>;

// One HEAD per archive form, sent at once: a cold load pays one round trip
// whichever form the model has. The first form's HEAD runs on this thread.
HeadResults HeadEveryForm(const S3Client& client, const std::string& stem, const CallContext& call) {
  HeadResults results;
  std::array<std::future<absl::StatusOr<S3Object>>, kArchiveFormats.size()> others;
  auto head = [&client, &stem, &call](size_t i) {
    return client.Head(absl::StrCat(stem, View(ArchiveSuffix(kArchiveFormats[i]))), call);
  };
  for (size_t i = 1; i < kArchiveFormats.size(); ++i) {
    try {
      others[i] = std::async(std::launch::async, head, i);
    } catch (const std::system_error&) {
      // No thread to spare: this form's HEAD runs after the first.
    }
  }
  results[0] = head(0);
  for (size_t i = 1; i < kArchiveFormats.size(); ++i)
    results[i] = others[i].valid() ? others[i].get() : head(i);
  return results;
}

}  // namespace

absl::StatusOr<std::vector<S3Object>> S3Store::ListAll(const std::string& prefix,
                                                       const CallContext& call) const {
  std::vector<S3Object> all;
  std::string token;
  do {
    ASSIGN_OR_RETURN(S3ListPage page,
                     options_.client->List(prefix, "", token, options_.list_page_size, call));
    for (S3Object& object : page.objects) all.push_back(std::move(object));
    token = std::move(page.next_continuation_token);
  } while (!token.empty());
  return all;
}

absl::StatusOr<S3Store::Located> S3Store::Find(std::string_view name, const CallContext& call) const {
  Located located;
  located.info.name = std::string(name);
  const std::string stem = absl::StrCat(KeyPrefix(), View(name));
  // In precedence order: a form that cannot be asked about hides the ones after it.
  for (absl::StatusOr<S3Object>& head : HeadEveryForm(*options_.client, stem, call)) {
    if (absl::IsNotFound(head.status())) continue;
    if (!head.ok()) return head.status();
    located.object = *std::move(head);
    located.info.bytes = located.object.size;
    located.info.version = located.object.etag;
    options_.cache->NoteStoreVersion(name, located.info.version);
    return located;
  }
  const std::string dir_prefix = stem + "/";
  ASSIGN_OR_RETURN(located.files, ListAll(dir_prefix, call));
  if (located.files.empty()) {
    if (options_.metrics != nullptr) options_.metrics->CountStoreError("not_found");
    options_.cache->NoteStoreVersion(name, "");
    return absl::NotFoundError(absl::StrCat("model '", View(name), "' not found in store ", Describe(),
                                            " (no ", stem, ".tar.zst, .tar, .tar.gz and no ", dir_prefix,
                                            ")"));
  }
  located.archive = false;
  std::string listing;
  for (const S3Object& file : located.files) {
    located.info.bytes += file.size;
    absl::StrAppend(&listing, file.key, "\n", file.etag, "\n");
  }
  located.info.version = absl::StrCat("files-", s3_internal::Md5Hex(listing));
  options_.cache->NoteStoreVersion(name, located.info.version);
  return located;
}

absl::StatusOr<ModelListPage> S3Store::List(std::string_view page_token, int page_size,
                                            const CallContext& call) const {
  RETURN_IF_ERROR(ValidatePageToken(page_token));
  // Another caller may be refreshing the index from a slow store: wait for it
  // no longer than this call may take.
  std::unique_lock<std::timed_mutex> lock(index_mu_, std::defer_lock);
  if (call.deadline.is_never()) {
    lock.lock();
  } else if (!lock.try_lock_until(call.deadline.when())) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline passed waiting for another listing of ", Describe(), " to finish"));
  }
  RETURN_IF_ERROR(call.Check(absl::StrCat("listing ", Describe())));
  RETURN_IF_ERROR(RefreshIndex(call));
  return PageOfSortedNames(index_names_, page_token, page_size, kMaxPageSize);
}

absl::Status S3Store::RefreshIndex(const CallContext& call) const {
  const absl::Time now = absl::Now();
  if (now - index_built_at_ < options_.index_max_age) return absl::OkStatus();
  std::vector<std::string> names;
  const std::string prefix = KeyPrefix();
  std::string token;
  do {
    ASSIGN_OR_RETURN(S3ListPage page,
                     options_.client->List(prefix, "/", token, options_.list_page_size, call));
    // A listing that names keys outside the prefix (a broken or hostile
    // server) contributes nothing rather than an out-of-range substring.
    for (const S3Object& object : page.objects) {
      if (!absl::StartsWith(object.key, prefix)) continue;
      const absl::string_view key = View(object.key).substr(prefix.size());
      for (ArchiveFormat format : kArchiveFormats) {
        absl::string_view name = key;
        if (absl::ConsumeSuffix(&name, View(ArchiveSuffix(format)))) {
          if (ValidateModelName(std::string(name)).ok()) names.emplace_back(name);
          break;
        }
      }
    }
    for (const std::string& common : page.common_prefixes) {
      if (!absl::StartsWith(common, prefix)) continue;
      absl::string_view name = absl::StripSuffix(View(common).substr(prefix.size()), "/");
      if (ValidateModelName(std::string(name)).ok()) names.emplace_back(name);
    }
    token = std::move(page.next_continuation_token);
  } while (!token.empty());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  index_names_ = std::move(names);
  index_built_at_ = now;
  return absl::OkStatus();
}

}  // namespace modelmux
