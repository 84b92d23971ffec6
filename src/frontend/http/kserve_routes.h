// KServe V2 (Open Inference Protocol) REST routes and its model repository
// extension:
//
//   GET  /v2/health/live                     200 {"live": true}
//   GET  /v2/health/ready                    200 {"ready": true}, else 503
//   GET  /v2                                 server metadata
//   GET  /v2/models/{m}                      model metadata; 404 unknown
//   GET  /v2/models/{m}/ready                200 {"name", "ready": true} when READY;
//                                            503 otherwise (as KServe's ModelNotReady),
//                                            404 when not in the store
//   POST /v2/models/{m}/infer                V2 inference; with the binary tensor data
//                                            extension (Inference-Header-Content-Length)
//   POST /v2/repository/index                store and registry states ({"ready": true}:
//                                            only READY models)
//   POST /v2/repository/models/{m}/load      {"parameters": {"pin": bool}} optional
//   POST /v2/repository/models/{m}/unload
//
// Model metadata: a text classifier has input "text" BYTES [-1] and outputs
// "label" BYTES [-1,-1] and "score" FP32 [-1,-1]; a tensor model reports its
// config.json declarations. The task is only known once the model has been
// loaded: before that "inputs" and "outputs" are empty and "state" says so.
//
// /v2/repository/index walks the whole store listing on the io thread: fine
// for a local directory store; an admin call, not a hot path.
//
// Handlers run on a session's io thread; see route_call.h.
#pragma once

#include <string_view>

#include "frontend/http/route_call.h"

namespace modelmux {

inline constexpr std::string_view kServerName = "modelmux";
inline constexpr std::string_view kServerVersion = "0.1.0";

RouteResult HandleV2Live(const RouteCall& call);
RouteResult HandleV2Ready(const RouteCall& call);
RouteResult HandleV2ServerMetadata(const RouteCall& call);
RouteResult HandleV2ModelMetadata(const RouteCall& call);
RouteResult HandleV2ModelReady(const RouteCall& call);
RouteResult HandleV2Infer(const RouteCall& call);
RouteResult HandleV2RepositoryIndex(const RouteCall& call);
RouteResult HandleV2RepositoryLoad(const RouteCall& call);
RouteResult HandleV2RepositoryUnload(const RouteCall& call);

}  // namespace modelmux
