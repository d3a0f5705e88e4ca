// PKCS#11 backend of crypto::Signer: the module/session/login lifetime, object lookup, in-token
// signing and key generation (RFC 7512 URI parsing is in pkcs11_uri.cc, return values in
// pkcs11_rv.cc). The C API is used directly through
// p11-kit's pkcs11.h; the module is dlopen()ed, so no PKCS#11 library is linked.
#include "crypto/pkcs11.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/ossl.h"
#include "crypto/pkcs11_internal.h"
#include "crypto/verifier.h"

namespace ironseal::crypto::pkcs11 {
namespace {

// ---- Module: one dlopen + C_Initialize per module path and process ---------------------------

class Module {
 public:
  static Result<std::shared_ptr<Module>> get(const std::string& path) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<Module>> loaded;
    std::lock_guard lock(mu);
    if (auto m = loaded[path].lock()) return m;
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* err = ::dlerror();
      return fail(ErrorCode::kNotFound, "PKCS#11 module ", path,
                  " cannot be loaded: ", err ? err : "dlopen failed",
                  " (set module-path= in the URI or IRONSEAL_PKCS11_MODULE)");
    }
    auto m = std::shared_ptr<Module>(new Module(handle));
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    if (get_list == nullptr) {
      return fail(ErrorCode::kUnsupported, path, " is not a PKCS#11 module (no C_GetFunctionList)");
    }
    if (CK_RV rv = get_list(&m->f_); rv != CKR_OK || m->f_ == nullptr) {
      return ck_fail(rv, "C_GetFunctionList");
    }
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV rv = m->f_->C_Initialize(&args);
    if (rv == CKR_OK) {
      m->initialized_ = true;
    } else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {  // someone else in-process owns it
      return ck_fail(rv, "C_Initialize of " + path);
    }
    loaded[path] = m;
    return m;
  }

  ~Module() {
    if (initialized_) f_->C_Finalize(nullptr);
    // The library stays mapped: unloading a PKCS#11 module that may have registered exit handlers
    // or threads is unsafe, and the process reclaims it at exit. (It also keeps the module's own
    // frames symbolised in leak reports: see tests/lsan.supp.)
    (void)handle_;
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* f() const { return f_; }

 private:
  explicit Module(void* handle) : handle_(handle) {}
  void* handle_;
  CK_FUNCTION_LIST* f_ = nullptr;
  bool initialized_ = false;
};

// ---- Session: one per token and process, logged in at most once ------------------------------

class Session {
 public:
  static Result<std::shared_ptr<Session>> get(std::shared_ptr<Module> module,
                                              const std::string& module_path, CK_SLOT_ID slot) {
    static std::mutex mu;
    static std::map<std::pair<std::string, CK_SLOT_ID>, std::weak_ptr<Session>> open;
    std::lock_guard lock(mu);
    auto& slot_entry = open[{module_path, slot}];
    if (auto s = slot_entry.lock()) return s;
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    if (CK_RV rv = module->f()->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                              nullptr, &h);
        rv != CKR_OK) {
      return ck_fail(rv, "C_OpenSession");
    }
    auto s = std::shared_ptr<Session>(new Session(std::move(module), h));
    slot_entry = s;
    return s;
  }

