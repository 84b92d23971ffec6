#include "store/archive.h"

#include <filesystem>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store_test_util.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::modelmux::testing::ListDir;
using ::modelmux::testing::RawDevice;
using ::modelmux::testing::RawDirectory;
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

std::string RandomBytes(size_t size) {
  std::mt19937 rng(42);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

class ArchiveTest : public ::testing::Test {
 protected:
  fs::path archive() const { return tmp_.path() / "model.tar.gz"; }
  fs::path dest() const { return tmp_.path() / "out"; }

  // Unpacks `entries` and expects DataLoss naming `entry`, with nothing left behind.
  void ExpectRejected(const std::vector<RawEntry>& entries, const std::string& entry) {
    WriteRawTarGz(archive(), entries);
    absl::Status status = UnpackArchive(archive(), dest(), {});
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(status.message(), HasSubstr("'" + entry + "'"));
    EXPECT_FALSE(fs::exists(dest()));
    EXPECT_THAT(ListDir(tmp_.path()), ElementsAre("model.tar.gz"));
  }

  TempDir tmp_;
};

TEST_F(ArchiveTest, RoundTripKeepsFilesAndSubdirectories) {
  const fs::path src = tmp_.path() / "src";
  WriteFile(src / "config.json", R"({"backend": "torchscript"})");
  WriteFile(src / "model.pt", RandomBytes(300 * 1024));
  WriteFile(src / "sub" / "labels.txt", "a\nb\n");
  fs::create_directories(src / "empty");

  ASSERT_TRUE(WriteTarGz(src, archive()).ok());
  ASSERT_TRUE(UnpackArchive(archive(), dest(), {}).ok());

  EXPECT_THAT(ListDir(dest()), ElementsAre("config.json", "empty", "model.pt", "sub"));
  EXPECT_EQ(ReadFile(dest() / "config.json"), R"({"backend": "torchscript"})");
  EXPECT_EQ(ReadFile(dest() / "model.pt"), RandomBytes(300 * 1024));
  EXPECT_EQ(ReadFile(dest() / "sub" / "labels.txt"), "a\nb\n");
  EXPECT_TRUE(fs::is_directory(dest() / "empty"));
}

TEST_F(ArchiveTest, WriteTarGzLeavesNoTemporaryFile) {
  WriteFile(tmp_.path() / "src" / "config.json", "{}");
  ASSERT_TRUE(WriteTarGz(tmp_.path() / "src", archive()).ok());
  EXPECT_THAT(ListDir(tmp_.path()), ElementsAre("model.tar.gz", "src"));
  EXPECT_EQ(fs::status(archive()).permissions() & fs::perms::others_read, fs::perms::others_read);
}

TEST_F(ArchiveTest, WriteTarGzRejectsSymlinkAndWritesNothing) {
  const fs::path src = tmp_.path() / "src";
  WriteFile(src / "config.json", "{}");
  fs::create_symlink("/etc/passwd", src / "link");
  absl::Status status = WriteTarGz(src, archive());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(ListDir(tmp_.path()), ElementsAre("src"));
}

TEST_F(ArchiveTest, WriteTarGzOfMissingDirectoryIsNotFound) {
  EXPECT_EQ(WriteTarGz(tmp_.path() / "nope", archive()).code(), absl::StatusCode::kNotFound);
}

TEST_F(ArchiveTest, HoistsSingleTopLevelDirectory) {
  WriteRawTarGz(archive(), {RawDirectory("m/"), RawFile("m/config.json", "{}"),
                            RawFile("m/m", "same name as its folder")});
  UnpackOptions options;
  options.hoist_single_top_level_dir = true;
  ASSERT_TRUE(UnpackArchive(archive(), dest(), options).ok());
  EXPECT_THAT(ListDir(dest()), ElementsAre("config.json", "m"));
  EXPECT_EQ(ReadFile(dest() / "m"), "same name as its folder");
  EXPECT_THAT(ListDir(tmp_.path()), ElementsAre("model.tar.gz", "out"));  // no staging leftovers
}

TEST_F(ArchiveTest, DoesNotHoistWhenTopLevelAlsoHoldsFiles) {
  WriteRawTarGz(archive(), {RawFile("m/config.json", "{}"), RawFile("README", "x")});
  UnpackOptions options;
  options.hoist_single_top_level_dir = true;
  ASSERT_TRUE(UnpackArchive(archive(), dest(), options).ok());
  EXPECT_THAT(ListDir(dest()), ElementsAre("README", "m"));
}

TEST_F(ArchiveTest, DoesNotHoistUnlessAsked) {
  WriteRawTarGz(archive(), {RawFile("m/config.json", "{}")});
  ASSERT_TRUE(UnpackArchive(archive(), dest(), {}).ok());
  EXPECT_THAT(ListDir(dest()), ElementsAre("m"));
}

TEST_F(ArchiveTest, DotSlashPrefixesAreAccepted) {
  WriteRawTarGz(archive(), {RawDirectory("./"), RawFile("./config.json", "{}")});
  ASSERT_TRUE(UnpackArchive(archive(), dest(), {}).ok());
  EXPECT_THAT(ListDir(dest()), ElementsAre("config.json"));
}

TEST_F(ArchiveTest, RejectsParentDirectoryEntry) {
  ExpectRejected({RawFile("config.json", "{}"), RawFile("../evil", "pwned")}, "../evil");
  EXPECT_FALSE(fs::exists(tmp_.path() / "evil"));
}

TEST_F(ArchiveTest, RejectsParentComponentInsideAPath) {
  ExpectRejected({RawFile("a/../../evil", "pwned")}, "a/../../evil");
}

TEST_F(ArchiveTest, RejectsAbsolutePath) {
  ExpectRejected({RawFile("/tmp/modelmux-evil", "pwned")}, "/tmp/modelmux-evil");
}

TEST_F(ArchiveTest, RejectsSymlink) {
  ExpectRejected({RawFile("config.json", "{}"), RawSymlink("link", "/etc/passwd")}, "link");
}

TEST_F(ArchiveTest, RejectsHardlink) {
  ExpectRejected({RawFile("config.json", "{}"), RawHardlink("copy", "config.json")}, "copy");
}

TEST_F(ArchiveTest, RejectsDevice) { ExpectRejected({RawDevice("tty")}, "tty"); }

TEST_F(ArchiveTest, TruncatedArchiveIsDataLossAndLeavesNothing) {
  const fs::path src = tmp_.path() / "src";
  WriteFile(src / "config.json", "{}");
  WriteFile(src / "model.pt", RandomBytes(256 * 1024));  // incompressible: the cut lands in its data
  ASSERT_TRUE(WriteTarGz(src, archive()).ok());
  fs::resize_file(archive(), fs::file_size(archive()) / 2);

  absl::Status status = UnpackArchive(archive(), dest(), {});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("runcated"));  // libarchive's own words
  EXPECT_FALSE(fs::exists(dest()));
}

