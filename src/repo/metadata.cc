#include "repo/metadata.h"

#include <set>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "repo/canonical_json.h"

namespace ironseal::repo {
namespace {

using Json = nlohmann::json;

// A small field reader: each accessor checks presence and JSON type and never throws.
class Fields {
 public:
  Fields(const Json& object, std::string_view where) : o_(object), where_(where) {}

  TufResult<const Json*> get(const char* name) const {
    auto it = o_.find(name);
    if (it == o_.end()) return refuse(Reason::kMalformed, where_, ": missing \"", name, "\"");
    return &*it;
  }
  bool has(const char* name) const { return o_.contains(name); }

  TufResult<std::string> string(const char* name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if (!(*v)->is_string()) return bad(name, "a string");
    return (*v)->get<std::string>();
  }
  TufResult<std::uint64_t> unsigned_int(const char* name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_number_unsigned()) return (*v)->get<std::uint64_t>();
    if ((*v)->is_number_integer() && (*v)->get<std::int64_t>() >= 0) {
      return static_cast<std::uint64_t>((*v)->get<std::int64_t>());
    }
    return bad(name, "a non-negative integer");
  }
  TufResult<bool> boolean(const char* name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if (!(*v)->is_boolean()) return bad(name, "a boolean");
    return (*v)->get<bool>();
  }
  TufResult<const Json*> object(const char* name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if (!(*v)->is_object()) return bad(name, "an object");
    return *v;
  }
  TufResult<const Json*> array(const char* name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if (!(*v)->is_array()) return bad(name, "an array");
    return *v;
  }
  TufResult<std::vector<std::string>> strings(const char* name) const {
    auto v = array(name);
    if (!v) return std::unexpected(v.error());
    std::vector<std::string> out;
    for (const auto& item : **v) {
      if (!item.is_string()) return bad(name, "an array of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

 private:
  std::unexpected<TufError> bad(const char* name, const char* what) const {
    return refuse(Reason::kMalformed, where_, ": \"", name, "\" is not ", what);
  }
  const Json& o_;
  std::string where_;
};

#define TRY_ASSIGN(lhs, expr)                               \
  do {                                                      \
    auto tuf_tmp_ = (expr);                                 \
    if (!tuf_tmp_) return std::unexpected(tuf_tmp_.error()); \
    lhs = std::move(*tuf_tmp_);                             \
  } while (0)

TufResult<std::map<std::string, std::string>> parse_hashes(const Json& v, std::string_view where) {
  if (!v.is_object() || v.empty()) {
    return refuse(Reason::kMalformed, where, ": hashes must be a non-empty object");
  }
  std::map<std::string, std::string> out;
  for (const auto& [alg, hex] : v.items()) {
    if (!hex.is_string()) return refuse(Reason::kMalformed, where, ": hash is not a string");
    out.emplace(alg, hex.get<std::string>());
  }
  return out;
}

TufResult<RoleKeys> parse_role_keys(const Fields& f, std::string_view where) {
  RoleKeys keys;
  TRY_ASSIGN(keys.keyids, f.strings("keyids"));
  TRY_ASSIGN(keys.threshold, f.unsigned_int("threshold"));
  if (keys.threshold < 1) return refuse(Reason::kMalformed, where, ": threshold below 1");
  std::set<std::string> unique(keys.keyids.begin(), keys.keyids.end());
  if (unique.size() != keys.keyids.size()) {
    return refuse(Reason::kMalformed, where, ": duplicate keyids");
  }
  return keys;
}

TufResult<KeyMap> parse_keys(const Json& v) {
  KeyMap out;
  for (const auto& [keyid, key_json] : v.items()) {
    if (!key_json.is_object()) return refuse(Reason::kMalformed, "key ", keyid, " is not an object");
    Fields f(key_json, "key " + keyid);
    Key key;
    TRY_ASSIGN(key.keytype, f.string("keytype"));
    TRY_ASSIGN(key.scheme, f.string("scheme"));
    const Json* keyval = nullptr;
    TRY_ASSIGN(keyval, f.object("keyval"));
    TRY_ASSIGN(key.public_value, Fields(*keyval, "keyval of " + keyid).string("public"));
    out.emplace(keyid, std::move(key));
  }
  return out;
}

TufResult<MetaFile> parse_meta_file(const Json& v, std::string_view name) {
  if (!v.is_object()) return refuse(Reason::kMalformed, "meta ", name, " is not an object");
  Fields f(v, "meta " + std::string(name));
  MetaFile m;
  TRY_ASSIGN(m.version, f.unsigned_int("version"));
  if (m.version < 1) return refuse(Reason::kMalformed, "meta ", name, ": version below 1");
  if (f.has("length")) {
    std::uint64_t length = 0;
    TRY_ASSIGN(length, f.unsigned_int("length"));
    m.length = length;
  }
  if (f.has("hashes")) TRY_ASSIGN(m.hashes, parse_hashes(v["hashes"], name));
  return m;
}

TufResult<Common> parse_common(const Fields& f, std::string_view expected_type) {
  Common c;
  TRY_ASSIGN(c.type, f.string("_type"));
  if (c.type != expected_type) {
    return refuse(Reason::kWrongType, "expected ", expected_type, " metadata, got \"", c.type,
                  "\"");
  }
  TRY_ASSIGN(c.spec_version, f.string("spec_version"));
  // "MAJOR.MINOR" or "MAJOR.MINOR.PATCH", digits only, major 1.
  std::vector<std::string> parts(1);
  for (char ch : c.spec_version) {
    if (ch == '.') {
      parts.emplace_back();
    } else if (ch >= '0' && ch <= '9') {
      parts.back().push_back(ch);
    } else {
      parts.clear();
      break;
    }
  }
  bool shape_ok = (parts.size() == 2 || parts.size() == 3);
  for (const auto& p : parts) shape_ok = shape_ok && !p.empty();
  if (!shape_ok) return refuse(Reason::kMalformed, "bad spec_version \"", c.spec_version, "\"");
  if (parts[0] != "1") {
    return refuse(Reason::kUnsupportedSpec, "spec_version ", c.spec_version, " is not 1.x");
  }
  TRY_ASSIGN(c.version, f.unsigned_int("version"));
  if (c.version < 1) return refuse(Reason::kMalformed, "version below 1");
  std::string expires;
  TRY_ASSIGN(expires, f.string("expires"));
  auto t = parse_utc_time(expires);
  if (!t) return refuse(Reason::kMalformed, "bad expires \"", expires, "\"");
  c.expires = *t;
  return c;
}

// Parses the envelope {"signed": {...}, "signatures": [...]} and hands "signed" to `body`.
template <typename Role, typename Body>
TufResult<Metadata<Role>> parse_envelope(ByteView bytes, std::string_view type, Body body) {
  Json doc = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return refuse(Reason::kMalformed, type, " metadata is not a JSON object");
  }
  Fields top(doc, std::string(type) + " metadata");
  const Json* signed_json = nullptr;
  const Json* sigs_json = nullptr;
  TRY_ASSIGN(signed_json, top.object("signed"));
  TRY_ASSIGN(sigs_json, top.array("signatures"));

  Metadata<Role> md;
  std::set<std::string> seen;
  for (const auto& s : *sigs_json) {
    if (!s.is_object()) return refuse(Reason::kMalformed, "signature is not an object");
    Fields sf(s, "signature");
    Signature sig;
    TRY_ASSIGN(sig.keyid, sf.string("keyid"));
    TRY_ASSIGN(sig.sig, sf.string("sig"));
    // The spec requires unique keyids in "signatures"; a repeat is refused outright rather than
    // left for threshold counting to ignore.
    if (!seen.insert(sig.keyid).second) {
      return refuse(Reason::kMalformed, "duplicate signature keyid ", sig.keyid);
    }
    md.signatures.push_back(std::move(sig));
  }

  Fields f(*signed_json, type);
  TRY_ASSIGN(static_cast<Common&>(md.role), parse_common(f, type));
  if (auto r = body(f, *signed_json, md.role); !r) return std::unexpected(r.error());
  TRY_ASSIGN(md.canonical_signed, canonical_json(*signed_json));
  md.raw.assign(bytes.begin(), bytes.end());
  return md;
}

TufResult<DelegatedRole> parse_delegated_role(const Json& v) {
  if (!v.is_object()) return refuse(Reason::kMalformed, "delegated role is not an object");
  Fields f(v, "delegated role");
  DelegatedRole role;
  TRY_ASSIGN(role.name, f.string("name"));
  TRY_ASSIGN(role.keys, parse_role_keys(f, "delegated role " + role.name));
  TRY_ASSIGN(role.terminating, f.boolean("terminating"));
  if (f.has("paths")) TRY_ASSIGN(role.paths, f.strings("paths"));
  if (f.has("path_hash_prefixes")) TRY_ASSIGN(role.path_hash_prefixes, f.strings("path_hash_prefixes"));
  if (role.paths && role.path_hash_prefixes) {
    return refuse(Reason::kMalformed, "delegated role ", role.name,
                  " sets both paths and path_hash_prefixes");
  }
  return role;
}

}  // namespace

TufResult<Metadata<Root>> parse_root(ByteView bytes) {
  return parse_envelope<Root>(bytes, "root", [](const Fields& f, const Json&, Root& root) -> TufResult<void> {
    const Json* keys = nullptr;
    const Json* roles = nullptr;
    TRY_ASSIGN(keys, f.object("keys"));
    TRY_ASSIGN(roles, f.object("roles"));
    TRY_ASSIGN(root.keys, parse_keys(*keys));
    for (const auto& [name, role_json] : roles->items()) {
      if (!role_json.is_object()) return refuse(Reason::kMalformed, "role ", name, " is not an object");
      RoleKeys rk;
      TRY_ASSIGN(rk, parse_role_keys(Fields(role_json, "role " + name), "role " + name));
      root.roles.emplace(name, std::move(rk));
    }
    for (const char* required : {"root", "timestamp", "snapshot", "targets"}) {
      if (!root.roles.contains(required)) {
        return refuse(Reason::kMalformed, "root does not define role ", required);
      }
    }
    if (root.roles.size() != 4) return refuse(Reason::kMalformed, "root defines unknown roles");
    if (f.has("consistent_snapshot")) TRY_ASSIGN(root.consistent_snapshot, f.boolean("consistent_snapshot"));
    return {};
  });
}

TufResult<Metadata<Timestamp>> parse_timestamp(ByteView bytes) {
  return parse_envelope<Timestamp>(bytes, "timestamp", [](const Fields& f, const Json&, Timestamp& ts) -> TufResult<void> {
    const Json* meta = nullptr;
    TRY_ASSIGN(meta, f.object("meta"));
    auto it = meta->find("snapshot.json");
    if (it == meta->end()) return refuse(Reason::kMalformed, "timestamp has no snapshot.json meta");
    TRY_ASSIGN(ts.snapshot_meta, parse_meta_file(*it, "snapshot.json"));
    return {};
  });
}

TufResult<Metadata<Snapshot>> parse_snapshot(ByteView bytes) {
  return parse_envelope<Snapshot>(bytes, "snapshot", [](const Fields& f, const Json&, Snapshot& snap) -> TufResult<void> {
    const Json* meta = nullptr;
    TRY_ASSIGN(meta, f.object("meta"));
    for (const auto& [name, v] : meta->items()) {
      MetaFile m;
      TRY_ASSIGN(m, parse_meta_file(v, name));
      snap.meta.emplace(name, std::move(m));
    }
    return {};
  });
}

TufResult<Metadata<Targets>> parse_targets(ByteView bytes) {
  return parse_envelope<Targets>(bytes, "targets", [](const Fields& f, const Json&, Targets& t) -> TufResult<void> {
    const Json* targets = nullptr;
    TRY_ASSIGN(targets, f.object("targets"));
    for (const auto& [path, v] : targets->items()) {
      if (!v.is_object()) return refuse(Reason::kMalformed, "target ", path, " is not an object");
      Fields tf(v, "target " + path);
      TargetFile file;
      file.path = path;
      TRY_ASSIGN(file.length, tf.unsigned_int("length"));
      const Json* hashes = nullptr;
      TRY_ASSIGN(hashes, tf.get("hashes"));
      TRY_ASSIGN(file.hashes, parse_hashes(*hashes, path));
      if (v.contains("custom")) {
        if (!v["custom"].is_object()) {
          return refuse(Reason::kMalformed, "target ", path, ": custom is not an object");
        }
        file.custom = v["custom"].dump();
      }
      t.targets.emplace(path, std::move(file));
    }
    if (f.has("delegations")) {
      const Json* d = nullptr;
      TRY_ASSIGN(d, f.object("delegations"));
      Fields df(*d, "delegations");
      Delegations delegations;
      const Json* keys = nullptr;
      TRY_ASSIGN(keys, df.object("keys"));
      TRY_ASSIGN(delegations.keys, parse_keys(*keys));
      if (df.has("roles")) {
        const Json* roles = nullptr;
        TRY_ASSIGN(roles, df.array("roles"));
        std::set<std::string> names;
        for (const auto& r : *roles) {
          DelegatedRole role;
          TRY_ASSIGN(role, parse_delegated_role(r));
          if (!names.insert(role.name).second) {
            return refuse(Reason::kMalformed, "delegated role ", role.name, " listed twice");
          }
          delegations.roles.push_back(std::move(role));
        }
      } else if (!df.has("succinct_roles")) {
        return refuse(Reason::kMalformed, "delegations have neither roles nor succinct_roles");
      }
      // succinct_roles (TAP 15) is not supported: such a delegator delegates nothing here.
      t.delegations = std::move(delegations);
    }
    return {};
  });
}

const std::string& TargetFile::naming_hash() const {
  auto it = hashes.find("sha256");
  return it != hashes.end() ? it->second : hashes.begin()->second;
}

bool DelegatedRole::covers(std::string_view target_path) const {
  if (paths) {
    for (const auto& pattern : *paths) {
      if (path_matches(target_path, pattern)) return true;
    }
    return false;
  }
  if (path_hash_prefixes) {
    const std::string digest = to_hex(crypto::sha256(as_bytes(target_path)));
    for (const auto& prefix : *path_hash_prefixes) {
      if (digest.starts_with(prefix)) return true;
    }
  }
  return false;
}

namespace {

// One path segment against one glob segment (fnmatch.fnmatchcase semantics).
bool segment_matches(std::string_view s, std::string_view p) {
  std::size_t si = 0, pi = 0;
  std::size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    bool advanced = false;
    if (pi < p.size()) {
      const char c = p[pi];
      if (c == '*') {
        star_p = pi++;
        star_s = si;
        continue;
      }
      if (c == '?') {
        ++pi;
        ++si;
        advanced = true;
      } else if (c == '[') {
        // Find the closing bracket; a ']' right after '[' or '[!' is a literal member.
        std::size_t j = pi + 1;
        if (j < p.size() && p[j] == '!') ++j;
        if (j < p.size() && p[j] == ']') ++j;
        while (j < p.size() && p[j] != ']') ++j;
        if (j >= p.size()) {
          if (s[si] == '[') {  // unterminated class: a literal '['
            ++pi;
            ++si;
            advanced = true;
          }
        } else {
          std::size_t k = pi + 1;
          bool negate = false;
          if (p[k] == '!') {
            negate = true;
            ++k;
          }
          bool member = false;
          const char ch = s[si];
          for (std::size_t m = k; m < j; ++m) {
            if (m + 2 < j && p[m + 1] == '-') {
              if (p[m] <= ch && ch <= p[m + 2]) member = true;
              m += 2;
            } else if (p[m] == ch) {
              member = true;
            }
          }
          if (member != negate) {
            pi = j + 1;
            ++si;
            advanced = true;
          }
        }
      } else if (c == s[si]) {
        ++pi;
        ++si;
        advanced = true;
      }
    }
    if (advanced) continue;
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<std::string_view> split_slash(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find('/', start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

bool path_matches(std::string_view target_path, std::string_view pattern) {
  const auto t = split_slash(target_path);
  const auto p = split_slash(pattern);
  if (t.size() != p.size()) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!segment_matches(t[i], p[i])) return false;
  }
  return true;
}

std::optional<std::int64_t> parse_utc_time(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SSZ
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t len) -> std::optional<unsigned> {
    unsigned v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > kDays[*mo - 1] || *h > 23 || *mi > 59 || *se > 60) {
    return std::nullopt;
  }
  return days_from_civil(*y, *mo, *d) * 86400 + *h * 3600 + *mi * 60 + *se;
}

std::string format_utc_time(std::int64_t t) {
  std::int64_t days = t / 86400;
  std::int64_t rem = t % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y),
                m, d, static_cast<long long>(rem / 3600), static_cast<long long>(rem % 3600 / 60),
                static_cast<long long>(rem % 60));
  return buf;
}

std::string quote_name(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '.' || c == '-' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace ironseal::repo
