// Post-processing of classifier logits: softmax, then the k best classes.
//
// Pure functions; thread-safe.
#pragma once

#include <span>
#include <vector>

namespace modelmux {

struct ScoredClass {
  int index = 0;    // output column, i.e. line of labels.txt
  float score = 0;  // softmax probability
};

// Softmax over `logits`, then the `k` most probable classes, best first (ties:
// lower index first). k is capped at logits.size(); k <= 0 gives nothing.
// Non-finite logits are treated as the lowest possible score.
std::vector<ScoredClass> TopK(std::span<const float> logits, int k);

}  // namespace modelmux
