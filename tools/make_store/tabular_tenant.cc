// The XGBoost tenant: a churn model over the tenant's own usage features.
#include "common/status_macros.h"
#include "make_store/churn_data.h"
#include "make_store/tenant_artifact.h"
#include "make_store/tenant_parts.h"
#include "make_store/xgboost_trainer.h"

namespace modelmux::make_store {
namespace {

constexpr uint64_t kRulePurpose = 20;
constexpr uint64_t kRowsPurpose = 21;
constexpr uint64_t kTrainPurpose = 22;

// Rows are drawn independently: the last ones are held out.
void SplitRows(const TabularRows& all, double heldout_fraction, TabularRows& train, TabularRows& heldout) {
  const int rows = all.rows();
  const int held = std::max(1, static_cast<int>(rows * heldout_fraction));
  const size_t cut = static_cast<size_t>(rows - held) * all.width;
  train.width = heldout.width = all.width;
  train.x.assign(all.x.begin(), all.x.begin() + cut);
  heldout.x.assign(all.x.begin() + cut, all.x.end());
  train.labels.assign(all.labels.begin(), all.labels.begin() + (rows - held));
  heldout.labels.assign(all.labels.begin() + (rows - held), all.labels.end());
}

}  // namespace

absl::StatusOr<TenantReport> BuildXGBoostTenant(int index, const TenantSpec& tenant, const StoreOptions& o) {
  const ChurnRule rule = MakeChurnRule(DeriveSeed(o.seed, index, kRulePurpose));
  TabularRows train, heldout;
  SplitRows(MakeChurnRows(rule, o.xgboost_rows, DeriveSeed(o.seed, index, kRowsPurpose)), o.heldout_fraction,
            train, heldout);
  ASSIGN_OR_RETURN(const ArtifactPlace place, PrepareArtifact(tenant.name, o));
  TabularTrainOptions train_options;
  train_options.rounds = o.xgboost_rounds;
  train_options.max_depth = o.xgboost_depth;
  train_options.seed = DeriveSeed(o.seed, index, kTrainPurpose);
  ASSIGN_OR_RETURN(const TabularTrainResult trained,
                   TrainBoostedTrees(train, heldout, rule.features, train_options, place.dir / "model.json"));
  RETURN_IF_ERROR(WriteTabularFiles(place.dir, tenant, rule.features, train_options.rounds,
                                    train_options.max_depth, o.seed));

  RETURN_IF_ERROR(FinishArtifact(place));
  RETURN_IF_ERROR(
      WriteTabularHeldout(o.heldout_dir / (tenant.name + ".jsonl"), heldout, trained.heldout_probabilities));
  TenantReport report;
  report.name = tenant.name;
  report.vertical = std::string(tenant.vertical->slug);
  report.backend = "xgboost";
  report.labels = 2;
  report.train_tickets = train.rows();
  report.heldout_tickets = heldout.rows();
  report.accuracy = trained.heldout_accuracy;
  report.auc = trained.heldout_auc;
  report.train_accuracy = trained.train_accuracy;
  report.train_auc = trained.train_auc;
  report.model_bytes = trained.model_bytes;
  return report;
}

}  // namespace modelmux::make_store
