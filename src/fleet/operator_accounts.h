// OperatorAccounts: who an operator is. Login (the throttle, the account row, then the Argon2id
// check off the I/O threads, and a bearer token stored as its digest), the authentication of a
// bearer token to a Caller with its Role, and account creation (bootstrap and the admin API).
//
// Thread contract: no mutex of its own besides the LoginThrottle's (which it never holds while
// taking the SharedStore's lock: service.h has the lock order). Every member function takes the
// SharedStore's lock itself where it touches the store; call them without it held.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "fleet/auth.h"
#include "fleet/http_message.h"
#include "fleet/login_throttle.h"
#include "fleet/metrics.h"
#include "fleet/shared_store.h"

namespace ironseal::fleet {

// An authenticated operator.
struct Caller {
  std::string account;
  Role role = Role::kViewer;
};

class OperatorAccounts {
 public:
  OperatorAccounts(SharedStore& shared, Metrics& metrics, std::int64_t token_lifetime_s,
                   LoginPolicy policy);

  // POST /api/v1/login. The cheap half (body, throttle, account row) runs here; the password
  // check comes back as work for a worker thread. The work refers to this object.
  Dispatch login(const HttpRequest& r);
  // The bearer token of `r` as a caller: kNotTrusted for a missing, unknown or expired token or
  // an account that is gone or has an unknown role.
  Result<Caller> authenticate(const HttpRequest& r);
  // Creates an account (name: letters, digits and . _ -; role: viewer, operator or admin).
  Result<void> add_account(const std::string& name, const std::string& role,
                           const std::string& password);
  // POST /api/v1/accounts by `caller` (the router has checked the role).
  HttpResponse create(const HttpRequest& r, const Caller& caller);

 private:
  HttpResponse finish_login(LoginThrottle::Ticket ticket, const std::string& name,
                            const std::string& password, const std::string& hash,
                            const std::string& role, const std::string& peer);
  HttpResponse throttled(const HttpRequest& r, const std::string& name,
                         const LoginThrottle::Decision& decision);

  SharedStore& shared_;
  Metrics& metrics_;
  const std::int64_t token_lifetime_s_;
  // Failed logins and password checks in flight, per peer and (peer, account). Its own lock.
  // Process-local state, docs/architecture.md: login throttle.
  LoginThrottle throttle_;
};

}  // namespace ironseal::fleet
