#include "store/disk_cache.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/model_name.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

constexpr char kMetaFile[] = ".modelmux-entry";
constexpr char kMetaMagic[] = "modelmux-disk-cache 1";

absl::Status IoError(std::string_view what, const fs::path& path, const std::error_code& ec) {
  return absl::InternalError(
      absl::StrCat(absl::string_view(what.data(), what.size()), " ", path.string(), ": ", ec.message()));
}

absl::StatusOr<fs::path> MakeTempDir(const fs::path& parent, std::string_view stem) {
  std::string dir_template =
      (parent / absl::StrCat(absl::string_view(stem.data(), stem.size()), "-XXXXXX")).string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a directory in ", parent.string(), ": ", std::strerror(errno)));
  }
  return fs::path(dir_template);
}

absl::StatusOr<int64_t> FilesBytes(const fs::path& dir) {
  std::error_code ec;
  int64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().filename() != kMetaFile) {
      total += static_cast<int64_t>(it->file_size(ec));
    }
  }
  if (ec) return IoError("cannot measure", dir, ec);
  return total;
}

absl::Status WriteMeta(const fs::path& dir, const std::string& version, int64_t bytes) {
  std::ofstream out(dir / kMetaFile, std::ios::trunc);
  out << kMetaMagic << "\nversion " << version << "\nbytes " << bytes << "\n";
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", (dir / kMetaFile).string()));
  return absl::OkStatus();
}

std::optional<DiskCache::EntryInfo> ReadMeta(const fs::path& dir) {
  std::ifstream in(dir / kMetaFile);
  std::string magic, version_line, bytes_line;
  if (!std::getline(in, magic) || !std::getline(in, version_line) || !std::getline(in, bytes_line)) {
    return std::nullopt;
  }
  DiskCache::EntryInfo info;
  if (magic != kMetaMagic || version_line.rfind("version ", 0) != 0 || bytes_line.rfind("bytes ", 0) != 0 ||
      !absl::SimpleAtoi(bytes_line.substr(6), &info.bytes)) {
    return std::nullopt;
  }
  info.version = version_line.substr(8);
  return info;
}

// Hard links where the filesystem allows (same device), copies otherwise.
absl::Status LinkTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path target = to / fs::relative(it->path(), from, ec);
    if (ec) break;
    if (it->is_directory(ec)) {
      fs::create_directories(target, ec);
    } else if (it->path().filename() != kMetaFile) {
      fs::create_hard_link(it->path(), target, ec);
      if (ec) {
        ec.clear();
        fs::copy_file(it->path(), target, ec);
      }
    }
    if (ec) return IoError("cannot copy", it->path(), ec);
  }
  if (ec) return IoError("cannot read", from, ec);
  return absl::OkStatus();
}

// Waits on `cv` until `ready()` holds, or until `call` stops (its error).
// Cancellation has no wake-up of its own, so it is polled.
template <typename Ready>
absl::Status WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, const CallContext& call,
                     std::string_view what, Ready ready) {
  constexpr std::chrono::milliseconds kPoll{50};
  while (!ready()) {
    RETURN_IF_ERROR(call.Check(what));
    cv.wait_until(lock, std::min(call.deadline.when(), Deadline::Clock::now() + kPoll));
  }
  return absl::OkStatus();
}

void RemoveAll(const std::vector<fs::path>& paths) {
  for (const fs::path& path : paths) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) spdlog::warn("disk cache: cannot remove {}: {}", path.string(), ec.message());
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DiskCache>> DiskCache::Create(const Options& options) {
  if (options.root.empty()) return absl::InvalidArgumentError("the disk cache needs a directory");
  if (options.budget_bytes < 0)
    return absl::InvalidArgumentError("the disk cache budget must not be negative");
  Options resolved = options;
  resolved.max_concurrent_fills = std::max(1, options.max_concurrent_fills);
  std::unique_ptr<DiskCache> cache(new DiskCache(std::move(resolved)));
  RETURN_IF_ERROR(cache->Scan());
  return cache;
}

DiskCache::~DiskCache() {
  std::error_code ignored;
  if (options_.remove_root_on_destroy) fs::remove_all(options_.root, ignored);
}

fs::path DiskCache::EntryDir(std::string_view name) const { return options_.root / "entries" / name; }

