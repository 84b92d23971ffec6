#include "make_store/tenant_builder.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "make_store/tenant_artifact.h"
#include "make_store/tenant_parts.h"

namespace modelmux::make_store {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kTicketPurpose = 11;

}  // namespace

absl::StatusOr<ArtifactPlace> PrepareArtifact(const std::string& name, const StoreOptions& o) {
  const fs::path final_dir = o.out / name;
  const fs::path archive = o.out / (name + ".tar.gz");
  ArtifactPlace place{o.archive ? o.out / ("." + name + ".staging") : final_dir,
                      o.archive ? archive : fs::path()};
  std::error_code ec;
  // Only one form of a tenant may exist, or a store would see the name twice.
  if (o.archive) {
    fs::remove_all(final_dir, ec);
  } else {
    fs::remove(archive, ec);
  }
  fs::remove_all(place.dir, ec);
  if (!ec) fs::create_directories(place.dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", place.dir.string(), ": ", ec.message()));
  return place;
}

absl::Status FinishArtifact(const ArtifactPlace& place) {
  if (place.archive.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(WriteTarGz(place.dir, place.archive));
  std::error_code ec;
  fs::remove_all(place.dir, ec);
  return absl::OkStatus();
}

TicketSplit TenantTickets(int index, const TenantSpec& tenant, const StoreOptions& o) {
  const int labels = static_cast<int>(tenant.macros.size());
  const int heldout_per_label =
      std::max(1, static_cast<int>(std::ceil(o.tickets_per_label * o.heldout_fraction)));
  std::vector<int> held(labels, 0);
  TicketSplit split;
  for (Ticket& t : MakeTickets(tenant, o.tickets_per_label, DeriveSeed(o.seed, index, kTicketPurpose))) {
    const bool hold = held[t.label] < heldout_per_label;
    held[t.label] += hold;
    (hold ? split.heldout : split.train).push_back(std::move(t));
  }
  return split;
}

std::string TenantName(int index, const StoreOptions& o) {
  return MakeTenant(index, {o.seed, o.labels_min, o.labels_max}).name;
}

absl::StatusOr<TenantReport> BuildTenant(int index, TenantBackend backend, const StoreOptions& o) {
  const TenantSpec tenant = MakeTenant(index, {o.seed, o.labels_min, o.labels_max});
  switch (backend) {
    case TenantBackend::kTorchScript:
      return BuildTorchScriptTenant(index, tenant, o);
    case TenantBackend::kFastText:
      return BuildFastTextTenant(index, tenant, o);
    case TenantBackend::kXGBoost:
      return BuildXGBoostTenant(index, tenant, o);
  }
  return absl::InternalError("unknown backend");
}

}  // namespace modelmux::make_store
