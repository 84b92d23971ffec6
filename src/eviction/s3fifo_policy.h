// S3-FIFO (Yang et al., SOSP 2023): frequency-gated admission with three FIFO
// queues, weighted by bytes.
//
// A newly loaded model enters a small probationary queue (10% of the resident
// bytes). When it reaches the end of that queue it moves to the main queue
// only if it was used again meanwhile; otherwise it is evicted and remembered
// in a ghost queue (names only, no memory held). A model loaded again while
// its name is still a ghost goes straight to the main queue. The main queue is
// a FIFO with up to 3 "second chances" earned by use (CLOCK-like). So a one-off
// access (a batch job touching every tenant once) only churns the small
// queue, and the models in regular use in the main queue are not evicted by it.
//
// Not thread-safe (the registry calls it under its lock). Insert, access and
// remove are O(1); PickVictim is amortized O(1) plus the models it skips.
#pragma once

#include <memory>

#include "eviction/eviction_policy.h"

namespace modelmux {

std::unique_ptr<EvictionPolicy> NewS3FifoPolicy();

}  // namespace modelmux
