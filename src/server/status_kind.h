// What a front end needs to know about a Status beyond its code, in
// protocol-neutral terms. Each front end maps these to its own protocol
// (frontend/http/status_http.h: HTTP codes; the gRPC front end: gRPC codes).
//
// A ResourceExhausted status means either "a queue is full, retry soon"
// (throttled: HTTP 429, gRPC RESOURCE_EXHAUSTED with retry info) or
// "insufficient memory for this model" (HTTP 507): the server marks the first.
#pragma once

#include "absl/status/status.h"

namespace modelmux {

// Marks a ResourceExhausted status as "a queue is full".
absl::Status MarkThrottled(absl::Status status);
bool IsThrottled(const absl::Status& status);

// Seconds a client should wait before retrying a throttled or unavailable
// answer: a full queue drains in milliseconds, a store or load-pool outage
// takes longer.
int RetryAfterSeconds(const absl::Status& status);

}  // namespace modelmux
