#include "server/prewarmer.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/prewarm_metrics.h"
#include "registry/registry_test_fixture.h"

namespace modelmux {
namespace {

using ::testing::HasSubstr;
using testing_util::AcquireSync;

// A real registry over the fake store, a real load pool; the prewarmer's clock
// is virtual (seconds).
class PrewarmerTest : public testing_util::ModelRegistryTest {
 protected:
  void SetUp() override {
    MakeRegistry(1000);
    prewarm_metrics_ = std::make_unique<PrewarmMetrics>(metrics_.registry());
    MakePrewarmer(500);
  }
  void MakePrewarmer(int64_t max_bytes) {
    PrewarmOptions o;
    o.lead_seconds = 30;
    o.lead_per_load_second = 0;
    o.max_bytes = max_bytes;
    o.max_loads_per_minute = 10;
    prewarmer_ = std::make_unique<Prewarmer>(Prewarmer::Options{o, [this] { return now_; }}, registry_.get(),
                                             &pool_, prewarm_metrics_.get());
  }

  // `model` is requested every 600 s, six times from `start` (a timer).
  void Timer(const std::string& model, double start) {
    for (int i = 0; i < 6; ++i) {
      now_ = start + 600 * i;
      prewarmer_->OnRequest(model);
    }
  }
  void TickAt(double t) {
    now_ = t;
    prewarmer_->Tick();
    WaitForPoolIdle();
  }

  double now_ = 0;
  std::unique_ptr<PrewarmMetrics> prewarm_metrics_;
  std::unique_ptr<Prewarmer> prewarmer_;
};

TEST_F(PrewarmerTest, LoadsATimerModelBeforeItsNextRequestAndCountsTheHit) {
  store_.Add("timer", 100);
  Timer("timer", 0);  // last at 3000, next expected at 3600
  TickAt(3569);
  EXPECT_EQ(store_.loads("timer"), 0);
  TickAt(3570);
  EXPECT_EQ(store_.loads("timer"), 1);
  EXPECT_EQ(StateOf("timer"), ModelState::kReady);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_prewarm_loads_total 1"));
  now_ = 3600;
  prewarmer_->OnRequest("timer");
  ASSERT_TRUE(AcquireSync(*registry_, "timer").ok());
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_prewarm_hits_total 1"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_model_cache_hits_total 1"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_prewarm_wasted_total 0"));
}

TEST_F(PrewarmerTest, APrewarmedModelThatLeavesUnusedIsWasted) {
  store_.Add("timer", 100);
  Timer("timer", 0);
  TickAt(3570);
  ASSERT_EQ(StateOf("timer"), ModelState::kReady);
  ASSERT_TRUE(UnloadSync("timer").ok());
  TickAt(3580);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_prewarm_wasted_total 1"));
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_prewarm_hits_total 0"));
}

TEST_F(PrewarmerTest, NeverEvictsToPrewarm) {
  store_.Add("timer", 100);
  store_.Add("big", 950);
  Timer("timer", 0);
  ASSERT_TRUE(LoadSync("big").ok());  // 950 of 1000 bytes used
  TickAt(3570);
  EXPECT_EQ(store_.loads("timer"), 0);
  EXPECT_EQ(StateOf("big"), ModelState::kReady);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_prewarm_loads_total 0"));
}

TEST_F(PrewarmerTest, WaitsForAnIdleLoadPool) {
  store_.Add("timer", 100);
  store_.Add("slow", 100);
  Timer("timer", 0);
  store_.Block("slow");
  registry_->Load("slow", {}, [](absl::Status) {});
  ASSERT_TRUE(store_.WaitForLoads("slow", 1));
  now_ = 3570;
  prewarmer_->Tick();  // the pool is busy: deferred
  EXPECT_EQ(store_.loads("timer"), 0);
  store_.Unblock("slow");
  WaitForPoolIdle();
  TickAt(3571);  // retried a second later
  EXPECT_EQ(store_.loads("timer"), 1);
}

TEST_F(PrewarmerTest, ByteBudgetBoundsUnusedPrewarms) {
  MakePrewarmer(400);
  store_.Add("filler", 100);
  store_.Add("a", 300);
  store_.Add("b", 300);
  ASSERT_TRUE(LoadSync("filler").ok());
  WaitForPoolIdle();  // a load job may still be winding down after its callback
  Timer("a", 0);
  Timer("b", 5);
  TickAt(3570);  // a: estimated 150 (1.5 x the mean loaded), measured 300
  ASSERT_EQ(store_.loads("a"), 1);
  // b (estimated 1.5 x 200 = 300) would fit in memory (600 free), but not in
  // the 400 bytes prewarmed models may hold before their first request.
  TickAt(3575);
  EXPECT_EQ(store_.loads("b"), 0);
  EXPECT_THAT(MetricsText(), HasSubstr("modelmux_prewarm_loads_total 1"));
}

}  // namespace
}  // namespace modelmux