absl::Status DiskCache::Scan() {
  std::error_code ec;
  for (const char* sub : {"staging", "links"}) {
    fs::remove_all(options_.root / sub, ec);  // debris of a crash or an unclean stop
    if (ec) return IoError("cannot clear", options_.root / sub, ec);
  }
  for (const char* sub : {"entries", "staging", "links"}) {
    fs::create_directories(options_.root / sub, ec);
    if (ec) return IoError("cannot create", options_.root / sub, ec);
  }
  std::vector<std::pair<fs::file_time_type, std::string>> by_age;
  std::vector<fs::path> junk;
  std::lock_guard<std::mutex> lock(mu_);
  for (fs::directory_iterator it(options_.root / "entries", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::optional<EntryInfo> info = ReadMeta(it->path());
    if (!ValidateModelName(name).ok() || !info.has_value()) {
      junk.push_back(it->path());
      continue;
    }
    std::error_code mtime_ec;
    by_age.emplace_back(fs::last_write_time(it->path() / kMetaFile, mtime_ec), name);
    entries_[name] = Entry{info->version, info->bytes, 0, 0, std::chrono::steady_clock::time_point::min(), false};
    used_bytes_ += info->bytes;
  }
  if (ec) return IoError("cannot read", options_.root / "entries", ec);
  std::sort(by_age.begin(), by_age.end());
  for (const auto& [mtime, name] : by_age) entries_[name].last_use = ++tick_;
  EvictLocked(junk);
  PublishUsedLocked();
  RemoveAll(junk);
  spdlog::info("disk cache {}: {} artifacts, {} bytes (budget {})", options_.root.string(), entries_.size(),
               used_bytes_, options_.budget_bytes);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LocalArtifact>> DiskCache::Fetch(std::string_view name,
                                                                std::string_view version, const Filler& fill,
                                                                const CallContext& call) {
  const std::string key(name);
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && (version.empty() || it->second.version == version)) {
    ++it->second.pins;
    it->second.last_use = ++tick_;
    lock.unlock();
    if (options_.metrics != nullptr) options_.metrics->CountDiskCacheHit();
    std::error_code ignored;  // recency for the next start; not worth failing over
    fs::last_write_time(EntryDir(key) / kMetaFile, fs::file_time_type::clock::now(), ignored);
    return CopyPinned(key);
  }
  if (auto f = flights_.find(key); f != flights_.end()) {
    std::shared_ptr<Flight> flight = f->second;
    ++flight->waiters;
    absl::Status waited =
        WaitFor(lock, flight_done_, call, absl::StrCat("waiting for the download of '", key, "'"),
                [&] { return flight->done; });
    if (!waited.ok()) {
      --flight->waiters;  // not done, so Publish has not pinned the entry for us
      return waited;
    }
    if (!flight->status.ok()) return absl::Status(flight->status.code(), flight->status.message());
    lock.unlock();
    return CopyPinned(key);  // Publish pinned the entry for every waiter
  }
  auto flight = std::make_shared<Flight>();
  flights_[key] = flight;
  lock.unlock();
  if (options_.metrics != nullptr) options_.metrics->CountDiskCacheMiss();
  return RunFill(key, std::move(flight), fill, call);
}

absl::StatusOr<std::unique_ptr<LocalArtifact>> DiskCache::RunFill(const std::string& name,
                                                                  std::shared_ptr<Flight> flight,
                                                                  const Filler& fill,
                                                                  const CallContext& call) {
  absl::StatusOr<std::string> version = absl::InternalError("no fill ran");
  absl::StatusOr<fs::path> staged = MakeTempDir(options_.root / "staging", name);
  absl::Status slot = staged.ok() ? AcquireFillSlot(call) : absl::OkStatus();
  if (staged.ok() && !slot.ok()) {
    version = slot;
  } else if (staged.ok()) {
    try {
      version = fill(*staged);
    } catch (const std::exception& e) {
      version = absl::InternalError(absl::StrCat("downloading '", name, "' threw: ", e.what()));
    } catch (...) {
      version = absl::InternalError(absl::StrCat("downloading '", name, "' threw"));
    }
    ReleaseFillSlot();
  } else {
    version = staged.status();
  }
  absl::Status status = version.status();
  if (status.ok()) status = Publish(name, *staged, *version, /*pins=*/1);
  if (!status.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      flight->done = true;
      flight->status = absl::Status(status.code(), status.message());
      flights_.erase(name);
    }
    flight_done_.notify_all();
    if (staged.ok()) RemoveAll({*staged});
    return status;
  }
  return CopyPinned(name);
}

