// Revocation and CRLs of the certificate authority (pki/ca.h): revocation follows the key, and
// every change republishes the CRLs concerned.
#include <openssl/x509v3.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "core/file.h"
#include "pki/ca.h"
#include "pki/ca_index.h"
#include "pki/ossl_x509.h"
#include "pki/profile.h"

namespace ironseal::pki {

using ca_index::ca_dir_name;
using ca_index::mark_revoked;
using ca_index::select_entries;
using profile::kDay;

namespace {

// The certificates a revocation of `named` reaches, `named` first: with kAllOfDevice every
// certificate of its device, and on keyCompromise every certificate carrying one of their keys.
Result<std::vector<IndexEntry>> reached_by(sql::Database& db, const IndexEntry& named,
                                           RevokeScope scope, bool compromise) {
  std::vector<IndexEntry> targets{named};
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
            db, "WHERE profile = 'device' AND device_serial = ? ORDER BY not_before, serial",
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
      if (auto r = reach(select_entries(db, "WHERE spki_sha256 = ? ORDER BY not_before, serial",
                                        [&](sql::Statement& q) { q.bind(1, key); }));
          !r) {
        return std::unexpected(r.error());
      }
    }
  }
  return targets;
}

// Revoked certificates for a CRL: serial (hex), revocation time, reason name.
using RevokedList = std::vector<std::tuple<std::string, UnixTime, std::string>>;

// Takes the next CRL number of `profile`'s CA and lists what it revoked, in one transaction.
// The number is committed before the CRL is written: a crash may skip a number, never reuse one.
Result<std::int64_t> next_crl_number(sql::Database& db, Profile profile, RevokedList* revoked) {
  auto tx = db.begin();
  if (!tx) return std::unexpected(tx.error());
  auto q = db.prepare("SELECT last FROM crl_numbers WHERE ca = ?");
  if (!q) return std::unexpected(q.error());
  q->bind(1, profile_name(profile));
  auto row = q->step();
  if (!row) return std::unexpected(row.error());
  const std::int64_t number = (*row ? q->integer(0) : 0) + 1;
  auto up = db.prepare("INSERT OR REPLACE INTO crl_numbers(ca, last) VALUES (?, ?)");
  if (!up) return std::unexpected(up.error());
  if (auto r = up->bind(1, profile_name(profile)).bind(2, number).run(); !r) {
    return std::unexpected(r.error());
  }
  auto list = db.prepare(
      "SELECT serial, revoked_at, revocation_reason FROM certificates "
      "WHERE profile = ? AND revoked_at IS NOT NULL ORDER BY serial");
  if (!list) return std::unexpected(list.error());
  list->bind(1, profile_name(profile));
  for (;;) {
    auto r = list->step();
    if (!r) return std::unexpected(r.error());
    if (!*r) break;
    revoked->emplace_back(list->text(0), list->integer(1), list->text(2));
  }
  if (auto r = tx->commit(); !r) return std::unexpected(r.error());
  return number;
}

// Adds an entry (serial, date, reason code) to `crl` for each revoked certificate.
Result<void> add_revoked(X509_CRL* crl, const RevokedList& revoked) {
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
  return {};
}

}  // namespace

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
      return fail_because(ErrorCode::kInvalidArgument, "not_a_device", "certificate ", *serial,
                          " is a server certificate; all-of-device applies to device certificates");
    }
    // The certificates this revocation reaches, the named one first.
    auto reached = reached_by(st.db, **found, scope, compromise);
    if (!reached) return std::unexpected(reached.error());
    std::vector<IndexEntry>& targets = *reached;
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
      return fail_because(
          ErrorCode::kInvalidArgument, "already_revoked", "certificate ", *serial, " was revoked (",
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

Result<IndexEntry> CertificateAuthority::record_replacement(std::string_view old_text,
                                                            std::string_view new_text,
                                                            std::string_view archive_sha256_hex,
                                                            UnixTime now) {
  auto old_serial = normalize_serial_hex(old_text);
  auto new_serial = normalize_serial_hex(new_text);
  if (!old_serial) return std::unexpected(old_serial.error());
  if (!new_serial) return std::unexpected(new_serial.error());
  State& st = *state_;
  IndexEntry old_entry;
  bool changed = false;
  {
    auto tx = st.db.begin();
    if (!tx) return std::unexpected(tx.error());
    auto old_found = find_serial(*old_serial);
    auto new_found = find_serial(*new_serial);
    if (!old_found) return std::unexpected(old_found.error());
    if (!new_found) return std::unexpected(new_found.error());
    if (!*old_found || !*new_found) {
      return fail(ErrorCode::kNotFound, "certificate ", !*old_found ? *old_serial : *new_serial,
                  " was not issued by this CA");
    }
    const IndexEntry& o = **old_found;
    const IndexEntry& n = **new_found;
    if (o.profile != Profile::kDevice || n.profile != Profile::kDevice ||
        o.hardware_id != n.hardware_id || o.serial_hex == n.serial_hex || n.revoked ||
        n.not_after < now) {
      return fail_because(ErrorCode::kNotTrusted, "replacement_mismatch",
                          "a replacement needs two device certificates for the same hardware id, "
                          "the new one current (old ", o.serial_hex, " for ", o.hardware_id,
                          ", new ", n.serial_hex, " for ", n.hardware_id,
                          n.revoked ? ", revoked" : "", ")");
    }
    old_entry = o;
    if (!o.revoked) {
      if (auto r = mark_revoked(st.db, o.serial_hex, now, RevocationReason::kSuperseded); !r) {
        return std::unexpected(r.error());
      }
      old_entry.revoked = true;
      old_entry.revoked_at = now;
      old_entry.revocation_reason = std::string(revocation_reason_name(RevocationReason::kSuperseded));
      changed = true;
    }
    auto link = st.db.prepare(
        "INSERT OR REPLACE INTO replacements(old_serial, new_serial, archive_sha256, replaced_at) "
        "VALUES (?, ?, ?, ?)");
    if (!link) return std::unexpected(link.error());
    link->bind(1, o.serial_hex).bind(2, n.serial_hex).bind(3, archive_sha256_hex).bind(4, now);
    if (auto r = link->run(); !r) return std::unexpected(r.error());
    if (auto r = tx->commit(); !r) return std::unexpected(r.error());
  }
  if (changed) {
    if (auto crl = publish_crl(Profile::kDevice, now); !crl) return std::unexpected(crl.error());
  }
  return old_entry;
}

Result<std::optional<std::string>> CertificateAuthority::replaced_by(std::string_view serial_text) {
  auto serial = normalize_serial_hex(serial_text);
  if (!serial) return std::unexpected(serial.error());
  auto q = state_->db.prepare("SELECT new_serial FROM replacements WHERE old_serial = ?");
  if (!q) return std::unexpected(q.error());
  q->bind(1, *serial);
  auto row = q->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q->text(0));
}

Result<Crl> CertificateAuthority::publish_crl(Profile profile, UnixTime now) {
  State& st = *state_;
  const Certificate& ca = st.ca(profile);
  RevokedList revoked;
  auto number = next_crl_number(st.db, profile, &revoked);
  if (!number) return std::unexpected(number.error());

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
  if (auto r = add_revoked(crl, revoked); !r) return std::unexpected(r.error());
  X509_CRL_sort(crl);
  ossl::AsnIntPtr crl_number(ASN1_INTEGER_new());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca.handle().x509.get(), nullptr, nullptr, crl, 0);
  ossl::ExtPtr akid(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!crl_number || ASN1_INTEGER_set_int64(crl_number.get(), *number) != 1 ||
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

}  // namespace ironseal::pki
