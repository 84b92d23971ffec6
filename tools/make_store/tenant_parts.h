// Internal to the store generator: what the three kinds of tenant share, and
// the builder of each kind (tenant_builder.cc dispatches).
#pragma once

#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"
#include "make_store/synthetic_tenant.h"
#include "make_store/tenant_builder.h"

namespace modelmux::make_store {

// Where a tenant's files go: `dir` is the model directory itself, or, with
// --archive, a hidden staging directory (not a valid model name, so a store
// never lists it) packed into `archive` when complete.
struct ArtifactPlace {
  std::filesystem::path dir;
  std::filesystem::path archive;  // empty without --archive
};

// Removes the tenant's other form (directory or archive) and creates `dir`.
absl::StatusOr<ArtifactPlace> PrepareArtifact(const std::string& name, const StoreOptions& o);
// Packs the staging directory with --archive; nothing otherwise.
absl::Status FinishArtifact(const ArtifactPlace& place);

struct TicketSplit {
  std::vector<Ticket> train, heldout;
};

// The tenant's tickets, the first of each label (they come shuffled) held
// out so that every label is tested. The same for every text backend.
TicketSplit TenantTickets(int index, const TenantSpec& tenant, const StoreOptions& o);

absl::StatusOr<TenantReport> BuildTorchScriptTenant(int index, const TenantSpec& tenant,
                                                    const StoreOptions& o);
absl::StatusOr<TenantReport> BuildFastTextTenant(int index, const TenantSpec& tenant, const StoreOptions& o);
absl::StatusOr<TenantReport> BuildXGBoostTenant(int index, const TenantSpec& tenant, const StoreOptions& o);

}  // namespace modelmux::make_store
