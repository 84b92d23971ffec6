// The dashboard's side of the server: the sampler that records the activity
// history every sample interval, and ReportActivity, which gathers what the
// dashboard shows on a thread of its own (report_pool_) so that no front-end
// thread spends the milliseconds a copy of thousands of models takes.
#include <memory>
#include <utility>

#include "absl/strings/str_format.h"
#include "server/inference_server.h"

namespace modelmux {

void InferenceServer::SampleActivity() {
  activity_->TakeSample({.memory_used_bytes = registry_->used_bytes(),
                         .memory_budget_bytes = registry_->budget_bytes(),
                         .loaded_models = registry_->loaded_count(),
                         .queued = scheduler_->queued()});
}

void InferenceServer::ReportActivity(const ActivityRequest& request, ActivityCallback done) {
  // Shared so that a refused job (dropped unrun) leaves `done` to answer here.
  auto pending = std::make_shared<ActivityCallback>(std::move(done));
  absl::Status submitted = report_pool_->Submit([this, request, pending] {
    ActivityReport report;
    report.info = Info();
    report.ready = Ready();
    report.started = started_;
    report.now = std::chrono::system_clock::now();
    report.memory_used_bytes = registry_->used_bytes();
    report.loaded_models = registry_->loaded_count();
    report.queued = scheduler_->queued();
    report.sample_interval = activity_->sample_interval();
    report.window = activity_->window();
    if (request.tenants) {
      report.models = registry_->Snapshot();
      report.tenants = activity_->Tenants();
    }
    report.samples = activity_->Samples();
    report.events = activity_->Events(request.max_events);
    std::move (*pending)(std::move(report));
  });
  if (!submitted.ok()) {
    std::move (*pending)(absl::UnavailableError(
        absl::StrFormat("the dashboard is busy (%s); retry shortly", submitted.message())));
  }
}

}  // namespace modelmux
