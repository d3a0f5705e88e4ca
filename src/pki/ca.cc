#include "pki/ca.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "core/file.h"
#include "crypto/hash.h"
#include "pki/ossl_x509.h"
#include "pki/profile.h"
#include "pki/sqlite.h"

namespace ironseal::pki {
namespace {

namespace fs = std::filesystem;

using profile::kBackdate;
using profile::kDay;
using profile::add_conf_extensions;
using profile::add_name_constraints;
using profile::make_name;
using profile::new_certificate;
using profile::sign_certificate;

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
)sql";

std::string ca_dir_name(Profile p) {
  return p == Profile::kDevice ? "device-ca" : "server-ca";
}

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

constexpr const char* kSelectEntry =
    "SELECT serial, profile, subject, device_serial, hardware_id, fingerprint, spki_sha256, "
    "not_before, not_after, revoked_at, revocation_reason, certificate_pem FROM certificates ";

// The index entries `where` selects (appended to kSelectEntry; `bind` fills its parameters).
template <typename Bind>
Result<std::vector<IndexEntry>> select_entries(sql::Database& db, std::string_view where,
                                               Bind bind) {
  auto q = db.prepare(std::string(kSelectEntry) + std::string(where));
  if (!q) return std::unexpected(q.error());
  bind(*q);
  std::vector<IndexEntry> out;
  for (;;) {
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(entry_from(*q));
  }
  return out;
}

Result<void> mark_revoked(sql::Database& db, std::string_view serial_hex, UnixTime at,
                          RevocationReason reason) {
  auto upd =
      db.prepare("UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ?");
  if (!upd) return std::unexpected(upd.error());
  return upd->bind(1, at).bind(2, revocation_reason_name(reason)).bind(3, serial_hex).run();
}

}  // namespace

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

struct CertificateAuthority::State {
  fs::path dir;
  sql::Database db;
  Certificate root;
  Certificate device_ca;
  Certificate server_ca;
  KeyPair device_key;
  KeyPair server_key;
  std::string organization;
  std::string server_domain;
  CaLifetimes lifetimes;

