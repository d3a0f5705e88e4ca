// FleetService: the composition of the fleet service's parts (service.h), its start-up and
// periodic work, and the rendering of security.txt.
#include "fleet/service.h"

#include <tuple>
#include <utility>

namespace ironseal::fleet {

using Json = nlohmann::json;

FleetService::FleetService(ServiceConfig config, std::unique_ptr<Store> store,
                           std::unique_ptr<UpdateRepositories> repositories,
                           CertificateIssuer* issuer, Metrics& metrics, Clock clock)
    : shared_(std::move(store), std::move(clock)),
      rollouts_(shared_, std::move(repositories), metrics, config.director_refresh_s),
      sessions_(shared_, rollouts_, metrics, config.poll_interval_s, config.device_limits),
      est_(issuer, shared_, metrics),
      accounts_(shared_, metrics, config.token_lifetime_s, config.login),
      operator_api_(shared_, rollouts_, sessions_, metrics),
      router_(RouterConfig{std::move(config.security_txt), config.metrics_public,
                           std::move(config.repository)},
              Router::Parts{shared_, accounts_, sessions_, est_, operator_api_}),
      audit_dir_(config.audit_dir),
      audit_key_(config.audit_key),
      audit_every_(config.audit_checkpoint_every) {}

Result<void> FleetService::open_audit(const std::string& opened_event) {
  if (audit_dir_.empty()) return {};
  auto signer = crypto::open_signer(audit_key_);
  if (!signer) return fail_in(signer.error(), "audit key ", audit_key_, ": ");
  auto lock = shared_.lock();
  if (auto ok = shared_.open_audit_log(audit_dir_, std::move(*signer), audit_every_); !ok) {
    return fail_in(ok.error(), "audit trail ", audit_dir_.string(), ": ");
  }
  return shared_.audit("server", opened_event, "info", Json::object());
}

HttpResponse FleetService::handle(const HttpRequest& request) {
  return router_.handle(request);
}

FleetService::Dispatch FleetService::dispatch(const HttpRequest& request) {
  return router_.dispatch(request);
}

Result<void> FleetService::reconcile() {
  auto lock = shared_.lock();
  return rollouts_.reconcile();
}

void FleetService::tick() {
  auto lock = shared_.lock();
  sessions_.flush_checkins();
  rollouts_.tick();
  (void)shared_.flush_audit();  // a failure here also failed (and was reported by) an append
}

Result<void> FleetService::add_account(const std::string& name, const std::string& role,
                                       const std::string& password) {
  return accounts_.add_account(name, role, password);
}

}  // namespace ironseal::fleet
