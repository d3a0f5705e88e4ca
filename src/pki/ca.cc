#include "pki/ca.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "core/file.h"
#include "crypto/hash.h"
#include "pki/ca_index.h"
#include "pki/ossl_x509.h"
#include "pki/profile.h"
#include "sql/sqlite.h"

namespace ironseal::pki {
namespace {

namespace fs = std::filesystem;

using profile::kBackdate;
using profile::kDay;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS certificates(
  serial TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  subject TEXT NOT NULL,
  device_serial TEXT,
  hardware_id TEXT,
  fingerprint TEXT NOT NULL UNIQUE,
  spki_sha256 TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  revoked_at INTEGER,
  revocation_reason TEXT,
  certificate_pem TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS certificates_by_device ON certificates(device_serial);
CREATE INDEX IF NOT EXISTS certificates_by_key ON certificates(spki_sha256);
CREATE TABLE IF NOT EXISTS device_bindings(
  device_serial TEXT PRIMARY KEY,
  spki_sha256 TEXT NOT NULL,
  hardware_id TEXT NOT NULL,
  bound_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS crl_numbers(ca TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS replacements(
  old_serial TEXT PRIMARY KEY,
  new_serial TEXT NOT NULL,
  archive_sha256 TEXT NOT NULL,
  replaced_at INTEGER NOT NULL);
)sql";

Result<void> make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create ", dir.string(), ": ", ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return fail(ErrorCode::kIo, "cannot chmod ", dir.string());
  return {};
}

std::string spki_hash(ByteView spki) {
  return to_hex(crypto::sha256(spki));
}

bool in_domain(const std::string& name, const std::string& domain) {
  return name == domain || (name.size() > domain.size() + 1 && name.ends_with(domain) &&
                            name[name.size() - domain.size() - 1] == '.');
}

bool valid_hostname(const std::string& name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

}  // namespace

namespace ca_index {

IndexEntry entry_from(const sql::Statement& s) {
  IndexEntry e;
  e.serial_hex = s.text(0);
  e.profile = s.text(1) == "server" ? Profile::kServer : Profile::kDevice;
  e.subject = s.text(2);
  e.device_serial = s.text(3);
  e.hardware_id = s.text(4);
  e.fingerprint_hex = s.text(5);
  e.spki_sha256_hex = s.text(6);
  e.not_before = s.integer(7);
  e.not_after = s.integer(8);
  e.revoked = !s.is_null(9);
  e.revoked_at = s.is_null(9) ? 0 : s.integer(9);
  e.revocation_reason = s.text(10);
  e.certificate_pem = s.text(11);
  return e;
}

Result<void> mark_revoked(sql::Database& db, std::string_view serial_hex, UnixTime at,
                          RevocationReason reason) {
  auto upd =
      db.prepare("UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ?");
  if (!upd) return std::unexpected(upd.error());
  return upd->bind(1, at).bind(2, revocation_reason_name(reason)).bind(3, serial_hex).run();
}

}  // namespace ca_index

using ca_index::ca_dir_name;
using ca_index::entry_from;
using ca_index::kSelectEntry;
using ca_index::mark_revoked;
using ca_index::select_entries;

std::string_view profile_name(Profile p) {
  return p == Profile::kDevice ? "device" : "server";
}

Result<Profile> parse_profile(std::string_view name) {
  if (name == "device") return Profile::kDevice;
  if (name == "server") return Profile::kServer;
  return fail(ErrorCode::kInvalidArgument, "unknown profile '", name, "' (device or server)");
}

std::string_view revocation_reason_name(RevocationReason r) {
  switch (r) {
    case RevocationReason::kUnspecified: return "unspecified";
    case RevocationReason::kKeyCompromise: return "keyCompromise";
    case RevocationReason::kAffiliationChanged: return "affiliationChanged";
    case RevocationReason::kSuperseded: return "superseded";
    case RevocationReason::kCessationOfOperation: return "cessationOfOperation";
  }
  return "unspecified";
}

Result<RevocationReason> parse_revocation_reason(std::string_view name) {
  for (auto r : {RevocationReason::kUnspecified, RevocationReason::kKeyCompromise,
                 RevocationReason::kAffiliationChanged, RevocationReason::kSuperseded,
                 RevocationReason::kCessationOfOperation}) {
    if (name == revocation_reason_name(r)) return r;
  }
  return fail(ErrorCode::kInvalidArgument, "unknown revocation reason '", name,
              "' (unspecified, keyCompromise, affiliationChanged, superseded, "
              "cessationOfOperation)");
}

Result<std::string> normalize_serial_hex(std::string_view text) {
  std::string hex;
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  for (char c : text) {
    if (c == ':') continue;
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return fail(ErrorCode::kInvalidArgument, "serial '", text, "' is not hexadecimal");
    }
    hex.push_back(c);
  }
  if (hex.size() % 2 == 1) hex.insert(hex.begin(), '0');
  while (hex.size() > 2 && hex.starts_with("00")) hex.erase(0, 2);
  if (hex.empty() || hex.size() > 40) return fail(ErrorCode::kInvalidArgument, "bad serial length");
  return hex;
}

// ---- State
// ----------------------------------------------------------------------------------------

CertificateAuthority::CertificateAuthority(std::unique_ptr<State> s) : state_(std::move(s)) {}
CertificateAuthority::CertificateAuthority(CertificateAuthority&&) noexcept = default;
CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&&) noexcept = default;
CertificateAuthority::~CertificateAuthority() = default;

const Certificate& CertificateAuthority::root() const {
  return state_->root;
}
const Certificate& CertificateAuthority::issuing_ca(Profile p) const {
  return state_->ca(p);
}

// ---- init / open --------------------------------------------------------------------------------

Result<void> CertificateAuthority::init(const fs::path& dir, const CaInitOptions& o) {
  if (fs::exists(dir / "index.sqlite") || fs::exists(dir / "root-ca.cert.pem") ||
      fs::exists(dir / "offline")) {
    return fail(ErrorCode::kInvalidArgument, dir.string(), " already holds a CA");
  }
  if (o.organization.empty() || o.organization.size() > 64) {
    return fail(ErrorCode::kInvalidArgument, "organization must be 1 to 64 characters");
  }
  if (!valid_hostname(o.server_domain)) {
    return fail(ErrorCode::kInvalidArgument, "server domain '", o.server_domain,
                "' is not a lower-case DNS name");
  }
  for (const auto& sub : {dir / "offline", dir / "device-ca", dir / "server-ca"}) {
    if (auto r = make_private_dir(sub); !r) return r;
  }
  const UnixTime start = o.now - kBackdate;
  const auto& lt = o.lifetimes;

  // The root: self-signed, may sign CAs one level down only (pathlen 1).
  auto root_key = KeyPair::generate_p256();
  if (!root_key) return std::unexpected(root_key.error());
  auto root =
      profile::sign_root_certificate(*root_key, o.organization, start, o.now + lt.root_days * kDay);
  if (!root) return std::unexpected(root.error());
  if (auto r = root_key->save(dir / "offline" / "root-ca.key.pem"); !r) return r;

  // The issuing CAs: signed by the root, may sign end-entity certificates only (pathlen 0),
  // restricted by EKU and name constraints to their one job.
  for (Profile p : {Profile::kDevice, Profile::kServer}) {
    auto key = KeyPair::generate_p256();
    if (!key) return std::unexpected(key.error());
    auto cert = profile::sign_issuing_ca_certificate(*root, *root_key, *key, p, o.organization,
                                                     o.server_domain, start,
                                                     o.now + lt.issuing_ca_days * kDay);
    if (!cert) return std::unexpected(cert.error());
    const fs::path sub = dir / ca_dir_name(p);
    if (auto r = key->save(sub / "key.pem"); !r) return r;
    if (auto r = write_file_atomic(sub / "cert.pem", as_bytes(cert->to_pem())); !r) return r;
  }
  if (auto r = write_file_atomic(dir / "root-ca.cert.pem", as_bytes(root->to_pem())); !r) return r;

  // The index last: its presence marks a complete CA.
  {
    auto db = sql::Database::open(dir / "index.sqlite.tmp", true);
    if (!db) return std::unexpected(db.error());
    if (auto r = db->exec(kSchema); !r) return r;
    const std::pair<std::string, std::string> settings[] = {
        {"format", "ironseal-ca-1"},
        {"organization", o.organization},
        {"server_domain", o.server_domain},
        {"device_days", std::to_string(lt.device_days)},
        {"server_days", std::to_string(lt.server_days)},
        {"crl_days", std::to_string(lt.crl_days)}};
    for (const auto& [k, v] : settings) {
      auto s = db->prepare("INSERT INTO settings(key, value) VALUES (?, ?)");
      if (!s) return std::unexpected(s.error());
      if (auto r = s->bind(1, k).bind(2, v).run(); !r) return r;
    }
    if (auto r = db->exec("PRAGMA journal_mode=DELETE"); !r) return r;  // one file to rename
  }
  std::error_code ec;
  fs::rename(dir / "index.sqlite.tmp", dir / "index.sqlite", ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create the index: ", ec.message());

  auto ca = open(dir);
  if (!ca) return std::unexpected(ca.error());
  for (Profile p : {Profile::kDevice, Profile::kServer}) {
    if (auto crl = ca->publish_crl(p, o.now); !crl) return std::unexpected(crl.error());
  }
  return {};
}

Result<CertificateAuthority> CertificateAuthority::open(const fs::path& dir) {
  if (!fs::exists(dir / "index.sqlite")) {
    return fail(ErrorCode::kNotFound, dir.string(), " is not a CA directory (no index.sqlite)");
  }
  auto db = sql::Database::open(dir / "index.sqlite", false);
  if (!db) return std::unexpected(db.error());
  if (auto r = db->exec(kSchema); !r) return std::unexpected(r.error());
  auto root = Certificate::load(dir / "root-ca.cert.pem");
  auto device_ca = Certificate::load(dir / "device-ca" / "cert.pem");
  auto server_ca = Certificate::load(dir / "server-ca" / "cert.pem");
  if (!root) return std::unexpected(root.error());
  if (!device_ca) return std::unexpected(device_ca.error());
  if (!server_ca) return std::unexpected(server_ca.error());
  auto device_key = KeyPair::load(dir / "device-ca" / "key.pem");
  if (!device_key) return std::unexpected(device_key.error());
  auto server_key = KeyPair::load(dir / "server-ca" / "key.pem");
  if (!server_key) return std::unexpected(server_key.error());
  if (device_key->spki_der() != device_ca->spki_der() ||
      server_key->spki_der() != server_ca->spki_der()) {
    return fail(ErrorCode::kNotTrusted, dir.string(),
                ": an issuing CA key does not match its certificate");
  }
  auto state = std::make_unique<State>(
      State{dir, std::move(*db), std::move(*root), std::move(*device_ca), std::move(*server_ca),
            std::move(*device_key), std::move(*server_key), "", "", CaLifetimes{}});
  auto s = state->db.prepare("SELECT key, value FROM settings");
  if (!s) return std::unexpected(s.error());
  bool format_ok = false;
  bool lifetimes_ok = true;
  for (;;) {
    auto row = s->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const std::string k = s->text(0), v = s->text(1);
    if (k == "format") format_ok = v == "ironseal-ca-1";
    if (k == "organization") state->organization = v;
    if (k == "server_domain") state->server_domain = v;
    auto days = [&](std::int64_t* out) {
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
      lifetimes_ok = lifetimes_ok && ec == std::errc() && end == v.data() + v.size() && *out > 0;
    };
    if (k == "device_days") days(&state->lifetimes.device_days);
    if (k == "server_days") days(&state->lifetimes.server_days);
    if (k == "crl_days") days(&state->lifetimes.crl_days);
  }
  if (!format_ok || !lifetimes_ok || state->organization.empty()) {
    return fail(ErrorCode::kMalformed, dir.string(), ": unknown CA index format");
  }
  return CertificateAuthority(std::move(state));
}

// ---- issue
// ----------------------------------------------------------------------------------------

namespace {

// The names a CSR asks for, as the profile allows them: a device CSR exactly one device URN
// matching its subject serialNumber (and the registered hardware id, when given); a server CSR
// only lower-case host names in the CA's domain.
struct RequestedNames {
  DeviceName device;
  std::vector<std::string> dns;
};

Result<RequestedNames> requested_names(const CertificateRequest& csr, Profile profile,
                                       const IssueOptions& o, const std::string& server_domain) {
  RequestedNames out;
  if (profile == Profile::kServer) {
    out.dns = csr.requested_dns_names();
    if (out.dns.empty() || !csr.requested_uris().empty()) {
      return fail_because(ErrorCode::kNotTrusted, "identity_invalid",
                          "a server CSR must request DNS names (and nothing else)");
    }
    for (const auto& d : out.dns) {
      if (!valid_hostname(d) || !in_domain(d, server_domain)) {
        return fail_because(ErrorCode::kNotTrusted, "name_not_permitted", "'", d,
                            "' is not a lower-case host name in ", server_domain);
      }
    }
    return out;
  }
  const auto uris = csr.requested_uris();
  if (uris.size() != 1 || !csr.requested_dns_names().empty()) {
    return fail_because(ErrorCode::kNotTrusted, "identity_invalid",
                        "a device CSR must request exactly one subjectAltName, the "
                        "URI urn:ironseal:device:<hardware-id>:<serial>");
  }
  auto name = parse_device_urn(uris.front());
  if (!name) return fail_because(ErrorCode::kNotTrusted, "identity_invalid", name.error().message);
  if (csr.subject_serial_number() != name->serial) {
    return fail_because(ErrorCode::kNotTrusted, "identity_invalid", "subject serialNumber '",
                        csr.subject_serial_number(), "' does not match the URN's serial '",
                        name->serial, "'");
  }
  if (o.expected_hardware_id && name->hardware_id != *o.expected_hardware_id) {
    return fail_because(ErrorCode::kNotTrusted, "hardware_mismatch", "the CSR names hardware id '",
                        name->hardware_id, "', device ", name->serial, " is registered as '",
                        *o.expected_hardware_id, "'");
  }
  out.device = *name;
  return out;
}

// A key revoked for compromise is never certified again, for any serial or profile.
Result<void> refuse_compromised_key(sql::Database& db, const std::string& key_hash) {
  auto q = db.prepare(
      "SELECT serial FROM certificates WHERE spki_sha256 = ? AND "
      "revocation_reason = 'keyCompromise' LIMIT 1");
  if (!q) return std::unexpected(q.error());
  q->bind(1, key_hash);
  auto row = q->step();
  if (!row) return std::unexpected(row.error());
  if (*row) {
    return fail_because(ErrorCode::kNotTrusted, "key_revoked", "the CSR's public key (SHA-256 ",
                        key_hash, ") was revoked for keyCompromise (certificate ", q->text(0),
                        ") and is never certified again; the device needs a new key");
  }
  return {};
}

// What the device's binding says about an enrolment: the certificate to hand back unchanged (a
// replayed enrolment), or the current certificates a new one supersedes.
struct BindingDecision {
  std::optional<IndexEntry> existing;
  std::vector<std::string> superseded;
};

// Inserts the serial's first key binding, or moves it to a new key for a re-enrolment that names
// the current certificate of the bound key (`replaces`); anything else that names another key or
// hardware id is refused.
Result<void> update_binding(sql::Database& db, const DeviceName& device,
                            const std::string& key_hash, const IndexEntry* replaced, UnixTime now,
                            bool* same_key) {
  auto q =
      db.prepare("SELECT spki_sha256, hardware_id FROM device_bindings WHERE device_serial = ?");
  if (!q) return std::unexpected(q.error());
  q->bind(1, device.serial);
  auto row = q->step();
  if (!row) return std::unexpected(row.error());
  *same_key = false;
  if (!*row) {
    auto ins = db.prepare(
        "INSERT INTO device_bindings(device_serial, spki_sha256, hardware_id, bound_at) "
        "VALUES (?, ?, ?, ?)");
    if (!ins) return std::unexpected(ins.error());
    return ins->bind(1, device.serial)
        .bind(2, key_hash)
        .bind(3, device.hardware_id)
        .bind(4, now)
        .run();
  }
  if (q->text(1) != device.hardware_id) {
    return fail_because(ErrorCode::kNotTrusted, "hardware_mismatch", "device serial ",
                        device.serial, " is bound with hardware id '", q->text(1),
                        "', the CSR names '", device.hardware_id, "'");
  }
  if (q->text(0) == key_hash) {
    *same_key = true;
    return {};
  }
  if (replaced == nullptr || replaced->spki_sha256_hex != q->text(0)) {
    return fail_because(
        ErrorCode::kNotTrusted, "serial_bound_to_other_key", "device serial ", device.serial,
        " is already bound to another key (SHA-256 of its public key ", q->text(0), ")");
  }
  auto upd = db.prepare(
      "UPDATE device_bindings SET spki_sha256 = ?, bound_at = ? WHERE device_serial = ?");
  if (!upd) return std::unexpected(upd.error());
  return upd->bind(1, key_hash).bind(2, now).bind(3, device.serial).run();
}

// One device serial, one key: the binding the factory made is what later enrolments prove. A
// serial holds at most one current certificate, so a new one supersedes the others.
Result<BindingDecision> bind_device(sql::Database& db, const DeviceName& device,
                                    const std::string& key_hash,
                                    const std::optional<std::string>& replaces, UnixTime now) {
  auto current = select_entries(db,
                                "WHERE profile = 'device' AND device_serial = ? AND "
                                "revoked_at IS NULL AND not_after > ? "
                                "ORDER BY not_before DESC, serial",
                                [&](sql::Statement& s) { s.bind(1, device.serial).bind(2, now); });
  if (!current) return std::unexpected(current.error());
  const IndexEntry* replaced = nullptr;
  for (const auto& e : *current) {
    if (replaces && e.serial_hex == *replaces) replaced = &e;
  }
  bool same_key = false;
  if (auto r = update_binding(db, device, key_hash, replaced, now, &same_key); !r) {
    return std::unexpected(r.error());
  }
  BindingDecision out;
  if (same_key && replaced == nullptr) {
    // The same key, not a re-enrolment from the serial's current certificate: an enrolment
    // retried or replayed (the same CSR again, a station that crashed half-way). The key's
    // current certificate is the answer; nothing is minted.
    for (const auto& e : *current) {
      if (e.spki_sha256_hex != key_hash || e.hardware_id != device.hardware_id) continue;
      out.existing = e;
      return out;
    }
  }
  for (const auto& e : *current) out.superseded.push_back(e.serial_hex);
  return out;
}

Result<void> record_certificate(sql::Database& db, const Certificate& cert, Profile profile,
                                const DeviceName& device, const std::string& key_hash) {
  auto ins = db.prepare(
      "INSERT INTO certificates(serial, profile, subject, device_serial, hardware_id, "
      "fingerprint, spki_sha256, not_before, not_after, certificate_pem) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return std::unexpected(ins.error());
  ins->bind(1, cert.serial_hex()).bind(2, profile_name(profile)).bind(3, cert.subject());
  if (profile == Profile::kDevice) {
    ins->bind(4, device.serial).bind(5, device.hardware_id);
  } else {
    ins->bind_null(4).bind_null(5);
  }
  ins->bind(6, cert.fingerprint_hex())
      .bind(7, key_hash)
      .bind(8, cert.not_before())
      .bind(9, cert.not_after())
      .bind(10, cert.to_pem());
  return ins->run();
}

}  // namespace

Result<IssuedCertificate> CertificateAuthority::issue(const CertificateRequest& csr,
                                                      Profile profile, const IssueOptions& o) {
  State& st = *state_;
  std::optional<std::string> replaces;
  if (o.replaces_serial_hex) {
    auto n = normalize_serial_hex(*o.replaces_serial_hex);
    if (!n) return std::unexpected(n.error());
    replaces = *n;
  }
  if (auto r = csr.verify_proof_of_possession(); !r) return std::unexpected(r.error());
  const Bytes spki = csr.spki_der();
  if (auto r = check_key_allowed(spki); !r) return std::unexpected(r.error());
  const std::string key_hash = spki_hash(spki);
  auto names = requested_names(csr, profile, o, st.server_domain);
  if (!names) return std::unexpected(names.error());

  auto tx = st.db.begin();
  if (!tx) return std::unexpected(tx.error());
  if (auto r = refuse_compromised_key(st.db, key_hash); !r) return std::unexpected(r.error());
  std::vector<std::string> superseded;
  if (profile == Profile::kDevice) {
    auto decision = bind_device(st.db, names->device, key_hash, replaces, o.now);
    if (!decision) return std::unexpected(decision.error());
    if (decision->existing) {
      auto cert = Certificate::from_pem(decision->existing->certificate_pem);
      if (!cert) return std::unexpected(cert.error());
      return IssuedCertificate{std::move(*cert), st.ca(profile), true};
    }
    superseded = std::move(decision->superseded);
  }
  const Certificate& ca = st.ca(profile);
  const std::int64_t days =
      profile == Profile::kDevice ? st.lifetimes.device_days : st.lifetimes.server_days;
  // Never beyond the issuing CA: a chain is only as valid as its shortest-lived link.
  const UnixTime not_after = std::min<UnixTime>(o.now + days * kDay, ca.not_after());
  const profile::EndEntity ee{&ca,
                              &st.key(profile),
                              X509_REQ_get0_pubkey(csr.handle().req.get()),
                              st.organization,
                              o.now - kBackdate,
                              not_after};
  auto cert = profile == Profile::kDevice ? profile::sign_device_certificate(ee, names->device)
                                          : profile::sign_server_certificate(ee, names->dns);
  if (!cert) return std::unexpected(cert.error());
  if (auto r = record_certificate(st.db, *cert, profile, names->device, key_hash); !r) {
    return std::unexpected(r.error());
  }
  for (const auto& serial : superseded) {
    if (auto r = mark_revoked(st.db, serial, o.now, RevocationReason::kSuperseded); !r) {
      return std::unexpected(r.error());
    }
  }
  if (auto r = tx->commit(); !r) return std::unexpected(r.error());
  if (!superseded.empty()) {
    if (auto crl = publish_crl(profile, o.now); !crl) return std::unexpected(crl.error());
  }
  return IssuedCertificate{std::move(*cert), ca, false};
}

// ---- queries
// --------------------------------------------------------------------------------------

Result<std::optional<IndexEntry>> CertificateAuthority::find_serial(std::string_view serial_text) {
  auto serial = normalize_serial_hex(serial_text);
  if (!serial) return std::unexpected(serial.error());
  auto q = state_->db.prepare(std::string(kSelectEntry) + "WHERE serial = ?");
  if (!q) return std::unexpected(q.error());
  q->bind(1, *serial);
  auto row = q->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<IndexEntry>();
  return std::optional<IndexEntry>(entry_from(*q));
}

Result<std::optional<IndexEntry>> CertificateAuthority::find_fingerprint(
    std::string_view fingerprint_hex) {
  auto q = state_->db.prepare(std::string(kSelectEntry) + "WHERE fingerprint = ?");
  if (!q) return std::unexpected(q.error());
  q->bind(1, fingerprint_hex);
  auto row = q->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<IndexEntry>();
  return std::optional<IndexEntry>(entry_from(*q));
}

Result<std::vector<IndexEntry>> CertificateAuthority::list() {
  return select_entries(state_->db, "ORDER BY not_before, serial", [](sql::Statement&) {});
}

Result<std::vector<Bytes>> issue_device_der(CertificateAuthority& ca, ByteView csr_der,
                                            const DeviceName& authenticated,
                                            const IssueOptions& options) {
  auto csr = CertificateRequest::from_der(csr_der);
  if (!csr) return std::unexpected(csr.error());
  const auto uris = csr->requested_uris();
  if (uris.size() != 1 || uris.front() != device_urn(authenticated)) {
    return fail_because(ErrorCode::kNotTrusted, "identity_mismatch", "the CSR does not name ",
                        device_urn(authenticated), ", the identity the connection proved");
  }
  auto issued = ca.issue(*csr, Profile::kDevice, options);
  if (!issued) return std::unexpected(issued.error());
  return std::vector<Bytes>{issued->certificate.der(), issued->issuing_ca.der()};
}

}  // namespace ironseal::pki
