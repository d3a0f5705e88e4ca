// Operator login, token authentication and accounts (operator_accounts.h).
#include "fleet/operator_accounts.h"

#include <optional>
#include <utility>

#include "fleet/answers.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;

}  // namespace

OperatorAccounts::OperatorAccounts(SharedStore& shared, Metrics& metrics,
                                   std::int64_t token_lifetime_s, LoginPolicy policy)
    : shared_(shared),
      metrics_(metrics),
      token_lifetime_s_(token_lifetime_s),
      throttle_(std::move(policy)) {}

// 429 for an attempt the throttle refused before its password check.
HttpResponse OperatorAccounts::throttled(const HttpRequest& r, const std::string& name,
                                         const LoginThrottle::Decision& decision) {
  const std::string_view reason = login_refusal_name(decision.refusal);
  metrics_.login_throttled++;
  if (decision.first_refusal) {  // once per lock: refusals in a flood cost no database write
    auto lock = shared_.lock();
    (void)shared_.audit("operator:" + name, "auth.login", "throttled",
                        {{"peer", r.peer}, {"reason", reason}});
  }
  HttpResponse out = json_response(
      429, Json{{"error", "too_many_attempts"},
                {"reason", reason},
                {"message", decision.refusal == LoginRefusal::kPeerBusy
                                ? "too many logins from this address at once; try again later"
                                : "too many failed logins from this address; try again later"}});
  out.headers.emplace_back("Retry-After", std::to_string(decision.retry_after_s));
  return out;
}

Dispatch OperatorAccounts::login(const HttpRequest& r) {
  if (r.method != "POST") return {method_not_allowed("POST"), {}};
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return {err, {}};
  auto name = string_field(*body, "name");
  auto password = string_field(*body, "password");
  if (!name || !password || name->size() > 128 || password->size() > 1024) {
    return {error_response(400, "bad_field", "send {\"name\": ..., \"password\": ...}"), {}};
  }
  auto decision = throttle_.admit(r.peer, *name, shared_.now());
  if (!decision.ticket) return {throttled(r, *name, decision), {}};
  std::string hash;
  std::string role;
  {
    auto lock = shared_.lock();
    auto account = shared_.store().account(*name);
    if (!account) return {from_error(account.error()), {}};
    if (*account) {
      hash = (*account)->password_hash;
      role = (*account)->role;
    }
  }
  HttpResponse busy =
      error_response(503, "login_busy", "too many logins are being checked; try again shortly");
  busy.headers.emplace_back("Retry-After", "1");
  return {std::move(busy), [this, ticket = std::move(*decision.ticket), name = std::move(*name),
                            password = std::move(*password), hash = std::move(hash),
                            role = std::move(role), peer = r.peer]() mutable {
            return finish_login(std::move(ticket), name, password, hash, role, peer);
          }};
}

// The expensive half, on a worker thread.
HttpResponse OperatorAccounts::finish_login(LoginThrottle::Ticket ticket, const std::string& name,
                                            const std::string& password, const std::string& hash,
                                            const std::string& role, const std::string& peer) {
  // An unknown account costs the same as a wrong password.
  static const std::string kDummy = hash_password("not-a-real-password").value_or("");
  const bool ok = verify_password(hash.empty() ? kDummy : hash, password) && !hash.empty();
  const LoginRefusal locked = throttle_.record(std::move(ticket), ok, shared_.now());
  auto lock = shared_.lock();
  if (!ok) {
    metrics_.login_failures++;
    Json detail{{"peer", peer}};
    if (locked != LoginRefusal::kNone) detail["locks"] = login_refusal_name(locked);
    (void)shared_.audit("operator:" + name, "auth.login", "refused", std::move(detail));
    return error_response(401, "unauthorized", "wrong account name or password");
  }
  auto token = new_token();
  if (!token) return from_error(token.error());
  const std::int64_t expires = shared_.now() + token_lifetime_s_;
  if (auto stored = shared_.store().add_token({token_digest(*token), name, expires}); !stored) {
    return from_error(stored.error());
  }
  (void)shared_.audit("operator:" + name, "auth.login", "ok", {{"peer", peer}});
  return json_response(200, Json{{"token", *token}, {"role", role}, {"expires_at", expires}});
}

Result<Caller> OperatorAccounts::authenticate(const HttpRequest& r) {
  if (!r.authorization.starts_with("Bearer ")) {
    return fail(ErrorCode::kNotTrusted, "send Authorization: Bearer TOKEN (POST /api/v1/login)");
  }
  const std::string digest = token_digest(std::string_view(r.authorization).substr(7));
  auto lock = shared_.lock();
  auto token = shared_.store().token(digest);
  if (!token) return std::unexpected(token.error());
  if (!*token || (*token)->expires_at <= shared_.now()) {
    return fail(ErrorCode::kNotTrusted, "unknown or expired token");
  }
  auto account = shared_.store().account((*token)->account);
  if (!account) return std::unexpected(account.error());
  if (!*account) return fail(ErrorCode::kNotTrusted, "the token's account no longer exists");
  auto role = parse_role((*account)->role);
  if (!role) return fail(ErrorCode::kNotTrusted, "account has an unknown role");
  return Caller{(*account)->name, *role};
}

Result<void> OperatorAccounts::add_account(const std::string& name, const std::string& role,
                                           const std::string& password) {
  if (!valid_name(name)) {
    return fail(ErrorCode::kInvalidArgument, "account name: letters, digits and . _ -");
  }
  if (!parse_role(role)) {
    return fail(ErrorCode::kInvalidArgument, "role must be viewer, operator or admin");
  }
  auto hash = hash_password(password);
  if (!hash) return std::unexpected(hash.error());
  auto lock = shared_.lock();
  Store& store = shared_.store();
  return store.transaction([&]() -> Result<void> {
    if (auto ok = store.add_account({name, role, *hash, shared_.now()}); !ok) return ok;
    return shared_.audit("server", "account.add", "ok", {{"account", name}, {"role", role}});
  });
}

HttpResponse OperatorAccounts::create(const HttpRequest& r, const Caller& caller) {
  if (r.method != "POST") return method_not_allowed("POST");
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return err;
  auto name = string_field(*body, "name");
  auto role = string_field(*body, "role");
  auto password = string_field(*body, "password");
  if (!name || !role || !password) {
    return error_response(400, "bad_field", "send {\"name\", \"role\", \"password\"}");
  }
  if (auto ok = add_account(*name, *role, *password); !ok) {
    if (ok.error().message.find("already exists") != std::string::npos) {
      return error_response(409, "conflict", "account exists");
    }
    return from_error(ok.error());
  }
  auto lock = shared_.lock();
  (void)shared_.audit("operator:" + caller.account, "account.create", "ok",
                      {{"account", *name}, {"role", *role}});
  return json_response(201, Json{{"name", *name}, {"role", *role}});
}

}  // namespace ironseal::fleet
