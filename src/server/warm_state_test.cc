#include "server/warm_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

ModelStatus Status(std::string name, ModelState state, int seconds_ago, bool pinned = false) {
  ModelStatus s;
  s.name = std::move(name);
  s.state = state;
  s.pinned = pinned;
  s.last_used = system_clock::time_point(std::chrono::hours(1000)) - std::chrono::seconds(seconds_ago);
  return s;
}

std::vector<std::string> Names(const std::vector<PreloadEntry>& entries) {
  std::vector<std::string> names;
  for (const PreloadEntry& e : entries) names.push_back(e.name + (e.pin ? "+pin" : ""));
  return names;
}

class WarmStateTest : public ::testing::Test {
 protected:
  void TearDown() override { fs::remove_all(dir_); }
  std::string ReadText(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static inline std::atomic<int> counter_{0};
  const fs::path dir_ = fs::temp_directory_path() / absl::StrCat("mmx-warm-", getpid(), "-", counter_++);
};

TEST_F(WarmStateTest, SavesReadyModelsPinnedFirstThenMostRecentFirst) {
  const std::string text = FormatWarmState(
      {Status("old", ModelState::kReady, 300), Status("loading", ModelState::kLoading, 0),
       Status("recent", ModelState::kReady, 5), Status("failed", ModelState::kFailed, 1),
       Status("pinned-old", ModelState::kReady, 900, true), Status("middle", ModelState::kReady, 60)});
  const std::string path = WarmStatePath(dir_.string());
  ASSERT_TRUE(WriteFileAtomically(path, text).ok());  // also creates dir_
  absl::StatusOr<std::vector<PreloadEntry>> entries = ReadWarmState(path);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(Names(*entries), (std::vector<std::string>{"pinned-old+pin", "recent", "middle", "old"}));
}

TEST_F(WarmStateTest, MissingFileIsNotFoundAndBadLinesAreSkipped) {
  EXPECT_TRUE(absl::IsNotFound(ReadWarmState(WarmStatePath(dir_.string())).status()));
  const std::string path = (dir_ / "state.txt").string();
  ASSERT_TRUE(
      WriteFileAtomically(path, "good-1\n../etc/passwd\nx y z\ngood-2 pin\n\n# note\nbad pinned\n").ok());
  absl::StatusOr<std::vector<PreloadEntry>> entries = ReadWarmState(path);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(Names(*entries), (std::vector<std::string>{"good-1", "good-2+pin"}));
}

TEST_F(WarmStateTest, AtomicWriteReplacesTheWholeFileAndLeavesNoTempFiles) {
  const std::string path = (dir_ / "state.txt").string();
  ASSERT_TRUE(WriteFileAtomically(path, std::string(10000, 'a')).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "short\n").ok());
  EXPECT_EQ(ReadText(path), "short\n");
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(WarmStateTest, WriteFailsCleanlyWhenTheDirectoryIsAFile) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "blocker") << "x";
  EXPECT_FALSE(WriteFileAtomically((dir_ / "blocker" / "state.txt").string(), "m\n").ok());
}

TEST_F(WarmStateTest, WriterSkipsWhileNotReadyAndWritesPeriodicallyAndAtStop) {
  std::atomic<bool> ready{false};
  std::mutex mu;
  std::vector<ModelStatus> models = {Status("a", ModelState::kReady, 1)};
  const std::string path = WarmStatePath(dir_.string());
  WarmStateWriter writer({.path = path,
                          .interval = std::chrono::milliseconds(20),
                          .snapshot =
                              [&] {
                                std::lock_guard lock(mu);
                                return models;
                              },
                          .ready = [&] { return ready.load(); }});
  writer.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(fs::exists(path)) << "wrote while the start-up preload was running";
  ready = true;
  for (int i = 0; i < 200 && !fs::exists(path); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(path)) << "no periodic write";
  EXPECT_EQ(Names(*ReadWarmState(path)), (std::vector<std::string>{"a"}));
  {
    std::lock_guard lock(mu);
    models.push_back(Status("b", ModelState::kReady, 0, true));
  }
  ASSERT_TRUE(writer.StopAndWrite().ok());
  EXPECT_EQ(Names(*ReadWarmState(path)), (std::vector<std::string>{"b+pin", "a"}));
}

TEST_F(WarmStateTest, StopWritesTheFinalSetEvenWithALongInterval) {
  const std::string path = WarmStatePath(dir_.string());
  WarmStateWriter writer(
      {.path = path,
       .interval = std::chrono::hours(1),
       .snapshot = [] { return std::vector<ModelStatus>{Status("only", ModelState::kReady, 0)}; },
       .ready = [] { return true; }});
  writer.Start();
  ASSERT_TRUE(writer.StopAndWrite().ok());
  EXPECT_EQ(Names(*ReadWarmState(path)), (std::vector<std::string>{"only"}));
}

}  // namespace
}  // namespace modelmux
