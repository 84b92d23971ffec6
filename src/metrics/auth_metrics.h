// modelmux_auth_failures_total{route,reason}: requests refused for their
// credentials, shared by every front end (HTTP routes are labelled by their
// template, gRPC methods as "grpc:<Method>"). Never a credential in a label.
//
// Thread-safe.
#pragma once

#include <string_view>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"

namespace modelmux {

class AuthMetrics {
 public:
  // Registers the family, or finds it when another front end already did.
  explicit AuthMetrics(prometheus::Registry& registry);

  // `reason`: missing, invalid, expired, bad_signature, insufficient.
  void CountFailure(std::string_view route, std::string_view reason);

 private:
  prometheus::Family<prometheus::Counter>& failures_;
};

}  // namespace modelmux
