#include "make_store/tenant_artifact.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace modelmux::make_store {
namespace {

// A fixed timestamp keeps archives byte-identical from run to run.
constexpr time_t kArchiveMtime = 1700000000;

absl::Status ArchiveError(archive* a, const std::filesystem::path& path) {
  return absl::InternalError(absl::StrCat("writing ", path.string(), ": ", archive_error_string(a)));
}

absl::Status AddFile(archive* a, const std::filesystem::path& file,
                     const std::filesystem::path& archive_path) {
  std::ifstream in(file, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return absl::InternalError(absl::StrCat("cannot read ", file.string()));
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                      archive_entry_free);
  archive_entry_set_pathname(entry.get(), file.filename().c_str());
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  archive_entry_set_mtime(entry.get(), kArchiveMtime, 0);
  if (archive_write_header(a, entry.get()) != ARCHIVE_OK) return ArchiveError(a, archive_path);
  if (archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
    return ArchiveError(a, archive_path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFile(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

absl::Status WriteTenantFiles(const std::filesystem::path& dir, const TenantSpec& tenant,
                              const std::vector<std::string>& vocab, const ArtifactOptions& options) {
  nlohmann::json config = {
      {"backend", "torchscript"},
      {"task", "text-classification"},
      {"max_tokens", options.max_tokens},
      {"default_top_k", options.default_top_k},
      // Metadata for people; the server ignores it.
      {"tenant", tenant.name},
      {"vertical", tenant.vertical->slug},
      {"labels", tenant.macros.size()},
      {"vocab", options.vocab_size},
      {"dim", options.dim},
      {"hidden", options.hidden},
      {"seed", options.seed},
  };
  RETURN_IF_ERROR(WriteFile(dir / "config.json", config.dump(2) + "\n"));
  RETURN_IF_ERROR(WriteFile(dir / "vocab.txt", absl::StrCat(absl::StrJoin(vocab, "\n"), "\n")));
  std::string labels;
  for (const Macro& m : tenant.macros) absl::StrAppend(&labels, m.name, "\n");
  return WriteFile(dir / "labels.txt", labels);
}

absl::Status WriteFastTextFiles(const std::filesystem::path& dir, const TenantSpec& tenant,
                                const ArtifactOptions& options, bool quantized) {
  nlohmann::json config = {
      {"backend", "fasttext"},
      {"task", "text-classification"},
      {"max_tokens", options.max_tokens},
      {"default_top_k", options.default_top_k},
      // Metadata for people; the server ignores it.
      {"tenant", tenant.name},
      {"vertical", tenant.vertical->slug},
      {"labels", tenant.macros.size()},
      {"dim", options.dim},
      {"quantized", quantized},
      {"seed", options.seed},
  };
  RETURN_IF_ERROR(WriteFile(dir / "config.json", config.dump(2) + "\n"));
  std::string labels;
  for (const Macro& m : tenant.macros) absl::StrAppend(&labels, m.name, "\n");
  return WriteFile(dir / "labels.txt", labels);
}

absl::Status WriteTabularFiles(const std::filesystem::path& dir, const TenantSpec& tenant,
                               const std::vector<std::string>& features, int rounds, int max_depth,
                               uint64_t seed) {
  nlohmann::json config = {
      {"backend", "xgboost"},
      {"task", "tabular"},
      {"features", features},
      // Metadata for people; the server ignores it.
      {"tenant", tenant.name},
      {"vertical", tenant.vertical->slug},
      {"predicts", "churn probability"},
      {"rounds", rounds},
      {"max_depth", max_depth},
      {"seed", seed},
  };
  return WriteFile(dir / "config.json", config.dump(2) + "\n");
}

// `value` as the double of its shortest decimal form that reads back as the
// same float, so held-out rows print as 0.17 rather than 0.17000000178813934
// and a client sending them gets the float the trainer scored.
double ShortestDecimal(float value) {
  char text[32];
  for (int digits = 6; digits < 9; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, value);
    if (std::strtof(text, nullptr) == value) return std::strtod(text, nullptr);
  }
  std::snprintf(text, sizeof(text), "%.9g", value);
  return std::strtod(text, nullptr);
}

absl::Status WriteTabularHeldout(const std::filesystem::path& path, const TabularRows& rows,
                                 const std::vector<float>& probabilities) {
  std::string lines;
  for (int r = 0; r < rows.rows(); ++r) {
    const auto begin = rows.x.begin() + static_cast<ptrdiff_t>(r) * rows.width;
    std::vector<double> features;
    for (auto it = begin; it != begin + rows.width; ++it) features.push_back(ShortestDecimal(*it));
    nlohmann::json line = {{"features", features},
                           {"label", static_cast<int>(rows.labels[r])},
                           {"probability", probabilities[r]}};
    absl::StrAppend(&lines, line.dump(), "\n");
  }
  return WriteFile(path, lines);
}

absl::Status WriteHeldout(const std::filesystem::path& path, const TenantSpec& tenant,
                          const std::vector<Ticket>& tickets) {
  std::string lines;
  for (const Ticket& t : tickets) {
    nlohmann::json line = {{"text", t.text}, {"label", tenant.macros[t.label].name}};
    absl::StrAppend(&lines, line.dump(), "\n");
  }
  return WriteFile(path, lines);
}

absl::Status WriteTarGz(const std::filesystem::path& dir, const std::filesystem::path& archive_path) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  archive_write_add_filter_gzip(a.get());
  archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), archive_path.c_str()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), archive_path);
  }
  for (const auto& file : files) RETURN_IF_ERROR(AddFile(a.get(), file, archive_path));
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), archive_path);
  return absl::OkStatus();
}

}  // namespace modelmux::make_store
