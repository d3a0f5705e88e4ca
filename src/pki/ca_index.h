// The certificate authority's state and its SQLite index, shared by the CA's source files:
// ca.cc (init, open, issue, queries) and ca_revocation.cc (revocation, CRLs). Internal to
// src/pki; the public interface is pki/ca.h, whose thread contract holds (one thread at a time
// per CertificateAuthority; the index serialises writers across processes).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "pki/ca.h"
#include "sql/sqlite.h"

namespace ironseal::pki {

struct CertificateAuthority::State {
  std::filesystem::path dir;
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

namespace ca_index {

// DIR/<this>/ holds an issuing CA's key, certificate and CRL.
inline std::string ca_dir_name(Profile p) {
  return p == Profile::kDevice ? "device-ca" : "server-ca";
}

// The columns every entry query selects, in IndexEntry order.
inline constexpr const char* kSelectEntry =
    "SELECT serial, profile, subject, device_serial, hardware_id, fingerprint, spki_sha256, "
    "not_before, not_after, revoked_at, revocation_reason, certificate_pem FROM certificates ";

IndexEntry entry_from(const sql::Statement& s);

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
                          RevocationReason reason);
}  // namespace ca_index
}  // namespace ironseal::pki
