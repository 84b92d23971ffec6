#include "metrics/auth_metrics.h"

#include <string>

namespace modelmux {

AuthMetrics::AuthMetrics(prometheus::Registry& registry)
    : failures_(prometheus::BuildCounter()
                    .Name("modelmux_auth_failures_total")
                    .Help("Requests refused for their credentials, by route template and reason "
                          "(missing, invalid, expired, bad_signature, insufficient)")
                    .Register(registry)) {}

void AuthMetrics::CountFailure(std::string_view route, std::string_view reason) {
  failures_.Add({{"route", std::string(route)}, {"reason", std::string(reason)}}).Increment();
}

}  // namespace modelmux
