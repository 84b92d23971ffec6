#include "sim/model_catalog.h"

#include <algorithm>
#include <cmath>

#include "gtest/gtest.h"

namespace modelmux::sim {
namespace {

constexpr int64_t kMiB = 1 << 20;

TEST(ModelCatalogTest, DefaultSizesAreLogUniformBetween7And50MiB) {
  const std::vector<TraceModel> models = MakeCatalog(4000, CatalogOptions{});
  int below_geometric_mean = 0;
  const double geometric_mean = std::sqrt(7.0 * 50.0) * kMiB;
  for (const TraceModel& m : models) {
    ASSERT_GE(m.bytes, 7 * kMiB);
    ASSERT_LE(m.bytes, 50 * kMiB);
    below_geometric_mean += m.bytes < geometric_mean;
  }
  // Log-uniform: half below the geometric mean (uniform would put 30% there).
  EXPECT_NEAR(below_geometric_mean / 4000.0, 0.5, 0.03);
}

TEST(ModelCatalogTest, LoadTimeGrowsWithSizeAroundTheModel) {
  CatalogOptions o;
  o.load.jitter_sigma = 0;
  const TraceModel m = MakeModel("x", "x", o);
  EXPECT_NEAR(m.load_seconds, 0.08 + static_cast<double>(m.bytes) / (150.0 * kMiB), 1e-6);
}

TEST(ModelCatalogTest, AModelsNumbersDependOnItsKeyAndSeedOnly) {
  CatalogOptions o;
  const TraceModel a = MakeModel("first", "row-key", o);
  const TraceModel b = MakeModel("second", "row-key", o);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.load_seconds, b.load_seconds);
  o.seed = 2;
  EXPECT_NE(MakeModel("first", "row-key", o).bytes, a.bytes);
}

TEST(ModelCatalogTest, ParsesSizeDistributions) {
  absl::StatusOr<SizeDistribution> fixed = SizeDistribution::Parse("fixed:20M");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->kind, SizeDistribution::Kind::kFixed);
  EXPECT_EQ(fixed->min_bytes, 20 * kMiB);
  absl::StatusOr<SizeDistribution> uniform = SizeDistribution::Parse("uniform:1M:2M");
  ASSERT_TRUE(uniform.ok());
  EXPECT_EQ(uniform->kind, SizeDistribution::Kind::kUniform);
  EXPECT_EQ(uniform->max_bytes, 2 * kMiB);
  for (const char* bad : {"", "fixed", "zipf:1M:2M", "loguniform:5M:1M", "uniform:0:1M", "fixed:x"}) {
    EXPECT_FALSE(SizeDistribution::Parse(bad).ok()) << bad;
  }
  CatalogOptions o;
  o.sizes = *fixed;
  for (const TraceModel& m : MakeCatalog(10, o)) EXPECT_EQ(m.bytes, 20 * kMiB);
}

}  // namespace
}  // namespace modelmux::sim
