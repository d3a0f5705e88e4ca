#include "backup/archive.h"

#include <algorithm>
#include <cstring>

#include <zlib.h>

#include "core/endian.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace ironseal::backup {
namespace {

using Json = nlohmann::json;

constexpr char kMagic[16] = {'I', 'R', 'O', 'N', 'S', 'E', 'A', 'L',
                             '-', 'B', 'A', 'C', 'K', 'U', 'P', '\0'};
constexpr std::size_t kMaxSignature = 256;

std::unexpected<Error> malformed(std::string detail) {
  return std::unexpected(make_error(ErrorCode::kMalformed, "malformed_archive", std::move(detail)));
}

// Bounded little-endian reader over untrusted bytes.
struct Reader {
  ByteView data;
  std::size_t pos = 0;
  bool take(std::size_t n, ByteView* out) {
    if (n > data.size() - pos) return false;
    *out = data.subspan(pos, n);
    pos += n;
    return true;
  }
  bool u32(std::uint32_t* v) {
    ByteView b;
    if (!take(4, &b)) return false;
    *v = load_le32(b.data());
    return true;
  }
  bool u64(std::uint64_t* v) {
    ByteView b;
    if (!take(8, &b)) return false;
    *v = static_cast<std::uint64_t>(load_le32(b.data())) |
         static_cast<std::uint64_t>(load_le32(b.data() + 4)) << 32;
    return true;
  }
};

void put32(Bytes& out, std::uint32_t v) {
  std::uint8_t b[4];
  store_le32(b, v);
  out.insert(out.end(), b, b + 4);
}
void put64(Bytes& out, std::uint64_t v) {
  put32(out, static_cast<std::uint32_t>(v));
  put32(out, static_cast<std::uint32_t>(v >> 32));
}

std::string text_of(ByteView b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// The string member `key` of an object, or a refusal naming where.
Result<std::string> text(const Json& j, const char* key, std::string_view where) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) {
    return malformed(std::string(where) + "." + key + " must be a string");
  }
  return j[key].get<std::string>();
}

Result<Bytes> hex_field(const Json& j, const char* key, std::string_view where) {
  auto t = text(j, key, where);
  if (!t) return std::unexpected(t.error());
  auto b = from_hex(*t);
  if (!b) return malformed(std::string(where) + "." + key + " is not hex");
  return b;
}

Json header_json(const Header& h) {
  Json recipients = Json::array();
  for (const auto& r : h.recipients) {
    recipients.push_back({{"key_id", r.key_id},
                          {"type", crypto::seal_key_type_name(r.type)},
                          {"ephemeral", to_hex(r.ephemeral_spki)},
                          {"wrapped", to_hex(r.wrapped)}});
  }
  return {{"format", "ironseal-backup"}, {"format_version", h.format_version},
          {"kind", h.kind},              {"created", h.created},
          {"subject", h.subject},        {"trust", h.trust},
          {"recipients", recipients},    {"signer", h.signer_pem}};
}

Result<crypto::WrappedKey> recipient_from(const Json& r, const std::string& where) {
  crypto::WrappedKey w;
  auto id = text(r, "key_id", where);
  auto type = text(r, "type", where);
  if (!id) return std::unexpected(id.error());
  if (!type) return std::unexpected(type.error());
  auto t = crypto::parse_seal_key_type(*type);
  if (!t) return malformed(where + ".type: " + t.error().message);
  auto eph = hex_field(r, "ephemeral", where);
  auto wrapped = hex_field(r, "wrapped", where);
  if (!eph) return std::unexpected(eph.error());
  if (!wrapped) return std::unexpected(wrapped.error());
  return crypto::WrappedKey{*id, *t, std::move(*eph), std::move(*wrapped)};
}

