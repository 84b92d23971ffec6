// UnpackArchiveStream: archives of every form handed over in blocks of
// awkward sizes, hostile archives through the stream, a stream that fails
// part-way, and sparse entries counted at their full size.
#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/archive.h"
#include "store/store_test_util.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::modelmux::testing::ListDir;
using ::modelmux::testing::RawEntry;
using ::modelmux::testing::RawFile;
using ::modelmux::testing::RawHardlink;
using ::modelmux::testing::RawSymlink;
using ::modelmux::testing::ReadFile;
using ::modelmux::testing::TempDir;
using ::modelmux::testing::WriteFile;
using ::modelmux::testing::WriteRawTarGz;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// Hands `bytes` out in blocks of `block` bytes (the last may be shorter); after
// `fail_after` bytes (if set) answers `failure` instead.
class ChunkedStream : public ByteStream {
 public:
  ChunkedStream(std::string bytes, size_t block) : bytes_(std::move(bytes)), block_(block) {}

  void FailAfter(size_t offset, absl::Status failure) {
    fail_after_ = offset;
    failure_ = std::move(failure);
  }
  size_t handed_out() const { return offset_; }

  absl::StatusOr<std::string_view> Next() override {
    if (offset_ >= fail_after_) return failure_;
    const size_t end = std::min({offset_ + block_, bytes_.size(), fail_after_});
    std::string_view out(bytes_.data() + offset_, end - offset_);
    offset_ = end;
    return out;
  }

 private:
  std::string bytes_;
  size_t block_;
  size_t offset_ = 0;
  size_t fail_after_ = std::string::npos;
  absl::Status failure_;
};

class ArchiveStreamTest : public ::testing::TestWithParam<size_t> {
 protected:
  fs::path dest() const { return tmp_.path() / "out"; }

  // A model directory (incompressible weights, like float tensors) as an
  // archive of `format`, read back as bytes.
  std::string ModelArchive(ArchiveFormat format) {
    const fs::path src = tmp_.path() / "src";
    WriteFile(src / "config.json", R"({"backend": "torchscript"})");
    WriteFile(src / "model.pt", RandomBytes(700 * 1024, 1));
    WriteFile(src / "sub" / "labels.txt", "a\nb\n");
    const fs::path archive = tmp_.path() / ("m" + std::string(ArchiveSuffix(format)));
    EXPECT_TRUE(WriteArchive(src, archive, format).ok());
    return ReadFile(archive);
  }

  std::string RawArchive(const std::vector<RawEntry>& entries) {
    const fs::path archive = tmp_.path() / "raw.tar.gz";
    WriteRawTarGz(archive, entries);
    return ReadFile(archive);
  }

  TempDir tmp_;
};

TEST_P(ArchiveStreamTest, EveryFormUnpacksFromBlocksOfAnySize) {
  for (ArchiveFormat format : kArchiveFormats) {
    ChunkedStream stream(ModelArchive(format), GetParam());
    const absl::Status status = UnpackArchiveStream(stream, "m", dest(), {});
    ASSERT_TRUE(status.ok()) << ArchiveSuffix(format) << ": " << status;
    EXPECT_THAT(ListDir(dest()), ElementsAre("config.json", "model.pt", "sub"));
    EXPECT_EQ(ReadFile(dest() / "model.pt"), RandomBytes(700 * 1024, 1));
    EXPECT_EQ(ReadFile(dest() / "sub" / "labels.txt"), "a\nb\n");
    fs::remove_all(dest());
  }
}

TEST_P(ArchiveStreamTest, HostileEntriesAreRefusedAndLeaveNothing) {
  const std::vector<std::pair<std::vector<RawEntry>, std::string>> cases = {
      {{RawFile("config.json", "{}"), RawFile("../evil", "pwned")}, "../evil"},
      {{RawFile("/tmp/modelmux-evil", "pwned")}, "/tmp/modelmux-evil"},
      {{RawFile("config.json", "{}"), RawSymlink("link", "/etc/passwd")}, "link"},
      {{RawFile("config.json", "{}"), RawHardlink("copy", "config.json")}, "copy"},
  };
  for (const auto& [entries, name] : cases) {
    ChunkedStream stream(RawArchive(entries), GetParam());
    const absl::Status status = UnpackArchiveStream(stream, "s3://models/m.tar.gz", dest(), {});
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(status.message(), HasSubstr("s3://models/m.tar.gz: archive entry '" + name + "'"));
    EXPECT_FALSE(fs::exists(dest()));
    EXPECT_FALSE(fs::exists(tmp_.path() / "evil"));
  }
}

