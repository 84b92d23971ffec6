// The access-control part of the server's wiring (issue 13): the
// Authenticator the flags ask for, and what SIGHUP does with it.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "frontend/auth/authenticator.h"

namespace modelmux {

// The Authenticator of --admin-token-file, --api-token-file and
// --sigv4-credentials; nullptr when none is given, after logging the one
// warning that management routes are open. Errors name the file.
absl::StatusOr<std::unique_ptr<Authenticator>> MakeAuthenticator(const Config& config);

// SIGHUP: re-reads the credentials files and logs the outcome (counts and
// file names, never a credential). A file that fails keeps its old contents.
void ReloadCredentials(Authenticator* authenticator);

}  // namespace modelmux