absl::Status DiskCache::Publish(const std::string& name, const fs::path& staged, const std::string& version,
                                int pins) {
  ASSIGN_OR_RETURN(const int64_t bytes, FilesBytes(staged));
  RETURN_IF_ERROR(WriteMeta(staged, version, bytes));  // last: an entry without it is debris
  std::vector<fs::path> doomed;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // A fetch copying the old version right now would lose its files: let it
    // finish (copies take milliseconds).
    copy_done_.wait(lock, [&] {
      auto old = entries_.find(name);
      return old == entries_.end() || old->second.pins == 0;
    });
    std::error_code ec;
    const fs::path target = EntryDir(name);
    if (auto old = entries_.find(name); old != entries_.end()) {
      const fs::path away = options_.root / "staging" / absl::StrCat("replaced-", ++doomed_serial_);
      fs::rename(target, away, ec);
      if (ec) return IoError("cannot replace", target, ec);
      doomed.push_back(away);
      used_bytes_ -= old->second.bytes;
      entries_.erase(old);
    }
    fs::rename(staged, target, ec);
    if (ec) return IoError("cannot publish", target, ec);
    auto flight = flights_.find(name);
    const int waiters = flight == flights_.end() ? 0 : flight->second->waiters;
    // Just downloaded: the store's version as of this fill.
    entries_[name] = Entry{version, bytes, ++tick_, pins + waiters, std::chrono::steady_clock::now(), false};
    used_bytes_ += bytes;
    if (flight != flights_.end()) {
      flight->second->done = true;
      flights_.erase(flight);
    }
    EvictLocked(doomed);
    PublishUsedLocked();
  }
  flight_done_.notify_all();
  RemoveAll(doomed);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LocalArtifact>> DiskCache::CopyPinned(const std::string& name) {
  std::string version;
  {
    // Pinned, so the entry cannot be replaced while it is copied.
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = entries_.find(name); it != entries_.end()) version = it->second.version;
  }
  absl::StatusOr<fs::path> dest = MakeTempDir(options_.root / "links", name);
  absl::Status linked = dest.ok() ? LinkTree(EntryDir(name), *dest) : dest.status();
  Unpin(name);
  if (!linked.ok()) {
    if (dest.ok()) RemoveAll({*dest});
    return linked;
  }
  auto artifact = std::make_unique<LocalArtifact>(*dest, /*remove_on_destroy=*/true);
  artifact->set_version(std::move(version));
  return artifact;
}

void DiskCache::Unpin(const std::string& name) {
  std::vector<fs::path> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it != entries_.end()) --it->second.pins;
    EvictLocked(doomed);
    PublishUsedLocked();
  }
  copy_done_.notify_all();
  RemoveAll(doomed);
}

void DiskCache::EvictLocked(std::vector<fs::path>& doomed) {
  while (used_bytes_ > options_.budget_bytes) {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.pins > 0) continue;
      if (victim == entries_.end() || it->second.last_use < victim->second.last_use) victim = it;
    }
    if (victim == entries_.end()) return;  // everything left is being copied
    // Renamed now, removed after the lock: a new fill may publish the name at once.
    const fs::path away = options_.root / "staging" / absl::StrCat("evicted-", ++doomed_serial_);
    std::error_code ec;
    fs::rename(EntryDir(victim->first), away, ec);
    if (!ec) doomed.push_back(away);
    spdlog::info("disk cache: evicted {} ({} bytes)", victim->first, victim->second.bytes);
    used_bytes_ -= victim->second.bytes;
    entries_.erase(victim);
    if (options_.metrics != nullptr) options_.metrics->CountDiskCacheEviction();
  }
}

void DiskCache::PublishUsedLocked() {
  if (options_.metrics != nullptr) options_.metrics->SetDiskCacheUsedBytes(used_bytes_);
}

std::optional<DiskCache::EntryInfo> DiskCache::Lookup(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  return EntryInfo{it->second.version, it->second.bytes, it->second.validated_at, it->second.stale};
}

void DiskCache::NoteStoreVersion(std::string_view name, std::string_view store_version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  if (!store_version.empty() && store_version == entry.version) {
    entry.validated_at = std::chrono::steady_clock::now();
    entry.stale = false;
  } else {
    entry.stale = true;
  }
}

int64_t DiskCache::used_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_bytes_;
}

absl::Status DiskCache::AcquireFillSlot(const CallContext& call) {
  std::unique_lock<std::mutex> lock(mu_);
  RETURN_IF_ERROR(WaitFor(
      lock, fill_slot_free_, call, "waiting for a download slot",
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return active_fills_ < options_.max_concurrent_fills; }));
  ++active_fills_;
  return absl::OkStatus();
}

void DiskCache::ReleaseFillSlot() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --active_fills_;
  }
  fill_slot_free_.notify_one();
}

}  // namespace modelmux