Result<Header> header_from(const Json& j) {
  if (!j.is_object()) return malformed("the header is not a JSON object");
  Header h;
  auto format = text(j, "format", "header");
  if (!format) return std::unexpected(format.error());
  if (*format != "ironseal-backup") return malformed("header.format is not ironseal-backup");
  if (!j.contains("format_version") || !j["format_version"].is_number_unsigned() ||
      j["format_version"].get<std::uint64_t>() != kFormatVersion) {
    return malformed("header.format_version differs from the archive's");
  }
  auto kind = text(j, "kind", "header");
  auto created = text(j, "created", "header");
  if (!kind) return std::unexpected(kind.error());
  if (!created) return std::unexpected(created.error());
  if (*kind != "device" && *kind != "server") return malformed("header.kind is not device/server");
  h.kind = *kind;
  h.created = *created;
  for (const char* key : {"subject", "trust"}) {
    if (!j.contains(key) || !j[key].is_object()) {
      return malformed(std::string("header.") + key + " must be an object");
    }
  }
  h.subject = j["subject"];
  h.trust = j["trust"];
  if (!j.contains("recipients") || !j["recipients"].is_array() || j["recipients"].empty() ||
      j["recipients"].size() > kMaxRecipients) {
    return malformed("header.recipients must list 1.." + std::to_string(kMaxRecipients));
  }
  for (std::size_t i = 0; i < j["recipients"].size(); ++i) {
    auto r = recipient_from(j["recipients"][i], "header.recipients[" + std::to_string(i) + "]");
    if (!r) return std::unexpected(r.error());
    h.recipients.push_back(std::move(*r));
  }
  if (!j.contains("signer") || !j["signer"].is_array() || j["signer"].empty() ||
      j["signer"].size() > 4) {
    return malformed("header.signer must list the signer's certificate and its chain (1..4)");
  }
  for (const auto& pem : j["signer"]) {
    if (!pem.is_string()) return malformed("header.signer holds a non-string");
    h.signer_pem.push_back(pem.get<std::string>());
  }
  return h;
}

// The payload's plaintext: u32 M, M bytes of JSON, the entries' bytes.
Result<Bytes> encode_contents(const Contents& c) {
  Json entries = Json::array();
  std::size_t total = 0;
  for (const auto& e : c.entries) {
    if (auto ok = check_entry_path(e.path); !ok) return std::unexpected(ok.error());
    Json j = {{"path", e.path},
              {"size", e.content.size()},
              {"sha256", to_hex(crypto::sha256(e.content))}};
    if (e.version) j["version"] = *e.version;
    entries.push_back(std::move(j));
    total += e.content.size();
  }
  const std::string head = Json{{"manifest", c.manifest}, {"entries", entries}}.dump();
  Bytes out;
  out.reserve(4 + head.size() + total);
  put32(out, static_cast<std::uint32_t>(head.size()));
  out.insert(out.end(), head.begin(), head.end());
  for (const auto& e : c.entries) out.insert(out.end(), e.content.begin(), e.content.end());
  return out;
}

Result<Contents> decode(ByteView plain) {
  Reader r{plain};
  std::uint32_t m = 0;
  ByteView head;
  if (!r.u32(&m) || m > kMaxManifestBytes || !r.take(m, &head)) {
    return malformed("the payload's manifest is truncated or too large");
  }
  Json j = Json::parse(text_of(head), nullptr, false);
  if (!j.is_object() || !j.contains("manifest") || !j["manifest"].is_object() ||
      !j.contains("entries") || !j["entries"].is_array()) {
    return malformed("the payload's manifest is not {manifest, entries}");
  }
  Contents c;
  c.manifest = j["manifest"];
  for (std::size_t i = 0; i < j["entries"].size(); ++i) {
    const Json& e = j["entries"][i];
    const std::string where = "entries[" + std::to_string(i) + "]";
    auto path = text(e, "path", where);
    if (!path) return std::unexpected(path.error());
    if (auto ok = check_entry_path(*path); !ok) return malformed(where + ": " + ok.error().message);
    auto digest = hex_field(e, "sha256", where);
    if (!digest) return std::unexpected(digest.error());
    if (!e.contains("size") || !e["size"].is_number_unsigned()) {
      return malformed(where + ".size must be a non-negative integer");
    }
    ByteView bytes;
    if (!r.take(e["size"].get<std::uint64_t>(), &bytes)) {
      return malformed(where + " runs past the end of the payload");
    }
    if (crypto::sha256(bytes) != *digest) {
      return fail_because(ErrorCode::kNotTrusted, "manifest_mismatch", *path,
                          ": its bytes do not hash to the manifest's SHA-256");
    }
    Entry entry{*path, Bytes(bytes.begin(), bytes.end()), std::nullopt};
    if (e.contains("version")) {
      if (!e["version"].is_number_unsigned()) return malformed(where + ".version is no integer");
      entry.version = e["version"].get<std::uint64_t>();
    }
    if (std::any_of(c.entries.begin(), c.entries.end(),
                    [&](const Entry& x) { return x.path == entry.path; })) {
      return malformed(where + ": " + *path + " appears twice");
    }
    c.entries.push_back(std::move(entry));
  }
  if (r.pos != plain.size()) return malformed("the payload has bytes no entry accounts for");
  return c;
}