TEST_P(ArchiveStreamTest, SizeCapHoldsWhileStreaming) {
  ChunkedStream stream(RawArchive({RawFile("a", std::string(600, 'a')), RawFile("b", std::string(400, 'b'))}),
                       GetParam());
  UnpackOptions options;
  options.max_unpacked_bytes = 999;
  const absl::Status status = UnpackArchiveStream(stream, "m", dest(), options);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("'b' takes the unpacked size over the limit"));
  EXPECT_FALSE(fs::exists(dest()));
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, ArchiveStreamTest, ::testing::Values(1, 7, 511, 4096, 65537, 1 << 22));

class ArchiveStreamFailureTest : public ::testing::Test {
 protected:
  fs::path dest() const { return tmp_.path() / "out"; }
  TempDir tmp_;
};

TEST_F(ArchiveStreamFailureTest, TheStreamsErrorEndsTheUnpackAsIs) {
  const fs::path src = tmp_.path() / "src";
  WriteFile(src / "config.json", "{}");
  WriteFile(src / "model.pt", RandomBytes(300 * 1024, 2));
  ASSERT_TRUE(WriteArchive(src, tmp_.path() / "m.tar", ArchiveFormat::kTar).ok());
  for (size_t cut : {size_t{0}, size_t{100}, size_t{150 * 1024}}) {
    ChunkedStream stream(ReadFile(tmp_.path() / "m.tar"), 4096);
    stream.FailAfter(cut, absl::UnavailableError("GET s3://models/m.tar: connection reset"));
    const absl::Status status = UnpackArchiveStream(stream, "s3://models/m.tar", dest(), {});
    EXPECT_EQ(status, absl::UnavailableError("GET s3://models/m.tar: connection reset")) << cut;
    EXPECT_FALSE(fs::exists(dest()));
  }
}

TEST_F(ArchiveStreamFailureTest, AnEndTooEarlyIsDataLoss) {
  const fs::path src = tmp_.path() / "src";
  WriteFile(src / "model.pt", RandomBytes(300 * 1024, 3));
  ASSERT_TRUE(WriteArchive(src, tmp_.path() / "m.tar.zst", ArchiveFormat::kTarZstd).ok());
  std::string bytes = ReadFile(tmp_.path() / "m.tar.zst");
  bytes.resize(bytes.size() / 2);
  ChunkedStream stream(bytes, 1000);
  const absl::Status status = UnpackArchiveStream(stream, "m.tar.zst", dest(), {});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_FALSE(fs::exists(dest()));
}

TEST_F(ArchiveStreamFailureTest, GarbageIsDataLoss) {
  ChunkedStream stream(RandomBytes(10000, 4), 333);
  const absl::Status status = UnpackArchiveStream(stream, "m.tar", dest(), {});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("m.tar: "));
  EXPECT_FALSE(fs::exists(dest()));
}

// A pax archive holding one sparse file: `data` at offset 0 of a file whose
// apparent size is `size`.
std::string SparseArchive(const std::string& data, int64_t size) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  std::string out(1 << 20, '\0');
  size_t used = 0;
  archive_write_open_memory(a, out.data(), out.size(), &used);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "model.pt");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, size);
  archive_entry_sparse_add_entry(e, 0, static_cast<la_int64_t>(data.size()));
  archive_write_header(a, e);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

TEST_F(ArchiveStreamFailureTest, SparseEntriesCountAtTheirFullSize) {
  const std::string archive = SparseArchive(std::string(4096, 'w'), 2 << 20);
  UnpackOptions options;
  options.max_unpacked_bytes = 1 << 20;
  ChunkedStream refused(archive, 512);
  EXPECT_EQ(UnpackArchiveStream(refused, "m.tar", dest(), options).code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(fs::exists(dest()));

  options.max_unpacked_bytes = 3 << 20;
  ChunkedStream accepted(archive, 512);
  ASSERT_TRUE(UnpackArchiveStream(accepted, "m.tar", dest(), options).ok());
  EXPECT_EQ(fs::file_size(dest() / "model.pt"), uintmax_t{2} << 20);
  EXPECT_EQ(ReadFile(dest() / "model.pt").substr(0, 4097), std::string(4096, 'w') + '\0');
}

}  // namespace
}  // namespace modelmux
