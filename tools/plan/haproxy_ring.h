// The consistent-hash ring HAProxy 2.6 builds for `balance hdr(...)` with
// `hash-type consistent` (deploy/haproxy/modelmux.cfg), so the planner sends
// each model where the real fleet does.
//
// What is reproduced (HAProxy's lb_chash.c and backend.c, 2.6):
//   - the key: full_hash(sdbm(header value)): sdbm is the default hash
//     function, full_hash (Bob Jenkins' 32-bit integer hash, then x
//     3221225473) the avalanche step;
//   - the ring: a server of weight w with id `puid` gets w x 16 points, point
//     k at full_hash(puid x 4096 + k);
// Checked against the real thing: HAProxy 2.6.12 (Debian 12) routed 300 of
// 300 model names to the instance this ring picks (bench/plan/validate.py
// checks it on every run).
//   - lookup: the point at or after the key and the one before it; the
//     closer of the two wins, the earlier one on a tie;
//   - bounded loads (hash-balance-factor f): walking forward from that point,
//     the first server for which `eligible` holds (BoundedLoadSlots gives
//     HAProxy's rule);
//   - one server left: no hashing at all (HAProxy skips it).
// A server that goes down leaves the ring; the others keep their points.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"

namespace modelmux::plan {

uint32_t Sdbm(std::string_view key);
uint32_t FullHash(uint32_t a);

class HashRing {
 public:
  // Servers 0..servers-1 with ids 1..servers (the `id <i+1>` of the cfg),
  // each of `weight`.
  HashRing(int servers, int weight = 100);

  void SetUp(int server, bool up);
  bool up(int server) const { return up_[server]; }
  int up_count() const { return up_count_; }

  // The server for `key`, or -1 when none is up. With `eligible`, the first
  // eligible server walking forward (the closest one if none is).
  int Pick(std::string_view key) const;
  int Pick(std::string_view key, absl::FunctionRef<bool(int)> eligible) const;

 private:
  struct Point {
    uint32_t key;
    int server;
  };
  uint32_t KeyHash(std::string_view key) const;
  size_t Closest(uint32_t hash) const;
  void Rebuild();

  int weight_;
  std::vector<bool> up_;
  int up_count_;
  std::vector<Point> points_;  // of the servers up, sorted by key
};

// HAProxy's chash_server_is_eligible with equal weights: may the server at
// `position` among the `servers` up, with `served` requests in flight, take
// one more, when the backend has `backend_served` in flight and
// hash-balance-factor is `factor` (%)?
bool BoundedLoadEligible(int position, int servers, int64_t served, int64_t backend_served, int factor);

}  // namespace modelmux::plan
