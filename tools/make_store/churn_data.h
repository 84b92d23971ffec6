// Synthetic per-customer tabular data for the demo store's XGBoost tenants:
// churn predicted from usage features.
//
// Each tenant tracks its own subset of a catalog of SaaS usage features
// (tenure, seats, logins, tickets, spend, ...), and its customers churn by a
// rule of its own: a few features weigh in (each tenant with its own signs
// and strengths), one pair interacts, one feature matters only past a
// threshold, and the outcome is drawn from the resulting probability, which
// is the noise. Everything is a pure function of (seed, tenant index).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace modelmux::make_store {

struct ChurnRule {
  std::vector<std::string> features;  // the columns, in order
  std::vector<double> weights;        // per column, on its standardised latent value
  int interaction_a = 0, interaction_b = 0;
  double interaction_weight = 0;
  int threshold_feature = 0;
  double threshold = 0, threshold_weight = 0;
  double bias = 0;
};

struct TabularRows {
  int width = 0;
  std::vector<float> x;       // row-major, rows x width
  std::vector<float> labels;  // 1 = churned
  int rows() const { return width > 0 ? static_cast<int>(x.size()) / width : 0; }
};

// 6 to 12 features of the catalog, and the tenant's rule over them.
ChurnRule MakeChurnRule(uint64_t seed);

// `rows` customers drawn from `rule`.
TabularRows MakeChurnRows(const ChurnRule& rule, int rows, uint64_t seed);

// Area under the ROC curve of `scores` for binary `labels` (ties count half);
// 0.5 when one class is absent.
double Auc(const std::vector<float>& scores, const std::vector<float>& labels);

}  // namespace modelmux::make_store
