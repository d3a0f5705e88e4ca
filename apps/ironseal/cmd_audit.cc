// `ironseal audit`: the hash-chained audit trail (docs/audit.md).
//   append       add a record (scripts, the integrator's application), signed checkpoints with --key
//   checkpoint   sign the head now
//   verify       find modified, deleted, inserted, reordered or cut records; name the first bad one
//   show         the records that verify, filtered (stops at the first bad one, exit 1)
//   export       RFC 5424 syslog or JSON lines, for a collector
// verify, show and export also read a fleet server's trail: PATH https://SERVER (audit_cli.h).
#include <unistd.h>

#include <iostream>

#include "audit/export.h"
#include "audit/log.h"
#include "audit/verify.h"
#include "audit_cli.h"
#include "cli.h"
#include "crypto/signer.h"
#include "device/device_audit.h"

namespace ironseal::cli {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

struct AuditArgs {
  std::string path;
  std::string key;  // private key (append, checkpoint) or public key (verify, show, export)
  std::string actor = "operator:cli", event, outcome = "ok", details = "{}";
  std::string since, event_prefix, actor_filter, format = "jsonl", hostname;
  std::string journal_socket = "/run/systemd/journal/socket";
  std::string device;
  std::string token, cacert;  // PATH https://SERVER: the operator API's bearer token and CA
  bool json = false;
};

Result<std::optional<crypto::PublicKey>> load_public(const std::string& path) {
  if (path.empty()) return std::optional<crypto::PublicKey>();
  auto k = crypto::PublicKey::load(path);
  if (!k) return fail_in(k.error(), "--key ", path, ": ");
  return std::optional<crypto::PublicKey>(std::move(*k));
}

Json report_json(const audit::VerifyReport& r) {
  Json j = {{"ok", !r.problem.has_value()}, {"records", r.records}, {"checkpoints", r.checkpoints},
            {"last_seq", r.last_seq}, {"head", r.head}, {"signed_through", r.signed_through},
            {"unsigned_tail", r.last_seq - r.signed_through},
            {"signatures_checked", r.signatures_checked}, {"files", r.files}};
  if (r.problem) {
    j["problem"] = {{"reason", r.problem->reason}, {"file", r.problem->file},
                    {"line", r.problem->line}, {"seq", r.problem->seq},
                    {"detail", r.problem->detail}};
  }
  return j;
}

Result<void> verdict(const audit::VerifyReport& r) {
  if (!r.problem) return {};
  const auto& p = *r.problem;
  return fail_because(ErrorCode::kNotTrusted, p.reason, p.file, ":", std::to_string(p.line),
                      ": record ", std::to_string(p.seq), ": ", p.detail);
}

// `audit checkpoint --device DIR`: the device's trail, signed by its identity key (file or TPM).
Result<void> do_device_checkpoint(const AuditArgs& a) {
  auto trail = boot::DeviceAudit::open(a.device);
  if (!trail) return std::unexpected(trail.error());
  auto r = trail->checkpoint();
  if (!r) return std::unexpected(r.error());
  if (a.json) print_json(Json::parse(audit::encode(*r)));
  return {};
}

Result<void> do_append(const AuditArgs& a) {
  Json details = Json::parse(a.details, nullptr, false);
  if (details.is_discarded() || !details.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "--details must be a JSON object");
  }
  std::unique_ptr<crypto::Signer> signer;
  if (!a.key.empty()) {
    auto s = crypto::open_signer(a.key);
    if (!s) return std::unexpected(s.error());
    signer = std::move(*s);
  }
  auto log = audit::Log::open(a.path, signer.get());
  if (!log) return std::unexpected(log.error());
  auto r = a.event.empty() ? log->checkpoint()
                           : log->append(a.actor, a.event, a.outcome, std::move(details));
  if (!r) return std::unexpected(r.error());
  if (a.json) print_json(Json::parse(audit::encode(*r)));
  return {};
}

// PATH as given, or a server's trail copied into a temporary directory (null for a local PATH).
Result<std::unique_ptr<RemoteTrail>> remote_source(const AuditArgs& a) {
  if (!is_remote(a.path)) return std::unique_ptr<RemoteTrail>();
  return fetch_remote_trail(a.path, a.token, a.cacert);
}

