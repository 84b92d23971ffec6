// Helpers for the store tests: self-deleting temp directories, small file
// I/O, and hand-crafted tar.gz archives (including malicious ones that
// WriteTarGz would never produce).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace modelmux::testing {

// A fresh directory under the system temp dir, removed recursively on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::filesystem::path& path, const std::string& contents);
std::string ReadFile(const std::filesystem::path& path);
// Names of the entries directly inside `dir`, sorted.
std::vector<std::string> ListDir(const std::filesystem::path& dir);

enum class RawType { kFile, kDirectory, kSymlink, kHardlink, kCharDevice };

struct RawEntry {
  std::string path;
  RawType type = RawType::kFile;
  std::string contents;  // kFile
  std::string link;      // kSymlink, kHardlink
};

inline RawEntry RawFile(std::string path, std::string contents) {
  return RawEntry{std::move(path), RawType::kFile, std::move(contents), ""};
}
inline RawEntry RawDirectory(std::string path) {
  return RawEntry{std::move(path), RawType::kDirectory, "", ""};
}
inline RawEntry RawSymlink(std::string path, std::string target) {
  return RawEntry{std::move(path), RawType::kSymlink, "", std::move(target)};
}
inline RawEntry RawHardlink(std::string path, std::string target) {
  return RawEntry{std::move(path), RawType::kHardlink, "", std::move(target)};
}
inline RawEntry RawDevice(std::string path) {
  return RawEntry{std::move(path), RawType::kCharDevice, "", ""};
}

// Writes `entries` verbatim (no path checks) into a gzip-compressed tar.
void WriteRawTarGz(const std::filesystem::path& archive, const std::vector<RawEntry>& entries);

}  // namespace modelmux::testing