  const Certificate& ca(Profile p) const { return p == Profile::kDevice ? device_ca : server_ca; }
  const KeyPair& key(Profile p) const { return p == Profile::kDevice ? device_key : server_key; }
};

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
  auto root_name = make_name(
      {{NID_organizationName, o.organization}, {NID_commonName, o.organization + " Root CA"}});
  if (!root_name) return std::unexpected(root_name.error());
  EVP_PKEY* rk = root_key->handle().pkey.get();
  auto root_x =
      new_certificate(root_name->get(), root_name->get(), rk, start, o.now + lt.root_days * kDay);
  if (!root_x) return std::unexpected(root_x.error());
  if (auto r = add_conf_extensions(root_x->get(), root_x->get(),
                                   {{NID_basic_constraints, "critical,CA:TRUE,pathlen:1"},
                                    {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                    {NID_subject_key_identifier, "hash"}});
      !r) {
    return r;
  }
  auto root = sign_certificate(std::move(*root_x), rk);
  if (!root) return std::unexpected(root.error());
  if (auto r = root_key->save(dir / "offline" / "root-ca.key.pem"); !r) return r;

  // The issuing CAs: signed by the root, may sign end-entity certificates only (pathlen 0),
  // restricted by EKU and name constraints to their one job.
  for (Profile p : {Profile::kDevice, Profile::kServer}) {
    auto key = KeyPair::generate_p256();
    if (!key) return std::unexpected(key.error());
    const std::string cn =
        o.organization + (p == Profile::kDevice ? " Device Issuing CA" : " Server Issuing CA");
    auto name = make_name({{NID_organizationName, o.organization}, {NID_commonName, cn}});
    if (!name) return std::unexpected(name.error());
    auto x = new_certificate(name->get(), root_name->get(), key->handle().pkey.get(), start,
                             o.now + lt.issuing_ca_days * kDay);
    if (!x) return std::unexpected(x.error());
    X509* root_cert = root->handle().x509.get();
    if (auto r = add_conf_extensions(
            x->get(), root_cert,
            {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
             {NID_key_usage, "critical,keyCertSign,cRLSign"},
             {NID_ext_key_usage, p == Profile::kDevice ? "clientAuth" : "serverAuth"},
             {NID_subject_key_identifier, "hash"},
             {NID_authority_key_identifier, "keyid:always"}});
        !r) {
      return r;
    }
    if (auto r = add_name_constraints(x->get(), o.organization,
                                      p == Profile::kServer ? o.server_domain : "");
        !r) {
      return r;
    }
    auto cert = sign_certificate(std::move(*x), rk);
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

  DeviceName device;
  std::vector<std::string> dns;
  if (profile == Profile::kDevice) {
    const auto uris = csr.requested_uris();
    if (uris.size() != 1 || !csr.requested_dns_names().empty()) {
      return fail(ErrorCode::kNotTrusted,
                  "identity_invalid: a device CSR must request exactly one subjectAltName, the "
                  "URI urn:ironseal:device:<hardware-id>:<serial>");
    }
    auto name = parse_device_urn(uris.front());
    if (!name) return fail(ErrorCode::kNotTrusted, "identity_invalid: ", name.error().message);
    if (csr.subject_serial_number() != name->serial) {
      return fail(ErrorCode::kNotTrusted, "identity_invalid: subject serialNumber '",
                  csr.subject_serial_number(), "' does not match the URN's serial '", name->serial,
                  "'");
    }
    device = *name;
    if (o.expected_hardware_id && device.hardware_id != *o.expected_hardware_id) {
      return fail(ErrorCode::kNotTrusted, "hardware_mismatch: the CSR names hardware id '",
                  device.hardware_id, "', device ", device.serial, " is registered as '",
                  *o.expected_hardware_id, "'");
    }
  } else {
    dns = csr.requested_dns_names();
    if (dns.empty() || !csr.requested_uris().empty()) {
      return fail(ErrorCode::kNotTrusted,
                  "identity_invalid: a server CSR must request DNS names (and nothing else)");
    }
    for (const auto& d : dns) {
      if (!valid_hostname(d) || !in_domain(d, st.server_domain)) {
        return fail(ErrorCode::kNotTrusted, "name_not_permitted: '", d,
                    "' is not a lower-case host name in ", st.server_domain);
      }
    }
  }

  auto tx = st.db.begin();
  if (!tx) return std::unexpected(tx.error());
  // A key revoked for compromise is never certified again, for any serial or profile.
  {
    auto q = st.db.prepare(
        "SELECT serial FROM certificates WHERE spki_sha256 = ? AND "
        "revocation_reason = 'keyCompromise' LIMIT 1");
    if (!q) return std::unexpected(q.error());
    q->bind(1, key_hash);
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (*row) {
      return fail(ErrorCode::kNotTrusted, "key_revoked: the CSR's public key (SHA-256 ", key_hash,
                  ") was revoked for keyCompromise (certificate ", q->text(0),
                  ") and is never certified again; the device needs a new key");
    }
  }
  // Serials of the certificates the new one supersedes: every other current certificate of the
  // device, so that a serial holds at most one.
  std::vector<std::string> superseded;
  if (profile == Profile::kDevice) {
    auto current =
        select_entries(st.db,
                       "WHERE profile = 'device' AND device_serial = ? AND "
                       "revoked_at IS NULL AND not_after > ? "
                       "ORDER BY not_before DESC, serial",
                       [&](sql::Statement& s) { s.bind(1, device.serial).bind(2, o.now); });
    if (!current) return std::unexpected(current.error());
    const IndexEntry* replaced = nullptr;
    for (const auto& e : *current) {
      if (replaces && e.serial_hex == *replaces) replaced = &e;
    }
    // One device serial, one key: the binding the factory made is what later enrolments prove.
    auto q = st.db.prepare(
        "SELECT spki_sha256, hardware_id FROM device_bindings WHERE device_serial = ?");
    if (!q) return std::unexpected(q.error());
    q->bind(1, device.serial);
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) {
      auto ins = st.db.prepare(
          "INSERT INTO device_bindings(device_serial, spki_sha256, hardware_id, bound_at) "
          "VALUES (?, ?, ?, ?)");
      if (!ins) return std::unexpected(ins.error());
      if (auto r = ins->bind(1, device.serial)
                       .bind(2, key_hash)
                       .bind(3, device.hardware_id)
                       .bind(4, o.now)
                       .run();
          !r) {
        return std::unexpected(r.error());
      }
    } else if (q->text(1) != device.hardware_id) {
      return fail(ErrorCode::kNotTrusted, "hardware_mismatch: device serial ", device.serial,
                  " is bound with hardware id '", q->text(1), "', the CSR names '",
                  device.hardware_id, "'");
    } else if (q->text(0) != key_hash) {
      // A new key for a bound serial only as a re-enrolment that names the current certificate of
      // the bound key.
      if (replaced == nullptr || replaced->spki_sha256_hex != q->text(0)) {
        return fail(ErrorCode::kNotTrusted, "serial_bound_to_other_key: device serial ",
                    device.serial, " is already bound to another key (SHA-256 of its public key ",
                    q->text(0), ")");
      }
      auto upd = st.db.prepare(
          "UPDATE device_bindings SET spki_sha256 = ?, bound_at = ? WHERE device_serial = ?");
      if (!upd) return std::unexpected(upd.error());
      if (auto r = upd->bind(1, key_hash).bind(2, o.now).bind(3, device.serial).run(); !r) {
        return std::unexpected(r.error());
      }
    } else if (replaced == nullptr) {
      // The same key, not a re-enrolment from the serial's current certificate: an enrolment
      // retried or replayed (the same CSR again, a station that crashed half-way). The key's
      // current certificate is the answer; nothing is minted.
      for (const auto& e : *current) {
        if (e.spki_sha256_hex != key_hash || e.hardware_id != device.hardware_id) continue;
        auto cert = Certificate::from_pem(e.certificate_pem);
        if (!cert) return std::unexpected(cert.error());
        return IssuedCertificate{std::move(*cert), st.ca(profile), true};
      }
    }
    for (const auto& e : *current) superseded.push_back(e.serial_hex);
  }
  const Certificate& ca = st.ca(profile);
  const std::int64_t days =
      profile == Profile::kDevice ? st.lifetimes.device_days : st.lifetimes.server_days;
  // Never beyond the issuing CA: a chain is only as valid as its shortest-lived link.
  const UnixTime not_after = std::min<UnixTime>(o.now + days * kDay, ca.not_after());
  const profile::EndEntity ee{&ca, &st.key(profile), X509_REQ_get0_pubkey(csr.handle().req.get()),
                              st.organization, o.now - kBackdate, not_after};
  auto cert = profile == Profile::kDevice ? profile::sign_device_certificate(ee, device)
                                          : profile::sign_server_certificate(ee, dns);
  if (!cert) return std::unexpected(cert.error());

  auto ins = st.db.prepare(
      "INSERT INTO certificates(serial, profile, subject, device_serial, hardware_id, "
      "fingerprint, spki_sha256, not_before, not_after, certificate_pem) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return std::unexpected(ins.error());
  ins->bind(1, cert->serial_hex()).bind(2, profile_name(profile)).bind(3, cert->subject());
  if (profile == Profile::kDevice) {
    ins->bind(4, device.serial).bind(5, device.hardware_id);
  } else {
    ins->bind_null(4).bind_null(5);
  }
  ins->bind(6, cert->fingerprint_hex())
      .bind(7, key_hash)
      .bind(8, cert->not_before())
      .bind(9, cert->not_after())
      .bind(10, cert->to_pem());
  if (auto r = ins->run(); !r) return std::unexpected(r.error());
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

// ---- revocation
// -----------------------------------------------------------------------------------

Result<RevokeOutcome> CertificateAuthority::revoke(std::string_view serial_text,
                                                   RevocationReason reason, UnixTime now,
                                                   RevokeScope scope) {
  auto serial = normalize_serial_hex(serial_text);
  if (!serial) return std::unexpected(serial.error());
  State& st = *state_;
  const std::string reason_name(revocation_reason_name(reason));
  const bool compromise = reason == RevocationReason::kKeyCompromise;
  RevokeOutcome out;
  std::set<Profile> crls;  // the issuing CAs whose CRL changes
  {
    auto tx = st.db.begin();
    if (!tx) return std::unexpected(tx.error());
    auto found = find_serial(*serial);
    if (!found) return std::unexpected(found.error());
    if (!*found) {
      return fail(ErrorCode::kNotFound, "no certificate with serial ", *serial,
                  " was issued by this CA");
    }
    if (scope == RevokeScope::kAllOfDevice && (*found)->profile != Profile::kDevice) {
      return fail(ErrorCode::kInvalidArgument, "not_a_device: certificate ", *serial,
                  " is a server certificate; all-of-device applies to device certificates");
    }
    // The certificates this revocation reaches, the named one first.
    std::vector<IndexEntry> targets{**found};
    auto reach = [&](const Result<std::vector<IndexEntry>>& more) -> Result<void> {
      if (!more) return std::unexpected(more.error());
      for (const auto& e : *more) {
        const bool known = std::any_of(targets.begin(), targets.end(), [&](const IndexEntry& t) {
          return t.serial_hex == e.serial_hex;
        });
        if (!known) targets.push_back(e);
      }
      return {};
    };
    if (scope == RevokeScope::kAllOfDevice) {
      const std::string device_serial = targets.front().device_serial;
      if (auto r = reach(select_entries(
              st.db, "WHERE profile = 'device' AND device_serial = ? ORDER BY not_before, serial",
              [&](sql::Statement& q) { q.bind(1, device_serial); }));
          !r) {
        return std::unexpected(r.error());
      }
    }
    if (compromise) {
      // A compromised key is compromised in every certificate that carries it.
      std::set<std::string> keys;
      for (const auto& t : targets) keys.insert(t.spki_sha256_hex);
      for (const auto& key : keys) {
        if (auto r =
                reach(select_entries(st.db, "WHERE spki_sha256 = ? ORDER BY not_before, serial",
                                     [&](sql::Statement& q) { q.bind(1, key); }));
            !r) {
          return std::unexpected(r.error());
        }
      }
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      IndexEntry& e = targets[i];
      if (!e.revoked) {
        e.revoked = true;
        e.revoked_at = now;
      } else if (!compromise || e.revocation_reason == reason_name) {
        continue;  // already revoked; only keyCompromise overrides an earlier reason
      }
      e.revocation_reason = reason_name;
      if (auto r = mark_revoked(st.db, e.serial_hex, e.revoked_at, reason); !r) {
        return std::unexpected(r.error());
      }
      crls.insert(e.profile);
      if (i > 0) out.also_revoked.push_back(e);
    }
    if (crls.empty()) {
      return fail(
          ErrorCode::kInvalidArgument, "already_revoked: certificate ", *serial, " was revoked (",
          targets.front().revocation_reason, ")",
          targets.size() > 1 ? ", and so was every certificate this revocation reaches" : "");
    }
    if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    out.certificate = targets.front();
  }
  for (Profile p : crls) {
    if (auto crl = publish_crl(p, now); !crl) return std::unexpected(crl.error());
  }
  return out;
}

Result<Crl> CertificateAuthority::publish_crl(Profile profile, UnixTime now) {
  State& st = *state_;
  const Certificate& ca = st.ca(profile);
  std::int64_t number = 0;
  std::vector<std::tuple<std::string, UnixTime, std::string>> revoked;
  {
    // The number is committed before the CRL is written: a crash may skip a number, never reuse
    // one.
    auto tx = st.db.begin();
    if (!tx) return std::unexpected(tx.error());
    auto q = st.db.prepare("SELECT last FROM crl_numbers WHERE ca = ?");
    if (!q) return std::unexpected(q.error());
    q->bind(1, profile_name(profile));
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    number = (*row ? q->integer(0) : 0) + 1;
    auto up = st.db.prepare("INSERT OR REPLACE INTO crl_numbers(ca, last) VALUES (?, ?)");
    if (!up) return std::unexpected(up.error());
    if (auto r = up->bind(1, profile_name(profile)).bind(2, number).run(); !r) {
      return std::unexpected(r.error());
    }
    auto list = st.db.prepare(
        "SELECT serial, revoked_at, revocation_reason FROM certificates "
        "WHERE profile = ? AND revoked_at IS NOT NULL ORDER BY serial");
    if (!list) return std::unexpected(list.error());
    list->bind(1, profile_name(profile));
    for (;;) {
      auto r = list->step();
      if (!r) return std::unexpected(r.error());
      if (!*r) break;
      revoked.emplace_back(list->text(0), list->integer(1), list->text(2));
    }
    if (auto r = tx->commit(); !r) return std::unexpected(r.error());
  }

  auto h = std::make_shared<CrlHandle>();
  h->crl.reset(X509_CRL_new());
  X509_CRL* crl = h->crl.get();
  ossl::AsnTimePtr this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
  ossl::AsnTimePtr next_update(
      ASN1_TIME_set(nullptr, static_cast<time_t>(now + st.lifetimes.crl_days * kDay)));
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.handle().x509.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl, this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl, next_update.get()) != 1) {
    return fail(ErrorCode::kCrypto, "cannot build CRL: ", ossl::drain_errors());
  }
  for (const auto& [serial_hex, at, reason_name] : revoked) {
    auto bytes = from_hex(serial_hex);
    if (!bytes) return std::unexpected(bytes.error());
    ossl::BnPtr bn(BN_bin2bn(bytes->data(), static_cast<int>(bytes->size()), nullptr));
    ossl::AsnIntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    ossl::AsnTimePtr when(ASN1_TIME_set(nullptr, static_cast<time_t>(at)));
    ossl::RevokedPtr entry(X509_REVOKED_new());
    auto reason = parse_revocation_reason(reason_name);
    ossl::AsnEnumPtr code(ASN1_ENUMERATED_new());
    if (!serial || !when || !entry || !code || !reason ||
        X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1 ||
        ASN1_ENUMERATED_set(code.get(), static_cast<long>(*reason)) != 1 ||
        X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, code.get(), 0, 0) != 1 ||
        X509_CRL_add0_revoked(crl, entry.get()) != 1) {
      return fail(ErrorCode::kCrypto, "cannot build CRL entry: ", ossl::drain_errors());
    }
    entry.release();
  }
  X509_CRL_sort(crl);
  ossl::AsnIntPtr crl_number(ASN1_INTEGER_new());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca.handle().x509.get(), nullptr, nullptr, crl, 0);
  ossl::ExtPtr akid(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!crl_number || ASN1_INTEGER_set_int64(crl_number.get(), number) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, crl_number.get(), 0, 0) != 1 || !akid ||
      X509_CRL_add_ext(crl, akid.get(), -1) != 1 ||
      X509_CRL_sign(crl, st.key(profile).handle().pkey.get(), EVP_sha256()) <= 0) {
    return fail(ErrorCode::kCrypto, "cannot sign CRL: ", ossl::drain_errors());
  }
  Crl out = Crl::adopt(std::move(h));
  if (auto r = write_file_atomic(st.dir / ca_dir_name(profile) / "crl.pem", as_bytes(out.to_pem()));
      !r) {
    return std::unexpected(r.error());
  }
  return out;
}

Result<Crl> CertificateAuthority::current_crl(Profile ca) const {
  return Crl::load(state_->dir / ca_dir_name(ca) / "crl.pem");
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
  auto q = state_->db.prepare(std::string(kSelectEntry) + "ORDER BY not_before, serial");
  if (!q) return std::unexpected(q.error());
  std::vector<IndexEntry> out;
  for (;;) {
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(entry_from(*q));
  }
  return out;
}

Result<std::vector<Bytes>> issue_device_der(CertificateAuthority& ca, ByteView csr_der,
                                            const DeviceName& authenticated,
                                            const IssueOptions& options) {
  auto csr = CertificateRequest::from_der(csr_der);
  if (!csr) return std::unexpected(csr.error());
  const auto uris = csr->requested_uris();
  if (uris.size() != 1 || uris.front() != device_urn(authenticated)) {
    return fail(ErrorCode::kNotTrusted, "identity_mismatch: the CSR does not name ",
                device_urn(authenticated), ", the identity the connection proved");
  }
  auto issued = ca.issue(*csr, Profile::kDevice, options);
  if (!issued) return std::unexpected(issued.error());
  return std::vector<Bytes>{issued->certificate.der(), issued->issuing_ca.der()};
}

}  // namespace ironseal::pki
