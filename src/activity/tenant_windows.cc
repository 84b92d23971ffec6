#include "activity/tenant_windows.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace modelmux {

std::string_view LifecycleName(Lifecycle lifecycle) {
  switch (lifecycle) {
    case Lifecycle::kNone:
      return "";
    case Lifecycle::kLoaded:
      return "loaded";
    case Lifecycle::kReloaded:
      return "reloaded";
    case Lifecycle::kEvicted:
      return "evicted";
    case Lifecycle::kUnloaded:
      return "unloaded";
    case Lifecycle::kFailed:
      return "failed";
  }
  return "";
}

struct TenantWindows::Tenant {
  struct Slice {
    int64_t epoch = std::numeric_limits<int64_t>::min();
    std::array<uint32_t, kOutcomes> requests{};
    uint32_t cold_starts = 0;
    float cold_start_seconds = 0;
    LatencyHistogram latency;
  };

  explicit Tenant(int slices) : slices(static_cast<size_t>(slices)) {}

  Slice& Current(int64_t epoch) {
    const auto n = static_cast<int64_t>(slices.size());
    Slice& slice = slices[static_cast<size_t>((epoch % n + n) % n)];
    if (slice.epoch != epoch) {
      slice = Slice();
      slice.epoch = epoch;
    }
    return slice;
  }

  std::vector<Slice> slices;
  Clock::time_point last_request = Clock::time_point::min();
  Clock::time_point last_activity = Clock::time_point::min();
  Lifecycle last_lifecycle = Lifecycle::kNone;
  Clock::time_point last_lifecycle_at = Clock::time_point::min();
};

struct TenantWindows::Shard {
  mutable std::mutex mu;
  absl::node_hash_map<std::string, Tenant> tenants ABSL_GUARDED_BY(mu);
};

TenantWindows::TenantWindows(const Options& options)
    : options_{options.window, std::max(1, options.slices), std::max<size_t>(1, options.max_tenants)},
      slice_length_(std::max<Clock::duration>(
          std::chrono::duration_cast<Clock::duration>(options_.window) / options_.slices,
          Clock::duration(1))),
      max_per_shard_(std::max<size_t>(1, options_.max_tenants / kShards)) {
  for (auto& shard : shards_) shard = std::make_unique<Shard>();
}

TenantWindows::~TenantWindows() = default;

int64_t TenantWindows::EpochOf(Clock::time_point now) const {
  return static_cast<int64_t>(now.time_since_epoch() / slice_length_);
}

template <typename Fn>
void TenantWindows::Update(std::string_view model, Clock::time_point now, Fn&& fn) {
  const absl::string_view key(model.data(), model.size());
  Shard& shard = *shards_[absl::Hash<absl::string_view>{}(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.tenants.find(key);
  if (it == shard.tenants.end()) {
    if (shard.tenants.size() >= max_per_shard_) {
      untracked_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    it = shard.tenants.try_emplace(std::string(model), options_.slices).first;
  }
  Tenant& tenant = it->second;
  tenant.last_activity = std::max(tenant.last_activity, now);
  fn(tenant, tenant.Current(EpochOf(now)));
}

void TenantWindows::RecordRequest(std::string_view model, Outcome outcome, std::chrono::nanoseconds latency,
                                  Clock::time_point now) {
  Update(model, now, [&](Tenant& tenant, Tenant::Slice& slice) {
    ++slice.requests[static_cast<size_t>(outcome)];
    slice.latency.Add(latency);
    tenant.last_request = std::max(tenant.last_request, now);
  });
}

void TenantWindows::RecordColdStart(std::string_view model, double seconds, Clock::time_point now) {
  Update(model, now, [seconds](Tenant&, Tenant::Slice& slice) {
    ++slice.cold_starts;
    slice.cold_start_seconds += static_cast<float>(seconds);
  });
}

void TenantWindows::RecordLifecycle(std::string_view model, Lifecycle lifecycle, Clock::time_point now) {
  Update(model, now, [&](Tenant& tenant, Tenant::Slice&) {
    tenant.last_lifecycle = lifecycle;
    tenant.last_lifecycle_at = now;
  });
}

std::vector<TenantWindow> TenantWindows::Snapshot(Clock::time_point now,
                                                  std::chrono::system_clock::time_point wall_now) const {
  const int64_t oldest = EpochOf(now) - options_.slices + 1;
  auto wall = [&](Clock::time_point t) {
    if (t == Clock::time_point::min()) return std::chrono::system_clock::time_point{};
    return wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - t);
  };
  std::vector<TenantWindow> out;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mu);
    for (const auto& [name, tenant] : shard->tenants) {
      if (tenant.last_activity == Clock::time_point::min() || EpochOf(tenant.last_activity) < oldest)
        continue;
      TenantWindow w;
      w.name = name;
      LatencyHistogram latency;
      for (const Tenant::Slice& slice : tenant.slices) {
        if (slice.epoch < oldest) continue;
        for (int i = 0; i < kOutcomes; ++i) w.requests[i] += slice.requests[i];
        w.cold_starts += slice.cold_starts;
        w.cold_start_seconds += slice.cold_start_seconds;
        latency.Merge(slice.latency);
      }
      w.p99_seconds = latency.Quantile(0.99);
      if (tenant.last_request != Clock::time_point::min() && EpochOf(tenant.last_request) >= oldest) {
        w.last_request = wall(tenant.last_request);
      }
      if (tenant.last_lifecycle != Lifecycle::kNone && EpochOf(tenant.last_lifecycle_at) >= oldest) {
        w.last_lifecycle = tenant.last_lifecycle;
        w.last_lifecycle_at = wall(tenant.last_lifecycle_at);
      }
      out.push_back(std::move(w));
    }
  }
  return out;
}

size_t TenantWindows::Sweep(Clock::time_point now) {
  const int64_t oldest = EpochOf(now) - options_.slices + 1;
  size_t dropped = 0;
  for (auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mu);
    dropped += absl::erase_if(
        shard->tenants, [&](const auto& entry) { return EpochOf(entry.second.last_activity) < oldest; });
  }
  return dropped;
}

size_t TenantWindows::size() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mu);
    total += shard->tenants.size();
  }
  return total;
}

}  // namespace modelmux
