// crypto/pkcs11: HSM-held keys against SoftHSM2. Each test gets its own token store (its own
// SOFTHSM2_CONF in a temp dir) and a freshly initialised token, so tests share nothing. SoftHSM2
// is a test requirement (scripts/setup.sh installs it): without it these tests fail, not skip.
#include "crypto/pkcs11.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "crypto/signer.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::crypto::pkcs11 {
namespace {

constexpr char kPin[] = "246810";
constexpr char kSoPin[] = "13579135";

// A private SoftHSM2 token store with one token labelled "test" (user PIN kPin), and
// IRONSEAL_PKCS11_PIN set to it. Restores the environment when done.
class SoftHsm : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(std::string(kDefaultModule).c_str(), R_OK), 0)
        << kDefaultModule << " missing: install softhsm2 (scripts/setup.sh)";
    std::filesystem::create_directory(dir_ / "tokens");
    {
      std::ofstream conf(dir_ / "softhsm2.conf");
      conf << "directories.tokendir = " << (dir_ / "tokens").string()
           << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    }
    ::setenv("SOFTHSM2_CONF", (dir_ / "softhsm2.conf").c_str(), 1);
    ::setenv("IRONSEAL_PKCS11_PIN", kPin, 1);
    ::unsetenv("IRONSEAL_PKCS11_MODULE");
    const std::string cmd =
        std::string("softhsm2-util --init-token --free --label test --so-pin ") + kSoPin +
        " --pin " + kPin + " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "softhsm2-util failed (is softhsm2 installed?)";
  }
  void TearDown() override {
    ::unsetenv("SOFTHSM2_CONF");
    ::unsetenv("IRONSEAL_PKCS11_PIN");
  }

  testing::TempDir dir_;
};

// The raw PKCS#11 view of a token, for checks ironseal's API deliberately cannot make (such as
// trying to export a private key). Use only while no ironseal signer is open.
class RawToken {
 public:
  RawToken() {
    lib_ = ::dlopen(std::string(kDefaultModule).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib_ == nullptr) return;
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(lib_, "C_GetFunctionList"));
    if (get == nullptr || get(&f_) != CKR_OK || f_->C_Initialize(nullptr) != CKR_OK) return;
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    if (f_->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) return;
    for (CK_ULONG i = 0; i < n; ++i) {
      CK_TOKEN_INFO info{};
      if (f_->C_GetTokenInfo(slots[i], &info) == CKR_OK && (info.flags & CKF_TOKEN_INITIALIZED) &&
          f_->C_OpenSession(slots[i], CKF_SERIAL_SESSION, nullptr, nullptr, &session_) == CKR_OK) {
        ok_ =
            f_->C_Login(session_, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kPin)),
                        sizeof kPin - 1) == CKR_OK;
        return;
      }
    }
  }
  ~RawToken() {
    if (f_ != nullptr) f_->C_Finalize(nullptr);
    if (lib_ != nullptr) ::dlclose(lib_);
  }
  bool ok() const { return ok_; }
  CK_FUNCTION_LIST* f() const { return f_; }
  CK_SESSION_HANDLE session() const { return session_; }

  CK_OBJECT_HANDLE private_key(const std::string& label) const {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    std::string l = label;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, l.data(), l.size()}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    f_->C_FindObjectsInit(session_, t, 2);
    f_->C_FindObjects(session_, &h, 1, &n);
    f_->C_FindObjectsFinal(session_);
    return n == 1 ? h : CK_INVALID_HANDLE;
  }

 private:
  void* lib_ = nullptr;
  CK_FUNCTION_LIST* f_ = nullptr;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  bool ok_ = false;
};

TEST(Pkcs11Uri, ParsesPathAndQueryWithPercentDecoding) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  auto uri = parse_uri(
      "pkcs11:token=release%20keys;object=fw-ed25519;id=%01%ff;type=private"
      "?pin-source=file:/etc/ironseal/pin&module-path=/usr/lib/x.so");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(uri->token, "release keys");
  EXPECT_EQ(uri->object, "fw-ed25519");
  EXPECT_EQ(uri->id, (Bytes{0x01, 0xff}));
  EXPECT_EQ(uri->type, "private");
  EXPECT_EQ(uri->pin_source, "file:/etc/ironseal/pin");
  EXPECT_EQ(uri->module_path, "/usr/lib/x.so");
}

