#include "make_store/churn_data.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "make_store/synthetic_tenant.h"

namespace modelmux::make_store {
namespace {

// How a column's value follows from its latent standard normal u: every map
// is increasing, so a rule on u is a rule on the value (as trees see it).
enum class Scale { kUniform, kLogNormal, kRatio };

struct CatalogFeature {
  const char* name;
  Scale scale;
  double a, b;        // kUniform: [a, b]; kLogNormal: exp(log(a) + b u)
  int decimals = 0;   // rounding of the value
  double offset = 0;  // subtracted after a log-normal draw (counts from 0)
};

constexpr CatalogFeature kCatalog[] = {
    {"tenure_months", Scale::kUniform, 1, 72},
    {"seats", Scale::kLogNormal, 20, 1.0},
    {"logins_30d", Scale::kLogNormal, 40, 0.9, 0, 1},
    {"active_user_ratio", Scale::kRatio, 0, 1, 2},
    {"support_tickets_90d", Scale::kLogNormal, 3, 0.8, 0, 1},
    {"avg_session_minutes", Scale::kLogNormal, 15, 0.6, 1},
    {"days_since_last_login", Scale::kLogNormal, 4, 1.0, 0, 1},
    {"monthly_spend", Scale::kLogNormal, 400, 1.0, 2},
    {"survey_score", Scale::kUniform, 0, 10},
    {"features_adopted", Scale::kUniform, 0, 20},
    {"failed_payments_12m", Scale::kLogNormal, 1.2, 0.7, 0, 1},
    {"api_calls_30d", Scale::kLogNormal, 5000, 1.5},
    {"discount_pct", Scale::kUniform, 0, 40},
    {"contract_months_left", Scale::kUniform, 0, 24},
    {"integrations", Scale::kUniform, 0, 10},
    {"admin_logins_30d", Scale::kLogNormal, 5, 0.8, 0, 1},
};

constexpr int kMinFeatures = 6;
constexpr int kMaxFeatures = 12;

const CatalogFeature& Find(const std::string& name) {
  for (const CatalogFeature& f : kCatalog) {
    if (name == f.name) return f;
  }
  return kCatalog[0];
}

double Normal(Rng& rng) {
  // Box-Muller; 1 - Unit() is in (0, 1].
  const double r = std::sqrt(-2 * std::log(1 - rng.Unit()));
  return r * std::cos(2 * M_PI * rng.Unit());
}

double Between(Rng& rng, double lo, double hi) { return lo + (hi - lo) * rng.Unit(); }
double Signed(Rng& rng, double lo, double hi) { return (rng.Chance(0.5) ? -1 : 1) * Between(rng, lo, hi); }

float Value(const CatalogFeature& f, double u) {
  const double cdf = 0.5 * std::erfc(-u / std::sqrt(2.0));
  double v = 0;
  switch (f.scale) {
    case Scale::kUniform:
      v = f.a + (f.b - f.a + 1) * cdf;
      v = std::min(std::floor(v), f.b);
      return static_cast<float>(v);
    case Scale::kLogNormal:
      v = std::max(0.0, std::exp(std::log(f.a) + f.b * u) - f.offset);
      break;
    case Scale::kRatio:
      v = cdf;
      break;
  }
  const double unit = std::pow(10.0, f.decimals);
  return static_cast<float>(std::round(v * unit) / unit);
}

}  // namespace

ChurnRule MakeChurnRule(uint64_t seed) {
  Rng rng(seed);
  std::vector<int> order(std::size(kCatalog));
  std::iota(order.begin(), order.end(), 0);
  rng.Shuffle(order);
  ChurnRule rule;
  const int width = rng.Between(kMinFeatures, kMaxFeatures);
  for (int i = 0; i < width; ++i) rule.features.emplace_back(kCatalog[order[i]].name);
  // Three or four features decide; the others barely matter. Columns come
  // shuffled, so which ones decide differs per tenant.
  const int deciding = rng.Between(3, 4);
  for (int i = 0; i < width; ++i) {
    rule.weights.push_back(i < deciding ? Signed(rng, 0.8, 1.6) : Signed(rng, 0.0, 0.2));
  }
  rule.interaction_a = rng.Uniform(deciding);
  rule.interaction_b = (rule.interaction_a + 1 + rng.Uniform(deciding - 1)) % deciding;
  rule.interaction_weight = Signed(rng, 0.6, 1.2);
  rule.threshold_feature = deciding + rng.Uniform(width - deciding);
  rule.threshold = Between(rng, -0.5, 1.0);
  rule.threshold_weight = Signed(rng, 1.0, 2.0);
  rule.bias = Between(rng, -1.5, -0.5);
  return rule;
}

TabularRows MakeChurnRows(const ChurnRule& rule, int rows, uint64_t seed) {
  Rng rng(seed);
  TabularRows out;
  out.width = static_cast<int>(rule.features.size());
  out.x.reserve(static_cast<size_t>(rows) * out.width);
  std::vector<double> u(out.width);
  for (int r = 0; r < rows; ++r) {
    double logit = rule.bias;
    for (int j = 0; j < out.width; ++j) {
      u[j] = Normal(rng);
      logit += rule.weights[j] * u[j];
      out.x.push_back(Value(Find(rule.features[j]), u[j]));
    }
    logit += rule.interaction_weight * u[rule.interaction_a] * u[rule.interaction_b];
    if (u[rule.threshold_feature] > rule.threshold) logit += rule.threshold_weight;
    const double churn = 1 / (1 + std::exp(-logit));
    out.labels.push_back(rng.Unit() < churn ? 1.0f : 0.0f);
  }
  return out;
}

double Auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0, positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = (i + 1 + j) / 2.0;  // mean 1-based rank of the tie group
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] > 0.5f) {
        positive_rank_sum += rank;
        ++positives;
      }
    }
    i = j;
  }
  const double negatives = static_cast<double>(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

}  // namespace modelmux::make_store