// A report on a copied trail names the server's segments, not the temporary files.
void name_remote_files(const RemoteTrail* remote, audit::VerifyReport& r) {
  if (remote == nullptr) return;
  for (auto& f : r.files) f = remote->shown(f);
  if (r.problem) r.problem->file = remote->shown(r.problem->file);
}

Result<void> do_verify(const AuditArgs& a) {
  auto key = load_public(a.key);
  if (!key) return std::unexpected(key.error());
  auto remote = remote_source(a);
  if (!remote) return std::unexpected(remote.error());
  const fs::path path = *remote ? (*remote)->dir() : fs::path(a.path);
  auto r = audit::verify_log(path, *key ? &**key : nullptr);
  if (!r) return std::unexpected(r.error());
  name_remote_files(remote->get(), *r);
  if (a.json) {
    print_json(report_json(*r));
  } else if (!r->problem) {
    std::cout << "intact: " << r->records << " records (" << r->checkpoints << " checkpoints), "
              << "last " << r->last_seq << "; signed through " << r->signed_through
              << (r->signatures_checked ? "" : " (signatures NOT checked: no --key)") << "; "
              << (r->last_seq - r->signed_through) << " records after the last checkpoint\n";
  }
  return verdict(*r);
}

Result<void> do_show(const AuditArgs& a, bool export_mode) {
  auto key = load_public(a.key);
  if (!key) return std::unexpected(key.error());
  std::string host = a.hostname;
  if (host.empty()) {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    host = buf;
  }
  auto remote = remote_source(a);
  if (!remote) return std::unexpected(remote.error());
  const fs::path path = *remote ? (*remote)->dir() : fs::path(a.path);
  Json list = Json::array();
  std::optional<audit::JournalSink> journal;
  std::optional<Error> sink_error;
  if (export_mode && a.format == "journal") {
    auto j = audit::JournalSink::open(a.journal_socket);
    if (!j) return std::unexpected(j.error());
    journal.emplace(std::move(*j));
  }
  auto r = audit::verify_log(path, *key ? &**key : nullptr, [&](const audit::Record& rec) {
    if (!a.since.empty() && rec.time < a.since) return;
    if (!a.event_prefix.empty() && !rec.event.starts_with(a.event_prefix)) return;
    if (!a.actor_filter.empty() && rec.actor != a.actor_filter) return;
    if (journal) {
      if (auto sent = journal->send(audit::to_journal(rec)); !sent && !sink_error) {
        sink_error = sent.error();
      }
    } else if (export_mode) {
      std::cout << (a.format == "syslog" ? audit::to_syslog(rec, host) : audit::encode(rec)) << "\n";
    } else if (a.json) {
      list.push_back(Json::parse(audit::encode(rec)));
    } else {
      std::cout << rec.seq << "  " << rec.time << "  " << rec.actor << "  " << rec.event << "  "
                << rec.outcome << "  " << rec.details.dump() << "\n";
    }
  });
  if (!r) return std::unexpected(r.error());
  name_remote_files(remote->get(), *r);
  if (a.json && !export_mode) print_json({{"records", list}, {"verification", report_json(*r)}});
  if (sink_error) return std::unexpected(*sink_error);
  return verdict(*r);
}

constexpr const char* kPathHelp =
    "audit log directory, one segment file, or https://SERVER: a fleet server's trail through its "
    "operator API (docs/fleet-api.md)";

void add_server_options(CLI::App* cmd, AuditArgs* a) {
  cmd->add_option("--token", a->token, "PATH https://...: bearer token of any role "
                                       "(or IRONSEAL_FLEET_TOKEN)");
  cmd->add_option("--cacert", a->cacert, "PATH https://...: CA certificate(s) to trust for the "
                                         "server (or IRONSEAL_FLEET_CACERT)");
}

}  // namespace