  ~Session() {
    if (logged_in_) f()->C_Logout(handle_);
    f()->C_CloseSession(handle_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Logs the user in with `pin` (cleansed by the caller). Within one process a token is logged
  // in once; a second, different PIN is refused rather than trusted on the first one's login.
  Result<void> login(std::string_view pin, std::string_view token_label) {
    const Bytes pin_hash = sha256(as_bytes(pin));
    if (logged_in_) {
      if (pin_hash != pin_hash_) {
        return fail(ErrorCode::kPermission, "PKCS#11 token '", token_label,
                    "' is already logged in by this process with a different PIN");
      }
      return {};
    }
    std::string copy(pin);
    const CK_RV rv =
        f()->C_Login(handle_, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(copy.data()), copy.size());
    OPENSSL_cleanse(copy.data(), copy.size());
    if (rv == CKR_PIN_INCORRECT) {
      return fail(ErrorCode::kPermission, "PKCS#11 login to token '", token_label,
                  "' refused: wrong PIN (CKR_PIN_INCORRECT)");
    }
    if (rv == CKR_PIN_LOCKED) {
      return fail(ErrorCode::kPermission, "PKCS#11 token '", token_label,
                  "' has its user PIN locked (CKR_PIN_LOCKED); the security officer must reset it");
    }
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return ck_fail(rv, "C_Login");
    // CKR_USER_ALREADY_LOGGED_IN: someone else in-process logged in; not ours to log out.
    logged_in_ = rv == CKR_OK;
    pin_hash_ = pin_hash;
    return {};
  }

  CK_FUNCTION_LIST* f() const { return module_->f(); }
  CK_SESSION_HANDLE handle() const { return handle_; }
  // PKCS#11 sessions are single-threaded; every operation on this one holds this lock.
  std::mutex& mutex() { return mu_; }

 private:
  Session(std::shared_ptr<Module> module, CK_SESSION_HANDLE h)
      : module_(std::move(module)), handle_(h) {}
  std::shared_ptr<Module> module_;
  CK_SESSION_HANDLE handle_;
  bool logged_in_ = false;
  Bytes pin_hash_;
  std::mutex mu_;
};

// ---- Object lookup ---------------------------------------------------------------------------

// Attribute values a template points at; kept alive next to the CK_ATTRIBUTE array.
struct Template {
  std::vector<CK_ATTRIBUTE> attrs;
  std::vector<std::unique_ptr<Bytes>> values;

  void add(CK_ATTRIBUTE_TYPE type, ByteView value) {
    values.push_back(std::make_unique<Bytes>(value.begin(), value.end()));
    attrs.push_back({type, values.back()->data(), values.back()->size()});
  }
  void add_ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG v) {
    add(type, ByteView(reinterpret_cast<const std::uint8_t*>(&v), sizeof v));
  }
  void add_bool(CK_ATTRIBUTE_TYPE type, bool v) {
    const CK_BBOOL b = v ? CK_TRUE : CK_FALSE;
    add(type, ByteView(&b, 1));
  }
  void add_string(CK_ATTRIBUTE_TYPE type, std::string_view s) { add(type, as_bytes(s)); }
};

Result<std::vector<CK_OBJECT_HANDLE>> find_objects(Session& s, Template& t) {
  CK_FUNCTION_LIST* f = s.f();
  if (CK_RV rv = f->C_FindObjectsInit(s.handle(), t.attrs.data(), t.attrs.size()); rv != CKR_OK) {
    return ck_fail(rv, "C_FindObjectsInit");
  }
  std::vector<CK_OBJECT_HANDLE> found;
  CK_OBJECT_HANDLE batch[16];
  CK_ULONG n = 0;
  CK_RV rv = CKR_OK;
  while ((rv = f->C_FindObjects(s.handle(), batch, 16, &n)) == CKR_OK && n > 0) {
    found.insert(found.end(), batch, batch + n);
  }
  f->C_FindObjectsFinal(s.handle());
  if (rv != CKR_OK) return ck_fail(rv, "C_FindObjects");
  return found;
}

Result<Bytes> get_attribute(Session& s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                            std::string_view name) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  if (CK_RV rv = s.f()->C_GetAttributeValue(s.handle(), obj, &a, 1); rv != CKR_OK) {
    return ck_fail(rv, "reading " + std::string(name));
  }
  if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return fail(ErrorCode::kCrypto, "PKCS#11: ", name, " is unavailable");
  }
  Bytes value(a.ulValueLen);
  a.pValue = value.data();
  if (CK_RV rv = s.f()->C_GetAttributeValue(s.handle(), obj, &a, 1); rv != CKR_OK) {
    return ck_fail(rv, "reading " + std::string(name));
  }
  value.resize(a.ulValueLen);
  return value;
}

Result<CK_ULONG> get_ulong(Session& s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
                           std::string_view name) {
  auto v = get_attribute(s, obj, type, name);
  if (!v) return std::unexpected(v.error());
  if (v->size() != sizeof(CK_ULONG)) return fail(ErrorCode::kCrypto, "PKCS#11: bad ", name);
  CK_ULONG out;
  std::memcpy(&out, v->data(), sizeof out);
  return out;
}

