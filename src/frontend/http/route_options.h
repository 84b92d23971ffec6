// Settings of the HTTP routes that belong to the front end rather than to the
// InferenceServer: fixed at start, read by the handlers of every request.
#pragma once

#include <string>

namespace modelmux {

struct RouteOptions {
  // SageMaker Runtime (POST /endpoints/{name}/invocations): the one endpoint
  // name this server answers to (--endpoint-name); empty: any name.
  std::string endpoint_name;
  // The production variant every invocation reports in
  // x-Amzn-Invoked-Production-Variant (--production-variant).
  std::string production_variant = "AllTraffic";
};

}  // namespace modelmux