// zlib (deflate) before encryption: configuration and SQLite pages compress 5-10x.
Result<Bytes> deflate_all(ByteView in) {
  uLongf len = compressBound(static_cast<uLong>(in.size()));
  Bytes out(len);
  if (compress2(out.data(), &len, in.data(), static_cast<uLong>(in.size()), 6) != Z_OK) {
    return fail(ErrorCode::kIo, "cannot compress the backup's contents");
  }
  out.resize(len);
  return out;
}

}  // namespace

Result<Bytes> inflate_bounded(ByteView in, std::uint64_t limit) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return fail(ErrorCode::kIo, "zlib");
  Bytes out;
  std::uint8_t buf[64 * 1024];
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = buf;
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.insert(out.end(), buf, buf + (sizeof buf - z.avail_out));
    if (out.size() > limit) rc = Z_MEM_ERROR;
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) rc = Z_BUF_ERROR;  // input ended early
  }
  const bool whole = rc == Z_STREAM_END && z.avail_in == 0;
  inflateEnd(&z);
  if (!whole) {
    return malformed(out.size() > limit ? "the contents inflate beyond the limit"
                                        : "the contents are not one complete zlib stream");
  }
  return out;
}

namespace {

std::string aad_context(const std::string& key_id) {
  return "ironseal-backup-cek:" + key_id;
}

}  // namespace

Result<Contents> parse_contents(ByteView plaintext) {
  return decode(plaintext);
}

ByteView Archive::payload() const {
  const std::size_t start = header_end + 8;
  return ByteView(bytes).subspan(start, payload_end - start);
}

ByteView Archive::signature() const {
  return ByteView(bytes).subspan(payload_end + 4);
}

Result<void> check_entry_path(std::string_view path) {
  if (path.empty() || path.size() > 255 || path.front() == '/' || path.back() == '/') {
    return fail(ErrorCode::kMalformed, "entry path '", path, "' is empty, too long or absolute");
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return fail(ErrorCode::kMalformed, "entry path '", path, "' has an empty, . or .. part");
    }
    for (char ch : part) {
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
      if (!ok) return fail(ErrorCode::kMalformed, "entry path '", path, "' has a character outside [A-Za-z0-9._/-]");
    }
    start = end + 1;
  }
  return {};
}

