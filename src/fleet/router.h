// Router: the fleet service's request routing. It splits the path, decides who the caller is and
// whether they may (a device by its verified certificate, admitted by DeviceSessions and checked
// against the issuer by EstEndpoint; an operator by bearer token, OperatorAccounts, and the role
// required_role() names), hands the request to the part that owns it, and serves the repository
// files itself (with Range). It holds no state of its own beyond its configuration.
//
// Thread contract: no mutex; call from any thread. It takes the SharedStore's lock only to audit
// the refusals it makes itself.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/auth.h"
#include "fleet/device_sessions.h"
#include "fleet/est.h"
#include "fleet/http_message.h"
#include "fleet/operator_accounts.h"
#include "fleet/operator_api.h"
#include "fleet/shared_store.h"

namespace ironseal::fleet {

// The role an operator request needs: any role may read (GET), changing needs operator, and
// anything on "accounts" that is not a read needs admin. `resource` is the path segment after
// /api/v1/.
Role required_role(std::string_view method, std::string_view resource);

struct RouterConfig {
  std::string security_txt;          // rendered RFC 9116 file
  bool metrics_public = false;       // /metrics without a token
  std::filesystem::path repository;  // BASE: BASE/image, BASE/director
};

class Router {
 public:
  struct Parts {
    SharedStore& shared;
    OperatorAccounts& accounts;
    DeviceSessions& sessions;
    EstEndpoint& est;
    OperatorApi& operator_api;
  };
  Router(RouterConfig config, Parts parts);

  // Cheap requests are answered at once; an operator login and a page of the audit trail come
  // back as work for a worker.
  Dispatch dispatch(const HttpRequest& r);
  // dispatch() running any such work on the caller's thread.
  HttpResponse handle(const HttpRequest& r);

 private:
  HttpResponse route_common(const HttpRequest& r, const std::vector<std::string>& path, bool* hit);
  HttpResponse route_device(const HttpRequest& r, const std::vector<std::string>& path);
  HttpResponse route_operator(const HttpRequest& r, const std::vector<std::string>& path);
  HttpResponse serve_repository(const HttpRequest& r, const std::vector<std::string>& path);
  // The refusal for an operator request without a valid token (401) or of too low a role (403,
  // audited); none, with *caller set, when it may go on. `path` has at least three segments.
  std::optional<HttpResponse> admit_operator(const HttpRequest& r,
                                             const std::vector<std::string>& path, Caller* caller);

  RouterConfig config_;
  Parts parts_;
};

}  // namespace ironseal::fleet
