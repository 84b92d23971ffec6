#include "store/model_store.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "store/store_test_util.h"

namespace modelmux {
namespace {

namespace fs = std::filesystem;
using ::modelmux::testing::TempDir;
using ::modelmux::testing::WriteFile;

TEST(LocalArtifactTest, RemovesTemporaryDirectoryRecursively) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "artifact";
  WriteFile(dir / "config.json", "{}");
  WriteFile(dir / "nested" / "deeper" / "file", "x");
  { LocalArtifact artifact(dir, /*remove_on_destroy=*/true); }
  EXPECT_FALSE(fs::exists(dir));
}

TEST(LocalArtifactTest, KeepsDirectoryItDoesNotOwn) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "artifact";
  WriteFile(dir / "config.json", "{}");
  { LocalArtifact artifact(dir, /*remove_on_destroy=*/false); }
  EXPECT_TRUE(fs::exists(dir / "config.json"));
}

TEST(LocalArtifactTest, DirectoryAlreadyGoneIsHarmless) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "gone";
  { LocalArtifact artifact(dir, /*remove_on_destroy=*/true); }
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace modelmux
