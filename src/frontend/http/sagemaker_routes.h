// The SageMaker multi-model container contract, plus its client-facing call:
//
//   GET    /ping                  200 (empty) when Ready(), else 503
//   POST   /models                {"model_name", "url"}: load; 409 when loaded,
//                                 507 insufficient memory, 404 not in the store
//   GET    /models                loaded models, ?max_results=&next_page_token=
//   GET    /models/{name}         one loaded model; 404 when not loaded
//   DELETE /models/{name}         unload; answers once the memory is freed
//   POST   /models/{name}/invoke  text / instances / V2 body
//   POST   /invocations           same, model named by X-Amzn-SageMaker-Target-Model
//                                 ("<name>" or, as SageMaker clients send it, "<name>.tar.gz")
//
// POST /models: the server only loads from its own store, so "url" must name
// an artifact of that store (see ArtifactNameFromUrl), and "model_name" must
// equal the artifact's name: a model is always served under its artifact name.
//
// Handlers run on a session's io thread; see route_call.h.
#pragma once

#include <string_view>

#include "frontend/http/route_call.h"

namespace modelmux {

RouteResult HandlePing(const RouteCall& call);
RouteResult HandleRegisterModel(const RouteCall& call);
RouteResult HandleListModels(const RouteCall& call);
RouteResult HandleDescribeModel(const RouteCall& call);
RouteResult HandleUnloadModel(const RouteCall& call);
RouteResult HandleInvokeModel(const RouteCall& call);
RouteResult HandleInvocations(const RouteCall& call);

// A target model header's model name: "name.tar.gz" (as SageMaker clients
// name the artifact) becomes "name"; anything else is returned as it is.
std::string_view StripArchiveSuffix(std::string_view target_model);

// The default and largest page of GET /models.
inline constexpr int kDefaultListPageSize = 100;
inline constexpr int kMaxListPageSize = 1000;

}  // namespace modelmux