TEST_F(ArchiveTest, GarbageIsDataLoss) {
  WriteFile(archive(), RandomBytes(4096));
  absl::Status status = UnpackArchive(archive(), dest(), {});
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_FALSE(fs::exists(dest()));
}

TEST_F(ArchiveTest, MissingArchiveIsNotFound) {
  EXPECT_EQ(UnpackArchive(archive(), dest(), {}).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dest()));
}

TEST_F(ArchiveTest, SizeCapCountsEveryFile) {
  WriteRawTarGz(archive(), {RawFile("a", std::string(600, 'a')), RawFile("b", std::string(400, 'b'))});
  UnpackOptions options;
  options.max_unpacked_bytes = 1000;
  EXPECT_TRUE(UnpackArchive(archive(), dest(), options).ok());

  fs::remove_all(dest());
  options.max_unpacked_bytes = 999;
  absl::Status status = UnpackArchive(archive(), dest(), options);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("'b'"));
  EXPECT_FALSE(fs::exists(dest()));
}

TEST_F(ArchiveTest, RefusesNonEmptyDestinationWithoutTouchingIt) {
  WriteRawTarGz(archive(), {RawFile("config.json", "{}")});
  WriteFile(dest() / "precious", "keep me");
  EXPECT_EQ(UnpackArchive(archive(), dest(), {}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadFile(dest() / "precious"), "keep me");
}

TEST_F(ArchiveTest, ConflictingEntriesAreDataLoss) {
  WriteRawTarGz(archive(), {RawFile("a", "file"), RawFile("a/b", "under a file")});
  EXPECT_EQ(UnpackArchive(archive(), dest(), {}).code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(fs::exists(dest()));
}

TEST_F(ArchiveTest, StoppedCallEndsTheUnpackAndLeavesNothing) {
  WriteRawTarGz(archive(), {RawFile("config.json", "{}"), RawFile("model.pt", "weights")});
  auto cancellation = std::make_shared<Cancellation>();
  cancellation->Cancel(absl::CancelledError("load abandoned"));
  const CallContext call{Deadline::Never(), cancellation};
  UnpackOptions options;
  options.call = &call;
  absl::Status status = UnpackArchive(archive(), dest(), options);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_THAT(status.message(), HasSubstr("load abandoned"));
  EXPECT_THAT(status.message(), HasSubstr(archive().string()));
  EXPECT_FALSE(fs::exists(dest()));
}

}  // namespace
}  // namespace modelmux