Result<Bytes> seal_archive(Header header, const Contents& contents,
                           std::span<const crypto::SealRecipient> recipients,
                           const pki::KeyPair& signer, const pki::Certificate& signer_certificate,
                           std::span<const pki::Certificate> chain) {
  if (recipients.empty() || recipients.size() > kMaxRecipients) {
    return fail(ErrorCode::kInvalidArgument, "a backup needs 1..", std::to_string(kMaxRecipients),
                " recipients (--to)");
  }
  if (signer.spki_der() != signer_certificate.spki_der()) {
    return fail(ErrorCode::kInvalidArgument,
                "the signing key is not the key of the signer's certificate");
  }
  auto encoded = encode_contents(contents);
  if (!encoded) return std::unexpected(encoded.error());
  auto plain = deflate_all(*encoded);
  std::fill(encoded->begin(), encoded->end(), 0);
  if (!plain) return std::unexpected(plain.error());
  auto cek = crypto::random_bytes(crypto::kContentKeySize);
  if (!cek) return std::unexpected(cek.error());
  header.format_version = kFormatVersion;
  header.recipients.clear();
  for (const auto& to : recipients) {
    auto w = crypto::wrap_content_key(to, *cek, aad_context(to.key_id));
    if (!w) return std::unexpected(w.error());
    header.recipients.push_back(std::move(*w));
  }
  header.signer_pem = {signer_certificate.to_pem()};
  for (const auto& c : chain) header.signer_pem.push_back(c.to_pem());
  const std::string head = header_json(header).dump();
  if (head.size() > kMaxHeaderBytes) return fail(ErrorCode::kInvalidArgument, "header too large");

  Bytes out(kMagic, kMagic + sizeof kMagic);
  put32(out, kFormatVersion);
  put32(out, static_cast<std::uint32_t>(head.size()));
  out.insert(out.end(), head.begin(), head.end());
  auto sealed = crypto::gcm_seal(*cek, out, *plain);
  std::fill(cek->begin(), cek->end(), 0);
  std::fill(plain->begin(), plain->end(), 0);
  if (!sealed) return std::unexpected(sealed.error());
  put64(out, sealed->size());
  out.insert(out.end(), sealed->begin(), sealed->end());
  auto sig = signer.sign(out);
  if (!sig) return std::unexpected(sig.error());
  put32(out, static_cast<std::uint32_t>(sig->size()));
  out.insert(out.end(), sig->begin(), sig->end());
  return out;
}

Result<Archive> parse_archive(Bytes bytes) {
  Archive a;
  a.bytes = std::move(bytes);
  Reader r{a.bytes};
  ByteView magic;
  if (!r.take(sizeof kMagic, &magic) || std::memcmp(magic.data(), kMagic, sizeof kMagic) != 0) {
    return malformed("not an ironseal backup (bad magic)");
  }
  std::uint32_t version = 0;
  if (!r.u32(&version)) return malformed("truncated before the format version");
  if (version != kFormatVersion) {
    return fail_because(ErrorCode::kMalformed, "unknown_format", "format version ", std::to_string(version),
                        " (this ironseal reads version ", std::to_string(kFormatVersion), ")");
  }
  std::uint32_t h = 0;
  ByteView head;
  if (!r.u32(&h) || h > kMaxHeaderBytes || !r.take(h, &head)) {
    return malformed("the header is truncated or too large");
  }
  a.header_end = r.pos;
  Json j = Json::parse(text_of(head), nullptr, false);
  if (j.is_discarded()) return malformed("the header is not JSON");
  auto header = header_from(j);
  if (!header) return std::unexpected(header.error());
  a.header = std::move(*header);
  std::uint64_t p = 0;
  ByteView payload;
  if (!r.u64(&p) || p > kMaxPayloadBytes || !r.take(p, &payload)) {
    return malformed("the payload is truncated");
  }
  a.payload_end = r.pos;
  std::uint32_t s = 0;
  ByteView sig;
  if (!r.u32(&s) || s == 0 || s > kMaxSignature || !r.take(s, &sig)) {
    return malformed("the signature is missing or truncated");
  }
  if (r.pos != a.bytes.size()) return malformed("bytes follow the signature");
  return a;
}