// DER of the OIDs and names PKCS#11 uses in CKA_EC_PARAMS.
const Bytes kP256Oid = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
const Bytes kEd25519Oid = {0x06, 0x03, 0x2b, 0x65, 0x70};
const Bytes kEdwards25519Name = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                 'd',  's',  '2', '5', '5', '1', '9'};

// SubjectPublicKeyInfo prefixes: Ed25519 (RFC 8410) and id-ecPublicKey on prime256v1.
const Bytes kEd25519SpkiPrefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                  0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
const Bytes kP256SpkiPrefix = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                               0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                               0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

// CKA_EC_POINT is a DER OCTET STRING around the point; some tokens return the bare point.
Bytes unwrap_ec_point(const Bytes& v, std::size_t raw_len) {
  if (v.size() == raw_len + 2 && v[0] == 0x04 && v[1] == raw_len) {
    return Bytes(v.begin() + 2, v.end());
  }
  return v;
}

Result<PublicKey> public_key_of(Session& s, CK_OBJECT_HANDLE obj) {
  auto key_type = get_ulong(s, obj, CKA_KEY_TYPE, "CKA_KEY_TYPE");
  if (!key_type) return std::unexpected(key_type.error());
  auto params = get_attribute(s, obj, CKA_EC_PARAMS, "CKA_EC_PARAMS");
  if (!params) return std::unexpected(params.error());
  auto point = get_attribute(s, obj, CKA_EC_POINT, "CKA_EC_POINT");
  if (!point) return std::unexpected(point.error());
  Bytes spki;
  if (*key_type == CKK_EC_EDWARDS && (*params == kEd25519Oid || *params == kEdwards25519Name)) {
    spki = kEd25519SpkiPrefix;
    const Bytes raw = unwrap_ec_point(*point, 32);
    if (raw.size() != 32) return fail(ErrorCode::kMalformed, "PKCS#11: bad Ed25519 CKA_EC_POINT");
    spki.insert(spki.end(), raw.begin(), raw.end());
  } else if (*key_type == CKK_EC && *params == kP256Oid) {
    spki = kP256SpkiPrefix;
    const Bytes raw = unwrap_ec_point(*point, 65);
    if (raw.size() != 65) return fail(ErrorCode::kMalformed, "PKCS#11: bad P-256 CKA_EC_POINT");
    spki.insert(spki.end(), raw.begin(), raw.end());
  } else {
    return fail(ErrorCode::kUnsupported,
                "PKCS#11 key is neither Ed25519 nor ECDSA P-256 (use ed25519 or ecdsa-p256)");
  }
  return PublicKey::from_der(spki);
}

// ---- Opening a token -------------------------------------------------------------------------