TEST(Pkcs11Uri, RefusesMalformedOrUnknownAttributes) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  for (const char* bad : {
           "pkcs11:token=a;bogus=1",             // unknown attribute
           "pkcs11:token=a;token=b",             // duplicate
           "pkcs11:object=a%2",                  // truncated percent-encoding
           "pkcs11:object=a%zz",                 // not hex
           "pkcs11:object=a b",                  // space must be encoded
           "pkcs11:object=a/b",                  // '/' is not a path character
           "pkcs11:token=a;;object=b",           // empty attribute
           "pkcs11:token",                       // no '='
           "pkcs11:object=a?pin-value=1234",     // a PIN on the command line
           "pkcs11:object=a;module-path=/x.so",  // query attribute in the path
           "pkcs11:object=a?pin-source=/pin",    // pin-source not a file: URI
           "pkcs11:slot-id=3;object=a",          // RFC 7512 name ironseal does not use
           "pkcs11:type=cert",                   // not a key
           "pkcs:token=a",                       // not the scheme
       }) {
    auto uri = parse_uri(bad);
    ASSERT_FALSE(uri) << bad;
    EXPECT_EQ(uri.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(parse_uri("pkcs11:object=a?pin-value=1").error().message.find("never"),
            std::string::npos);
  EXPECT_NE(parse_uri("pkcs11:bogus=1").error().message.find("unknown attribute 'bogus'"),
            std::string::npos);
  // Through the Signer factory too: a malformed URI is a usage error before any module loads.
  EXPECT_EQ(crypto::open_signer("pkcs11:token=test;object=k;frobnicate=1").error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(SoftHsm, GeneratesKeysInTheTokenAndSignsThroughOpenSigner) {
  IRONSEAL_REQUIREMENTS("CR 1.5; CR 1.9; SM-6");
  for (KeyType type : {KeyType::kEd25519, KeyType::kEcdsaP256}) {
    const std::string uri =
        std::string("pkcs11:token=test;object=fw-") + std::string(key_type_name(type));
    auto generated = generate_key(uri, type);
    ASSERT_TRUE(generated) << generated.error().message;
    EXPECT_EQ(generated->type(), type);

    auto signer = crypto::open_signer(uri);
    ASSERT_TRUE(signer) << signer.error().message;
    EXPECT_EQ((*signer)->key_type(), type);
    EXPECT_EQ((*signer)->public_key().spki_der(), generated->spki_der());
    const Bytes message(1000, 0x5a);
    auto sig = (*signer)->sign(message);
    ASSERT_TRUE(sig) << sig.error().message;

    // Verified with the public key alone, as a device or TUF client would.
    auto pub = PublicKey::from_pem(generated->to_pem());
    ASSERT_TRUE(pub);
    EXPECT_TRUE(pub->verify(message, *sig));
    Bytes other = message;
    other[0] ^= 1;
    EXPECT_FALSE(pub->verify(other, *sig));

    auto exported = public_key(uri);
    ASSERT_TRUE(exported) << exported.error().message;
    EXPECT_EQ(exported->spki_der(), generated->spki_der());
  }
}

TEST_F(SoftHsm, TwoSignersOnOneTokenShareTheLogin) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  ASSERT_TRUE(generate_key("pkcs11:token=test;object=root", KeyType::kEd25519));
  ASSERT_TRUE(generate_key("pkcs11:token=test;object=targets", KeyType::kEcdsaP256));
  auto a = crypto::open_signer("pkcs11:token=test;object=root");
  auto b = crypto::open_signer("pkcs11:token=test;object=targets");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  a->reset();  // logging out one must not log out the other
  auto sig = (*b)->sign(as_bytes("metadata"));
  ASSERT_TRUE(sig) << sig.error().message;
  EXPECT_TRUE((*b)->public_key().verify(as_bytes("metadata"), *sig));
}

TEST_F(SoftHsm, PrivateKeyIsSensitiveAndCannotBeExported) {
  IRONSEAL_REQUIREMENTS("CR 1.5; CR 1.9");
  ASSERT_TRUE(generate_key("pkcs11:token=test;object=fw", KeyType::kEd25519));
  // (every ironseal signer is gone here, so the module is finalised and ours to initialise)
  RawToken raw;
  ASSERT_TRUE(raw.ok());
  const CK_OBJECT_HANDLE key = raw.private_key("fw");
  ASSERT_NE(key, CK_INVALID_HANDLE);
  CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE, never_extractable = CK_FALSE;
  CK_ATTRIBUTE flags[] = {{CKA_EXTRACTABLE, &extractable, 1},
                          {CKA_SENSITIVE, &sensitive, 1},
                          {CKA_NEVER_EXTRACTABLE, &never_extractable, 1}};
  ASSERT_EQ(raw.f()->C_GetAttributeValue(raw.session(), key, flags, 3), CKR_OK);
  EXPECT_EQ(extractable, CK_FALSE);
  EXPECT_EQ(sensitive, CK_TRUE);
  EXPECT_EQ(never_extractable, CK_TRUE);
  // The export attempt: reading the private value is refused by the token.
  std::uint8_t value[256];
  CK_ATTRIBUTE get{CKA_VALUE, value, sizeof value};
  EXPECT_EQ(raw.f()->C_GetAttributeValue(raw.session(), key, &get, 1), CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(get.ulValueLen, CK_UNAVAILABLE_INFORMATION);
}

TEST_F(SoftHsm, WrongPinIsAPermissionErrorThatSaysSo) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  ASSERT_TRUE(generate_key("pkcs11:token=test;object=fw", KeyType::kEd25519));
  ::setenv("IRONSEAL_PKCS11_PIN", "999999", 1);
  auto signer = crypto::open_signer("pkcs11:token=test;object=fw");
  ASSERT_FALSE(signer);
  EXPECT_EQ(signer.error().code, ErrorCode::kPermission);
  EXPECT_NE(signer.error().message.find("wrong PIN"), std::string::npos) << signer.error().message;
  EXPECT_EQ(signer.error().message.find("999999"), std::string::npos) << "the PIN leaked";
}

TEST_F(SoftHsm, MissingPinIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  ::unsetenv("IRONSEAL_PKCS11_PIN");
  auto signer = crypto::open_signer("pkcs11:token=test;object=fw");
  ASSERT_FALSE(signer);
  EXPECT_NE(signer.error().message.find("no PIN"), std::string::npos) << signer.error().message;
}

TEST_F(SoftHsm, UnknownTokenOrObjectIsNotFound) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  ASSERT_TRUE(generate_key("pkcs11:token=test;object=fw", KeyType::kEd25519));
  auto no_token = crypto::open_signer("pkcs11:token=absent;object=fw");
  ASSERT_FALSE(no_token);
  EXPECT_EQ(no_token.error().code, ErrorCode::kNotFound);
  auto no_object = crypto::open_signer("pkcs11:token=test;object=absent");
  ASSERT_FALSE(no_object);
  EXPECT_EQ(no_object.error().code, ErrorCode::kNotFound);
  auto no_id = crypto::open_signer("pkcs11:token=test;object=fw;id=%99");
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().code, ErrorCode::kNotFound);
  auto no_module = crypto::open_signer("pkcs11:token=test;object=fw?module-path=/nonexistent.so");
  ASSERT_FALSE(no_module);
  EXPECT_EQ(no_module.error().code, ErrorCode::kNotFound);
}

