#include "store/store_test_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace modelmux::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string dir_template = (fs::temp_directory_path() / "modelmux-store-test-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = dir_template;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void WriteFile(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << contents;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> ListDir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

void Check(int r, struct archive* a) {
  if (r != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
}

void SetType(archive_entry* e, const RawEntry& raw) {
  switch (raw.type) {
    case RawType::kFile:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, static_cast<la_int64_t>(raw.contents.size()));
      break;
    case RawType::kDirectory:
      archive_entry_set_filetype(e, AE_IFDIR);
      break;
    case RawType::kSymlink:
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, raw.link.c_str());
      break;
    case RawType::kHardlink:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, raw.link.c_str());
      break;
    case RawType::kCharDevice:
      archive_entry_set_filetype(e, AE_IFCHR);
      archive_entry_set_rdev(e, 0x0103);
      break;
  }
}

}  // namespace

void WriteRawTarGz(const fs::path& archive, const std::vector<RawEntry>& entries) {
  struct archive* a = archive_write_new();
  Check(archive_write_add_filter_gzip(a), a);
  Check(archive_write_set_format_pax_restricted(a), a);
  Check(archive_write_open_filename(a, archive.c_str()), a);
  for (const RawEntry& raw : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, raw.path.c_str());
    archive_entry_set_perm(e, 0644);
    SetType(e, raw);
    Check(archive_write_header(a, e), a);
    if (raw.type == RawType::kFile && !raw.contents.empty()) {
      if (archive_write_data(a, raw.contents.data(), raw.contents.size()) < 0) Check(ARCHIVE_FATAL, a);
    }
    archive_entry_free(e);
  }
  Check(archive_write_close(a), a);
  archive_write_free(a);
}

}  // namespace modelmux::testing