std::string trimmed(const CK_UTF8CHAR* field, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(field), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

std::string describe(const Uri& uri) {
  std::string d;
  if (uri.token) d += "token=" + *uri.token;
  if (uri.object) d += (d.empty() ? "" : ";") + ("object=" + *uri.object);
  if (uri.id) d += (d.empty() ? "" : ";") + ("id=" + to_hex(*uri.id));
  return d.empty() ? "(any)" : d;
}

struct OpenToken {
  std::shared_ptr<Session> session;
  std::string label;
};

std::string module_path_of(const Uri& uri) {
  if (uri.module_path) return *uri.module_path;
  if (const char* env = std::getenv("IRONSEAL_PKCS11_MODULE"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::string(kDefaultModule);
}

Result<OpenToken> open_token(const Uri& uri) {
  const std::string path = module_path_of(uri);
  auto module = Module::get(path);
  if (!module) return std::unexpected(module.error());
  CK_FUNCTION_LIST* f = (*module)->f();
  CK_ULONG count = 0;
  if (CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) {
    return ck_fail(rv, "C_GetSlotList");
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (CK_RV rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK) {
    return ck_fail(rv, "C_GetSlotList");
  }
  slots.resize(count);
  std::vector<std::pair<CK_SLOT_ID, std::string>> matches;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    const std::string label = trimmed(info.label, sizeof info.label);
    if (uri.token && *uri.token != label) continue;
    if (uri.manufacturer &&
        *uri.manufacturer != trimmed(info.manufacturerID, sizeof info.manufacturerID)) {
      continue;
    }
    if (uri.serial && *uri.serial != trimmed(info.serialNumber, sizeof info.serialNumber)) continue;
    if (uri.model && *uri.model != trimmed(info.model, sizeof info.model)) continue;
    matches.emplace_back(slot, label);
  }
  if (matches.empty()) {
    return fail(ErrorCode::kNotFound, "no PKCS#11 token ",
                uri.token ? "labelled '" + *uri.token + "'" : std::string("matching the URI"),
                " in module ", path);
  }
  if (matches.size() > 1) {
    return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI matches ", std::to_string(matches.size()),
                " tokens; name one with token= or serial=");
  }
  auto session = Session::get(*module, path, matches[0].first);
  if (!session) return std::unexpected(session.error());
  return OpenToken{std::move(*session), matches[0].second};
}

// The PIN: the URI's pin-source file (0600 or stricter), else IRONSEAL_PKCS11_PIN.
Result<std::string> read_pin(const Uri& uri) {
  if (uri.pin_source) {
    std::string_view src(*uri.pin_source);
    src.remove_prefix(5);                             // "file:", checked by parse_uri
    if (src.starts_with("//")) src.remove_prefix(2);  // file:///path: empty authority
    const std::filesystem::path file{std::string(src)};
    if (auto mode = check_private_file_mode(file); !mode) {
      return fail_in(mode.error(), "PIN file: ");
    }
    auto text = read_file(file);
    if (!text) return fail_in(text.error(), "PIN file: ");
    std::string pin(text->begin(), text->end());
    OPENSSL_cleanse(text->data(), text->size());
    if (!pin.empty() && pin.back() == '\n') pin.pop_back();
    if (!pin.empty() && pin.back() == '\r') pin.pop_back();
    if (pin.empty())
      return fail(ErrorCode::kInvalidArgument, "PIN file ", file.string(), " is empty");
    return pin;
  }
  if (const char* env = std::getenv("IRONSEAL_PKCS11_PIN"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  return fail(ErrorCode::kInvalidArgument,
              "no PIN for the PKCS#11 token: set IRONSEAL_PKCS11_PIN or add "
              "?pin-source=file:/path/to/pin (mode 0600) to the URI");
}

Result<void> login(OpenToken& token, const Uri& uri) {
  auto pin = read_pin(uri);
  if (!pin) return std::unexpected(pin.error());
  std::lock_guard lock(token.session->mutex());
  auto ok = token.session->login(*pin, token.label);
  OPENSSL_cleanse(pin->data(), pin->size());
  return ok;
}

void add_identity(Template& t, const Uri& uri) {
  if (uri.object) t.add_string(CKA_LABEL, *uri.object);
  if (uri.id) t.add(CKA_ID, *uri.id);
}

Result<CK_OBJECT_HANDLE> find_one(Session& s, Template& t, std::string_view what, const Uri& uri) {
  auto found = find_objects(s, t);
  if (!found) return std::unexpected(found.error());
  if (found->empty()) {
    return fail(ErrorCode::kNotFound, "no PKCS#11 ", what, " matching ", describe(uri));
  }
  if (found->size() > 1) {
    return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI ", describe(uri), " matches ",
                std::to_string(found->size()), " ", what, "s; name one with object= or id=");
  }
  return found->front();
}

// ---- Signer ----------------------------------------------------------------------------------

class Pkcs11Signer final : public Signer {
 public:
  Pkcs11Signer(std::shared_ptr<Session> session, CK_OBJECT_HANDLE key, PublicKey pub)
      : session_(std::move(session)), key_(key), public_(std::move(pub)) {}

  KeyType key_type() const override { return public_.type(); }
  const PublicKey& public_key() const override { return public_; }

  Result<Bytes> sign(ByteView message) const override {
    const bool ed = public_.type() == KeyType::kEd25519;
    Bytes input = ed ? Bytes(message.begin(), message.end()) : sha256(message);
    CK_MECHANISM mech{ed ? CKM_EDDSA : CKM_ECDSA, nullptr, 0};
    Bytes sig;
    {
      std::lock_guard lock(session_->mutex());
      CK_FUNCTION_LIST* f = session_->f();
      if (CK_RV rv = f->C_SignInit(session_->handle(), &mech, key_); rv != CKR_OK) {
        return ck_fail(rv, "C_SignInit");
      }
      CK_ULONG len = 0;
      if (CK_RV rv = f->C_Sign(session_->handle(), input.data(), input.size(), nullptr, &len);
          rv != CKR_OK) {
        return ck_fail(rv, "C_Sign");
      }
      sig.resize(len);
      if (CK_RV rv = f->C_Sign(session_->handle(), input.data(), input.size(), sig.data(), &len);
          rv != CKR_OK) {
        return ck_fail(rv, "C_Sign");
      }
      sig.resize(len);
    }
    if (!ed) {
      auto der = raw_ecdsa_to_der(sig);
      if (!der) return der;
      sig = std::move(*der);
    }
    // Fail closed: a token that returns anything but a valid signature is not believed.
    if (auto ok = public_.verify(message, sig); !ok) {
      return fail(ErrorCode::kCrypto,
                  "PKCS#11 token returned a signature that does not verify with its public key");
    }
    return sig;
  }

 private:
  static Result<Bytes> raw_ecdsa_to_der(const Bytes& rs) {
    if (rs.size() != 64) {
      return fail(ErrorCode::kCrypto, "PKCS#11 ECDSA signature has ", std::to_string(rs.size()),
                  " bytes, expected 64 (r||s)");
    }
    return ecdsa_der_signature(ByteView(rs.data(), 32), ByteView(rs.data() + 32, 32));
  }

  std::shared_ptr<Session> session_;
  CK_OBJECT_HANDLE key_;
  PublicKey public_;
};

}  // namespace

Result<std::unique_ptr<Signer>> open_signer(std::string_view text) {
  auto uri = parse_uri(text);
  if (!uri) return std::unexpected(uri.error());
  if (uri->type == "public") {
    return fail(ErrorCode::kInvalidArgument,
                "PKCS#11 URI names a public key (type=public); signing needs the private key");
  }
  if (!uri->object && !uri->id) {
    return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI names no key: add object= or id=");
  }
  auto token = open_token(*uri);
  if (!token) return std::unexpected(token.error());
  if (auto ok = login(*token, *uri); !ok) return std::unexpected(ok.error());

  Session& s = *token->session;
  std::lock_guard lock(s.mutex());
  Template priv_t;
  priv_t.add_ulong(CKA_CLASS, CKO_PRIVATE_KEY);
  add_identity(priv_t, *uri);
  auto priv = find_one(s, priv_t, "private key", *uri);
  if (!priv) return std::unexpected(priv.error());

  // The matching public-key object: same CKA_ID when the key has one, else the same label.
  auto id = get_attribute(s, *priv, CKA_ID, "CKA_ID");
  Template pub_t;
  pub_t.add_ulong(CKA_CLASS, CKO_PUBLIC_KEY);
  if (id && !id->empty()) {
    pub_t.add(CKA_ID, *id);
  } else if (uri->object) {
    pub_t.add_string(CKA_LABEL, *uri->object);
  } else {
    return fail(ErrorCode::kNotFound, "PKCS#11 private key has no CKA_ID to find its public key");
  }
  auto pub_obj = find_one(s, pub_t, "public key", *uri);
  if (!pub_obj) return std::unexpected(pub_obj.error());
  auto pub = public_key_of(s, *pub_obj);
  if (!pub) return std::unexpected(pub.error());
  auto priv_type = get_ulong(s, *priv, CKA_KEY_TYPE, "CKA_KEY_TYPE");
  if (!priv_type) return std::unexpected(priv_type.error());
  if (*priv_type != (pub->type() == KeyType::kEd25519 ? CKK_EC_EDWARDS : CKK_EC)) {
    return fail(ErrorCode::kCrypto, "PKCS#11 private and public key types differ");
  }
  return std::make_unique<Pkcs11Signer>(token->session, *priv, std::move(*pub));
}

Result<PublicKey> public_key(std::string_view text) {
  auto uri = parse_uri(text);
  if (!uri) return std::unexpected(uri.error());
  if (!uri->object && !uri->id) {
    return fail(ErrorCode::kInvalidArgument, "PKCS#11 URI names no key: add object= or id=");
  }
  auto token = open_token(*uri);
  if (!token) return std::unexpected(token.error());
  Session& s = *token->session;
  std::lock_guard lock(s.mutex());
  Template t;
  t.add_ulong(CKA_CLASS, CKO_PUBLIC_KEY);
  add_identity(t, *uri);
  auto obj = find_one(s, t, "public key", *uri);
  if (!obj) return std::unexpected(obj.error());
  return public_key_of(s, *obj);
}

Result<PublicKey> generate_key(std::string_view text, KeyType type) {
  auto uri = parse_uri(text);
  if (!uri) return std::unexpected(uri.error());
  if (!uri->object) {
    return fail(ErrorCode::kInvalidArgument,
                "PKCS#11 key generation needs a label: add object=NAME to the URI");
  }
  if (uri->type) {
    return fail(ErrorCode::kInvalidArgument,
                "PKCS#11 key generation makes both halves: drop type=");
  }
  auto token = open_token(*uri);
  if (!token) return std::unexpected(token.error());
  if (auto ok = login(*token, *uri); !ok) return std::unexpected(ok.error());
  Session& s = *token->session;
  std::lock_guard lock(s.mutex());

  // Never a second key under the same name: lookups by label or id would become ambiguous.
  for (int by_id = 0; by_id < 2; ++by_id) {
    if (by_id == 1 && !uri->id) break;
    Template t;
    if (by_id == 0) t.add_string(CKA_LABEL, *uri->object);
    if (by_id == 1) t.add(CKA_ID, *uri->id);
    auto found = find_objects(s, t);
    if (!found) return std::unexpected(found.error());
    if (!found->empty()) {
      return fail(ErrorCode::kInvalidArgument, "PKCS#11 token '", token->label,
                  "' already holds an object with ",
                  by_id ? "that id" : "label '" + *uri->object + "'", "; a key is never replaced");
    }
  }
  Bytes id = uri->id.value_or(Bytes(16));
  if (!uri->id && RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) {
    return fail(ErrorCode::kCrypto, "no randomness for CKA_ID");
  }
  const bool ed = type == KeyType::kEd25519;
  const Bytes& params = ed ? kEd25519Oid : kP256Oid;
  const CK_KEY_TYPE ck_type = ed ? CKK_EC_EDWARDS : CKK_EC;

  Template pub_t;
  pub_t.add_ulong(CKA_CLASS, CKO_PUBLIC_KEY);
  pub_t.add_ulong(CKA_KEY_TYPE, ck_type);
  pub_t.add_bool(CKA_TOKEN, true);
  pub_t.add_bool(CKA_PRIVATE, false);
  pub_t.add_bool(CKA_VERIFY, true);
  pub_t.add(CKA_EC_PARAMS, params);
  pub_t.add_string(CKA_LABEL, *uri->object);
  pub_t.add(CKA_ID, id);

  Template priv_t;
  priv_t.add_ulong(CKA_CLASS, CKO_PRIVATE_KEY);
  priv_t.add_ulong(CKA_KEY_TYPE, ck_type);
  priv_t.add_bool(CKA_TOKEN, true);
  priv_t.add_bool(CKA_PRIVATE, true);
  priv_t.add_bool(CKA_SENSITIVE, true);
  priv_t.add_bool(CKA_EXTRACTABLE, false);
  priv_t.add_bool(CKA_SIGN, true);
  priv_t.add_string(CKA_LABEL, *uri->object);
  priv_t.add(CKA_ID, id);

  CK_MECHANISM mech{ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_OBJECT_HANDLE pub_obj = CK_INVALID_HANDLE, priv_obj = CK_INVALID_HANDLE;
  if (CK_RV rv =
          s.f()->C_GenerateKeyPair(s.handle(), &mech, pub_t.attrs.data(), pub_t.attrs.size(),
                                   priv_t.attrs.data(), priv_t.attrs.size(), &pub_obj, &priv_obj);
      rv != CKR_OK) {
    return ck_fail(rv, "C_GenerateKeyPair");
  }
  return public_key_of(s, pub_obj);
}

}  // namespace ironseal::crypto::pkcs11