Result<VerifiedSigner> verify_signer(const Archive& archive,
                                     std::span<const pki::Certificate> anchors,
                                     const pki::VerifyOptions& options) {
  std::vector<pki::Certificate> certs;
  for (const auto& pem : archive.header.signer_pem) {
    auto c = pki::Certificate::from_pem(pem);
    if (!c) return malformed("header.signer: " + c.error().message);
    certs.push_back(std::move(*c));
  }
  const ByteView signed_region = ByteView(archive.bytes).first(archive.payload_end);
  if (!pki::verify_with_spki(certs[0].spki_der(), signed_region, archive.signature())) {
    return fail_because(ErrorCode::kNotTrusted, "bad_signature",
                        "the archive's signature does not verify with its signer's key: the "
                        "archive was altered after it was made");
  }
  auto v = pki::verify_certificate(certs[0], std::span(certs).subspan(1), anchors, options);
  if (!v) {
    return std::unexpected(make_error(ErrorCode::kNotTrusted, pki::cert_reason_name(v.error().reason),
                                      "the archive's signer: " + v.error().detail));
  }
  VerifiedSigner out{*v, certs[0].subject()};
  if (archive.header.kind == "device") {
    const Json& s = archive.header.subject;
    const bool names_it = v->device && s.contains("serial") && s["serial"].is_string() &&
                          s.contains("hardware_id") && s["hardware_id"].is_string() &&
                          s["serial"] == v->device->serial &&
                          s["hardware_id"] == v->device->hardware_id;
    if (!names_it) {
      return fail_because(ErrorCode::kNotTrusted, "signer_mismatch",
                          "the signer's certificate names another device than the archive");
    }
  }
  return out;
}

Result<Trust> load_trust(const std::filesystem::path& ca, const std::filesystem::path& crl,
                         const std::string& kind) {
  std::filesystem::path root = ca, list = crl;
  std::error_code ec;
  if (std::filesystem::is_directory(ca, ec)) {
    root = ca / "root-ca.cert.pem";
    if (list.empty()) list = ca / (kind == "server" ? "server-ca" : "device-ca") / "crl.pem";
  }
  Trust t;
  auto anchors = pki::Certificate::load_all(root);
  if (!anchors) return fail_in(anchors.error(), "trust anchor ", root.string(), ": ");
  t.anchors = std::move(*anchors);
  if (list.empty()) {
    return fail_because(ErrorCode::kInvalidArgument, "crl_unavailable",
                        "revocation is always checked: give the issuing CA's CRL (--crl FILE, or "
                        "--ca CA_DIR)");
  }
  auto c = pki::Crl::load(list);
  if (!c) return fail_in(c.error(), "CRL ", list.string(), ": ");
  t.crls.push_back(std::move(*c));
  return t;
}

Result<VerifiedSigner> verify_signer_of(const Archive& archive, const std::string& kind,
                                        const Trust& trust, pki::UnixTime now) {
  if (archive.header.kind != kind) {
    return fail_because(ErrorCode::kInvalidArgument, "wrong_kind", "this is a ",
                        archive.header.kind, " backup, not a ", kind, "'s");
  }
  pki::VerifyOptions vo;
  vo.purpose = kind == "server" ? pki::Purpose::kServer : pki::Purpose::kDeviceClient;
  vo.at = now;
  vo.crls = trust.crls;
  return verify_signer(archive, trust.anchors, vo);
}

Result<Contents> open_archive(const Archive& archive, const crypto::SealPrivateKey& key) {
  const auto& me = key.recipient();
  const crypto::WrappedKey* mine = nullptr;
  for (const auto& w : archive.header.recipients) {
    if (w.key_id == me.key_id && w.type == me.type) mine = &w;
  }
  if (!mine) {
    return fail_because(ErrorCode::kInvalidArgument, "not_a_recipient", "the archive is not encrypted to key ",
                        me.key_id, " (it names ", std::to_string(archive.header.recipients.size()),
                        " other recipient(s))");
  }
  auto cek = crypto::unwrap_content_key(key, mine->ephemeral_spki, mine->wrapped,
                                        aad_context(mine->key_id));
  if (!cek) return std::unexpected(cek.error());
  auto plain = crypto::gcm_open(*cek, ByteView(archive.bytes).first(archive.header_end),
                                archive.payload());
  std::fill(cek->begin(), cek->end(), 0);
  if (!plain) return std::unexpected(plain.error());
  auto inflated = inflate_bounded(*plain, kMaxPayloadBytes);
  std::fill(plain->begin(), plain->end(), 0);
  if (!inflated) return std::unexpected(inflated.error());
  auto contents = parse_contents(*inflated);
  std::fill(inflated->begin(), inflated->end(), 0);
  return contents;
}

}  // namespace ironseal::backup
