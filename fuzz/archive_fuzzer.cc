// Fuzzes the unpacker of `<name>.tar`, `.tar.zst` and `.tar.gz` artifacts,
// whose bytes come from a store that may hold uploads from many tenants, both
// ways the stores use it: UnpackArchive (a file, the local store) and
// UnpackArchiveStream (blocks handed over while downloading, the S3 store).
//
// Input: bytes starting with the gzip magic (1f 8b) or the zstd magic
// (28 b5 2f fd) are the compressed file as it is. Anything else is an
// uncompressed tar: the harness first sets the header checksum of every
// header block it finds by walking the block structure, so that mutations
// reach the entry types, names and sizes instead of dying at the checksum.
//
// Each input is unpacked, as the stores do (hoisting a single top-level
// directory, with a 1 MiB cap), into `<sandbox>/a/b/c/run/dest`, first from
// the archive file at `<sandbox>/in.tar.gz`, then again from memory in blocks
// whose size depends on the input's length (1 to 4096 bytes), so block
// boundaries fall everywhere. Checks after each unpack:
//   - nothing appeared anywhere in the sandbox outside `dest` (a "../" or a
//     link that escaped would land there; the staging directory of the hoist
//     must be gone too);
//   - on success `dest` holds only regular files and directories, none
//     setuid/setgid/sticky or executable, within the byte cap;
//   - on failure `dest` is gone and the error is DataLoss (the archive's
//     fault) or Internal (a local I/O failure such as a name too long);
//   - both ways give the same verdict (the same status code).
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "store/archive.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxUnpackedBytes = int64_t{1} << 20;
constexpr size_t kBlock = 512;

// The size field of a tar header (octal; base-256 when the high bit is set).
uint64_t HeaderSize(const uint8_t* header) {
  const uint8_t* field = header + 124;
  uint64_t size = 0;
  if (field[0] & 0x80) {
    for (int i = 1; i < 12; ++i) size = (size << 8) | field[i];
    return size;
  }
  for (int i = 0; i < 12 && field[i] >= '0' && field[i] <= '7'; ++i) size = size * 8 + (field[i] - '0');
  return size;
}

// Writes a valid checksum into every header block found by skipping each
// entry's data; stops where the walk leaves the input.
void FixChecksums(std::vector<uint8_t>& tar) {
  for (size_t offset = 0; offset + kBlock <= tar.size();) {
    uint8_t* header = tar.data() + offset;
    std::memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < kBlock; ++i) sum += header[i];
    if (sum == 8 * ' ') {  // an all-zero block: the end-of-archive marker
      std::memset(header + 148, 0, 8);
      offset += kBlock;
      continue;
    }
    char digits[8];
    std::snprintf(digits, sizeof(digits), "%06o", sum & 0777777);
    std::memcpy(header + 148, digits, 7);  // six digits and a NUL, then the space
    const uint64_t size = HeaderSize(header);
    if (size > tar.size()) return;
    offset += kBlock + (size + kBlock - 1) / kBlock * kBlock;
  }
}

// Hands `bytes` out in blocks of `block` bytes.
class BlockStream : public ByteStream {
 public:
  BlockStream(const std::vector<uint8_t>& bytes, size_t block) : bytes_(bytes), block_(block) {}
  absl::StatusOr<std::string_view> Next() override {
    const size_t n = std::min(block_, bytes_.size() - offset_);
    std::string_view out(reinterpret_cast<const char*>(bytes_.data()) + offset_, n);
    offset_ += n;
    return out;
  }

 private:
  const std::vector<uint8_t>& bytes_;
  const size_t block_;
  size_t offset_ = 0;
};

class Sandbox {
 public:
  Sandbox() {
    const char* tmp = std::getenv("TMPDIR");
    std::string root =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/modelmux-archive-fuzz-XXXXXX";
    FUZZ_CHECK(::mkdtemp(root.data()) != nullptr, "cannot create the sandbox");
    root_ = root;
    run_ = root_ / "a" / "b" / "c" / "run";
    archive_ = root_ / "in.tar.gz";
    expected_ = {root_ / "a", root_ / "a" / "b", root_ / "a" / "b" / "c", run_, archive_};
  }
  ~Sandbox() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  void Run(const std::vector<uint8_t>& archive_bytes) const {
    std::error_code ec;
    fs::create_directories(run_, ec);
    FUZZ_CHECK(!ec, "cannot create the run directory");
    {
      std::ofstream out(archive_, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(archive_bytes.data()),
                static_cast<std::streamsize>(archive_bytes.size()));
      FUZZ_CHECK(out.good(), "cannot write the archive");
    }
    const fs::path dest = run_ / "dest";
    UnpackOptions options;
    options.max_unpacked_bytes = kMaxUnpackedBytes;
    options.hoist_single_top_level_dir = true;
    const absl::Status from_file = UnpackArchive(archive_, dest, options);
    Check(from_file, dest);
    fs::remove_all(dest, ec);
    FUZZ_CHECK(!ec, "cannot clean the destination");
    BlockStream stream(archive_bytes, 1 + (archive_bytes.size() * 2654435761u) % 4096);
    const absl::Status from_stream = UnpackArchiveStream(stream, "in", dest, options);
    Check(from_stream, dest);
    FUZZ_CHECK(from_file.code() == from_stream.code(), "a file and a stream of it get the same verdict");
    fs::remove_all(run_, ec);
    FUZZ_CHECK(!ec, "cannot clean the run directory");
  }

 private:
  void Check(const absl::Status& status, const fs::path& dest) const {
    std::error_code ec;
    if (!status.ok()) {
      FUZZ_CHECK(absl::IsDataLoss(status) || absl::IsInternal(status),
                 "a bad archive is DataLoss or Internal");
      FUZZ_CHECK(!fs::exists(fs::symlink_status(dest, ec)), "a failed unpack leaves nothing behind");
    }
    CheckNothingEscaped(dest);
  }

  void CheckNothingEscaped(const fs::path& dest) const {
    const std::string dest_prefix = dest.string() + "/";
    int64_t bytes = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& path = it->path();
      if (expected_.count(path) != 0) continue;
      const bool inside = path == dest || path.string().rfind(dest_prefix, 0) == 0;
      if (!inside) std::fprintf(stderr, "unexpected path after unpacking: %s\n", path.c_str());
      FUZZ_CHECK(inside, "the archive wrote outside its destination");
      struct stat st;
      FUZZ_CHECK(::lstat(path.c_str(), &st) == 0, "cannot stat an unpacked path");
      FUZZ_CHECK(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode), "only regular files and directories");
      FUZZ_CHECK((st.st_mode & 07000) == 0, "no setuid, setgid or sticky bit");
      if (S_ISREG(st.st_mode)) {
        FUZZ_CHECK((st.st_mode & 0111) == 0, "no executable file");
        bytes += st.st_size;
      }
    }
    FUZZ_CHECK(!ec, "cannot walk the sandbox");
    FUZZ_CHECK(bytes <= kMaxUnpackedBytes, "the unpacked size stays within the cap");
  }

  fs::path root_;
  fs::path run_;
  fs::path archive_;
  std::set<fs::path> expected_;
};

}  // namespace
}  // namespace modelmux

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelmux;
  static const Sandbox sandbox;
  std::vector<uint8_t> bytes(data, data + size);
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const bool zstd = size >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd;
  if (!gzip && !zstd) FixChecksums(bytes);
  sandbox.Run(bytes);
  return 0;
}
