#include "server/warm_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/model_name.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

std::string WarmStatePath(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "loaded-models.txt").string();
}

std::string FormatWarmState(std::vector<ModelStatus> models) {
  std::erase_if(models, [](const ModelStatus& m) { return m.state != ModelState::kReady; });
  std::sort(models.begin(), models.end(), [](const ModelStatus& a, const ModelStatus& b) {
    if (a.pinned != b.pinned) return a.pinned;
    if (a.last_used != b.last_used) return a.last_used > b.last_used;
    return a.name < b.name;
  });
  std::string text =
      "# modelmux warm-restart state: loaded models, pinned first, then most recently used first\n";
  for (const ModelStatus& m : models) absl::StrAppend(&text, m.name, m.pinned ? " pin\n" : "\n");
  return text;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::filesystem::path target(path);
  std::error_code error;
  std::filesystem::create_directories(target.parent_path(), error);
  if (error)
    return absl::InternalError(
        absl::StrCat("cannot create ", target.parent_path().string(), ": ", error.message()));
  // Same directory as the target, so the rename cannot cross file systems.
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp);
  absl::Status status = WriteAll(fd, text, tmp);
  // fsync before rename: otherwise a power loss can leave an empty file
  // under the final name.
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError("cannot fsync", tmp);
  if (::close(fd) != 0 && status.ok()) status = ErrnoError("cannot close", tmp);
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0)
    status = ErrnoError("cannot rename to", path);
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

absl::StatusOr<std::vector<PreloadEntry>> ReadPreloadList(const std::string& path, MalformedLine malformed) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<PreloadEntry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string text = line.substr(0, line.find('#'));
    std::vector<std::string> words = absl::StrSplit(text, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    absl::Status valid = ValidateModelName(words[0]);
    if (valid.ok() && (words.size() > 2 || (words.size() == 2 && words[1] != "pin")))
      valid = absl::InvalidArgumentError(absl::StrCat("expected 'name' or 'name pin', got '", text, "'"));
    if (!valid.ok() && malformed == MalformedLine::kReject)
      return absl::InvalidArgumentError(absl::StrCat(path, ":", number, ": ", valid.message()));
    if (!valid.ok()) {
      spdlog::warn("{}:{}: skipping malformed line: {}", path, number, valid.ToString());
      continue;
    }
    entries.push_back({words[0], words.size() == 2});
  }
  return entries;
}

absl::StatusOr<std::vector<PreloadEntry>> ReadWarmState(const std::string& path) {
  absl::StatusOr<std::vector<PreloadEntry>> entries = ReadPreloadList(path, MalformedLine::kSkip);
  if (absl::IsNotFound(entries.status()))
    return absl::NotFoundError(absl::StrCat("no warm-restart state at ", path));
  return entries;
}

WarmStateWriter::WarmStateWriter(Options options) : options_(std::move(options)) {}

WarmStateWriter::~WarmStateWriter() { StopThread(); }

void WarmStateWriter::Start() {
  task_ = std::make_unique<PeriodicTask>(options_.interval, [this] {
    if (absl::Status status = WriteNow(); !status.ok())
      spdlog::warn("warm-restart state: {}", status.ToString());
  });
}

void WarmStateWriter::StopThread() {
  if (task_) task_->Stop();
}

absl::Status WarmStateWriter::WriteNow() {
  if (!options_.ready()) return absl::OkStatus();
  std::string text = FormatWarmState(options_.snapshot());
  std::lock_guard lock(write_mu_);
  if (written_once_ && text == last_written_) return absl::OkStatus();
  absl::Status status = WriteFileAtomically(options_.path, text);
  if (status.ok()) {
    last_written_ = std::move(text);
    written_once_ = true;
  }
  return status;
}

absl::Status WarmStateWriter::StopAndWrite() {
  StopThread();
  return WriteNow();
}

}  // namespace modelmux