void register_audit_commands(CLI::App& app) {
  auto* audit = app.add_subcommand(
      "audit", "The hash-chained audit trail: append, checkpoint, verify, show, export "
               "(docs/audit.md)");
  audit->require_subcommand(1);
  auto a = std::make_shared<AuditArgs>();

  auto* append = audit->add_subcommand(
      "append", "Append a record to the audit log in DIR (created 0700 when missing). With --key, "
                "a signed checkpoint follows every 256 records");
  append->add_option("DIR", a->path, "audit log directory")->required();
  append->add_option("--event", a->event, "what happened, e.g. config.change")->required();
  append->add_option("--actor", a->actor, "who did it")->capture_default_str();
  append->add_option("--outcome", a->outcome, "ok, refused, failed or info")->capture_default_str()
      ->check(CLI::IsMember({"ok", "refused", "failed", "info"}));
  append->add_option("--details", a->details, "a JSON object (no floating-point numbers)")
      ->capture_default_str();
  append->add_option("--key", a->key, "checkpoint signing key: a 0600 PEM file or a pkcs11: URI");
  append->add_flag("--json", a->json, "print the record as JSON");
  set_action(append, [a] { return do_append(*a); });

  auto* cp = audit->add_subcommand("checkpoint", "Sign the log's head now (a checkpoint record "
                                                 "and checkpoint.json)");
  auto* cp_dir = cp->add_option("DIR", a->path, "audit log directory");
  auto* cp_key = cp->add_option("--key", a->key, "signing key: a 0600 PEM file or a pkcs11: URI");
  auto* cp_dev = cp->add_option("--device", a->device,
                                "a device directory: sign its trail (DEVICE/audit) with the "
                                "device's identity key, a file or a TPM key");
  cp_dev->excludes(cp_dir)->excludes(cp_key);
  cp->add_flag("--json", a->json, "print the checkpoint record as JSON");
  set_action(cp, [a]() -> Result<void> {
    if (!a->device.empty()) return do_device_checkpoint(*a);
    if (a->path.empty() || a->key.empty()) {
      return fail(ErrorCode::kInvalidArgument, "give DIR and --key, or --device DIR");
    }
    a->event.clear();
    return do_append(*a);
  });

  auto* verify = audit->add_subcommand(
      "verify", "Check the chain and the checkpoints. Exit 1 naming the first bad record: "
                "modified, broken_chain (deleted/inserted/moved), sequence_gap, bad_checkpoint, "
                "truncated (cut below the last signed checkpoint), malformed_record");
  verify->add_option("PATH", a->path, kPathHelp)->required();
  verify->add_option("--key", a->key, "public key the checkpoints are signed with (without it the "
                                      "chain is checked, the signatures are not)");
  verify->add_flag("--json", a->json, "print the verification as JSON");
  add_server_options(verify, a.get());
  set_action(verify, [a] { return do_verify(*a); });

  auto* show = audit->add_subcommand(
      "show", "Print the records that verify, filtered; stops with exit 1 at the first bad one");
  show->add_option("PATH", a->path, kPathHelp)->required();
  show->add_option("--key", a->key, "public key of the checkpoints");
  show->add_option("--since", a->since, "only records at or after this RFC 3339 UTC time");
  show->add_option("--event", a->event_prefix, "only events starting with this, e.g. auth.");
  show->add_option("--actor", a->actor_filter, "only this actor");
  show->add_flag("--json", a->json, "print records and verification as JSON");
  add_server_options(show, a.get());
  set_action(show, [a] { return do_show(*a, false); });

  auto* exp = audit->add_subcommand(
      "export", "Write the verified records as RFC 5424 syslog lines, JSON lines or journal entries for a "
                "collector; stops with exit 1 at the first bad record");
  exp->add_option("PATH", a->path, kPathHelp)->required();
  exp->add_option("--format", a->format,
                  "syslog, jsonl, or journal (sent to systemd's journal, one entry per record with "
                  "IRONSEAL_* fields)")
      ->capture_default_str()
      ->check(CLI::IsMember({"syslog", "jsonl", "journal"}));
  exp->add_option("--journal-socket", a->journal_socket, "The journal's native socket")
      ->capture_default_str();
  exp->add_option("--hostname", a->hostname, "HOSTNAME field of syslog lines (default: this host)");
  exp->add_option("--key", a->key, "public key of the checkpoints");
  exp->add_option("--since", a->since, "only records at or after this RFC 3339 UTC time");
  exp->add_option("--event", a->event_prefix, "only events starting with this");
  add_server_options(exp, a.get());
  set_action(exp, [a] { return do_show(*a, true); });
}

}  // namespace ironseal::cli
