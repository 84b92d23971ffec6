#include "text/top_k.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace modelmux {

std::vector<ScoredClass> TopK(std::span<const float> logits, int k) {
  std::vector<ScoredClass> out;
  const int n = static_cast<int>(logits.size());
  k = std::min(k, n);
  if (k <= 0) return out;

  // Subtracting the max keeps exp() from overflowing on large logits.
  float max_logit = -std::numeric_limits<float>::infinity();
  for (float x : logits) {
    if (std::isfinite(x)) max_logit = std::max(max_logit, x);
  }
  std::vector<ScoredClass> all(n);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const float x = logits[i];
    const double e = std::isfinite(x) ? std::exp(static_cast<double>(x) - max_logit) : 0.0;
    all[i] = {i, static_cast<float>(e)};
    sum += e;
  }
  const auto better = [](const ScoredClass& a, const ScoredClass& b) {
    return a.score != b.score ? a.score > b.score : a.index < b.index;
  };
  std::partial_sort(all.begin(), all.begin() + k, all.end(), better);
  out.assign(all.begin(), all.begin() + k);
  for (ScoredClass& c : out) c.score = sum > 0 ? static_cast<float>(c.score / sum) : 0.0f;
  return out;
}

}  // namespace modelmux