TEST_F(SoftHsm, GenerateNeverReplacesAnExistingKey) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  auto first = generate_key("pkcs11:token=test;object=fw", KeyType::kEd25519);
  ASSERT_TRUE(first);
  auto second = generate_key("pkcs11:token=test;object=fw", KeyType::kEcdsaP256);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kInvalidArgument);
  auto pub = public_key("pkcs11:token=test;object=fw");
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->spki_der(), first->spki_der());
}

TEST_F(SoftHsm, PinFileMustBePrivate) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  ASSERT_TRUE(generate_key("pkcs11:token=test;object=fw", KeyType::kEd25519));
  ::unsetenv("IRONSEAL_PKCS11_PIN");
  const auto pin_file = dir_ / "pin";
  {
    std::ofstream out(pin_file);
    out << kPin << "\n";
  }
  const std::string uri = "pkcs11:token=test;object=fw?pin-source=file:" + pin_file.string();
  ::chmod(pin_file.c_str(), 0644);
  auto loose = crypto::open_signer(uri);
  ASSERT_FALSE(loose);
  EXPECT_EQ(loose.error().code, ErrorCode::kPermission);
  ::chmod(pin_file.c_str(), 0600);
  auto signer = crypto::open_signer(uri);
  ASSERT_TRUE(signer) << signer.error().message;
  auto sig = (*signer)->sign(as_bytes("m"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE((*signer)->public_key().verify(as_bytes("m"), *sig));
}

}  // namespace
}  // namespace ironseal::crypto::pkcs11
