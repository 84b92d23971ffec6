// Fuzzes the readers of the --preload file and of the warm-restart state
// file (server/warm_state.cc): the input is written to a file and read back
// with ReadPreloadList (kReject, an operator's file) and ReadWarmState (kSkip,
// a state file that may have been damaged).
//
// Checks: every entry read names a valid model (the name rule, checked
// independently), so a list can never make the server touch a path; a
// refused operator file is an InvalidArgument naming the file and line; a
// state file is never refused (a damaged one costs warmth, not the start),
// and when the operator reading accepts a file, both readings agree.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "server/warm_state.h"
#include "spdlog/spdlog.h"

namespace modelmux {
namespace {

// One file per process, rewritten for each input; removed at exit.
class ScratchFile {
 public:
  ScratchFile() {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/modelmux-preload-fuzz-XXXXXX";
    const int fd = ::mkstemp(path_.data());
    FUZZ_CHECK(fd >= 0, "cannot create a scratch file");
    ::close(fd);
  }
  ~ScratchFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void CheckEntries(const std::vector<PreloadEntry>& entries) {
  for (const PreloadEntry& entry : entries) {
    FUZZ_CHECK(fuzz::IsModelName(entry.name), "every entry names a valid model");
  }
}

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);  // kSkip warns per bad line
  static const ScratchFile scratch;
  (void)quiet;
  const ScratchFile* file = &scratch;
  {
    std::ofstream out(file->path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    FUZZ_CHECK(out.good(), "cannot write the scratch file");
  }
  absl::StatusOr<std::vector<PreloadEntry>> strict = ReadPreloadList(file->path(), MalformedLine::kReject);
  absl::StatusOr<std::vector<PreloadEntry>> lenient = ReadWarmState(file->path());
  FUZZ_CHECK(lenient.ok(), "a state file that exists is never refused");
  CheckEntries(*lenient);
  if (!strict.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(strict.status()), "a bad preload file is InvalidArgument");
    FUZZ_CHECK(fuzz::Message(strict.status()).find(file->path() + ":") == 0, "the error names file and line");
    return 0;
  }
  CheckEntries(*strict);
  FUZZ_CHECK(strict->size() == lenient->size(), "both readings agree on a good file");
  for (size_t i = 0; i < strict->size(); ++i) {
    FUZZ_CHECK((*strict)[i].name == (*lenient)[i].name && (*strict)[i].pin == (*lenient)[i].pin,
               "both readings agree on a good file");
  }
  return 0;
}
