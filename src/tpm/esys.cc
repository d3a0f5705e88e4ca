#include "tpm/esys.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <cstdlib>
#include <cstring>

#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/verifier.h"

namespace ironseal::tpm {
namespace {

std::string rc_text(TSS2_RC rc) {
  const char* s = Tss2_RC_Decode(rc);
  return s != nullptr ? s : "unknown TSS2 error";
}

std::unexpected<Error> tss_fail(const char* what, TSS2_RC rc) {
  return fail(ErrorCode::kIo, "TPM ", what, " failed: ", rc_text(rc));
}

// Frees memory ESAPI hands back (Esys_Free), whatever its type.
template <typename T>
struct EsysFree {
  void operator()(T* p) const { Esys_Free(p); }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFree<T>>;

// An ESYS_TR for a TPM handle, closed (not flushed: the object stays in the TPM) on scope exit.
class TrHandle {
 public:
  TrHandle(ESYS_CONTEXT* ctx, ESYS_TR tr) : ctx_(ctx), tr_(tr) {}
  ~TrHandle() {
    if (tr_ != ESYS_TR_NONE) Esys_TR_Close(ctx_, &tr_);
  }
  TrHandle(const TrHandle&) = delete;
  TrHandle& operator=(const TrHandle&) = delete;
  ESYS_TR get() const { return tr_; }
  ESYS_TR release() {
    const ESYS_TR t = tr_;
    tr_ = ESYS_TR_NONE;
    return t;
  }

 private:
  ESYS_CONTEXT* ctx_;
  ESYS_TR tr_;
};

std::string handle_hex(std::uint32_t h) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", h);
  return buf;
}

Result<std::uint64_t> read_u64(Tpm& tpm, ESYS_TR index) {
  TPM2B_MAX_NV_BUFFER* raw = nullptr;
  const TSS2_RC rc = Esys_NV_Read(tpm.esys(), index, index, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                  ESYS_TR_NONE, 8, 0, &raw);
  EsysPtr<TPM2B_MAX_NV_BUFFER> data(raw);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("NV_Read", rc);
  if (data->size != 8) return fail(ErrorCode::kMalformed, "NV index did not return 8 bytes");
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | data->buffer[i];  // TPM byte order: big-endian
  return v;
}

Result<ESYS_TR> define_index(Tpm& tpm, std::uint32_t index, TPMA_NV attributes,
                             std::uint16_t size) {
  TPM2B_NV_PUBLIC pub{};
  pub.nvPublic.nvIndex = index;
  pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
  pub.nvPublic.attributes = attributes;
  pub.nvPublic.dataSize = size;
  const TPM2B_AUTH auth{};
  ESYS_TR tr = ESYS_TR_NONE;
  const TSS2_RC rc = Esys_NV_DefineSpace(tpm.esys(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &tr);
  if (rc == TPM2_RC_NV_DEFINED) {
    return fail(ErrorCode::kInvalidArgument, "TPM NV index ", handle_hex(index),
                " is already defined; refusing to reuse a counter");
  }
  if (rc != TSS2_RC_SUCCESS) return tss_fail("NV_DefineSpace", rc);
  return tr;
}

constexpr TPMA_NV kIndexAuth = TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;

}  // namespace

// ---- Connection --------------------------------------------------------------------------------

Result<std::shared_ptr<Tpm>> Tpm::connect() {
  // libtss2 logs TPM errors to stderr by default, including the expected "no such handle" of a
  // probe; ironseal reports failures itself. An explicit TSS2_LOG still wins.
  ::setenv("TSS2_LOG", "all+none", 0);
  const char* conf = std::getenv("TPM2OPENSSL_TCTI");
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &tcti);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(ErrorCode::kIo, "cannot reach the TPM (TCTI ", conf ? conf : "default",
                "): ", rc_text(rc));
  }
  ESYS_CONTEXT* esys = nullptr;
  rc = Esys_Initialize(&esys, tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    Tss2_TctiLdr_Finalize(&tcti);
    return fail(ErrorCode::kIo, "cannot open an ESAPI context: ", rc_text(rc));
  }
  return std::shared_ptr<Tpm>(new Tpm(tcti, esys));
}

Tpm::~Tpm() {
  Esys_Finalize(&esys_);
  Tss2_TctiLdr_Finalize(&tcti_);
}

// ---- NV counter --------------------------------------------------------------------------------

Result<void> NvCounter::define_counter(Tpm& tpm, std::uint32_t index) {
  auto counter =
      define_index(tpm, index, kIndexAuth | (TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT), 8);
  if (!counter) return std::unexpected(counter.error());
  TrHandle c(tpm.esys(), *counter);
  // The first increment initialises the counter (to at least the highest value any counter on
  // this TPM ever had); that value is the base from which the device counts.
  TSS2_RC rc =
      Esys_NV_Increment(tpm.esys(), c.get(), c.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("NV_Increment", rc);
  auto base = read_u64(tpm, c.get());
  if (!base) return std::unexpected(base.error());

  auto base_index = define_index(tpm, index + 1, kIndexAuth | TPMA_NV_WRITEDEFINE, 8);
  if (!base_index) return std::unexpected(base_index.error());
  TrHandle b(tpm.esys(), *base_index);
  TPM2B_MAX_NV_BUFFER data{};
  data.size = 8;
  for (int i = 0; i < 8; ++i) data.buffer[i] = static_cast<std::uint8_t>(*base >> (56 - 8 * i));
  rc = Esys_NV_Write(tpm.esys(), b.get(), b.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                     &data, 0);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("NV_Write (counter base)", rc);
  // Locked until the index is deleted: the base cannot be raised later to lower the counter.
  rc =
      Esys_NV_WriteLock(tpm.esys(), b.get(), b.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("NV_WriteLock (counter base)", rc);
  return {};
}

Result<void> NvCounter::undefine_counter(Tpm& tpm, std::uint32_t index) {
  for (const std::uint32_t h : {index + 1, index}) {
    ESYS_TR tr = ESYS_TR_NONE;
    if (Esys_TR_FromTPMPublic(tpm.esys(), h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr) !=
        TSS2_RC_SUCCESS) {
      continue;  // not there (a define that failed half-way)
    }
    const TSS2_RC rc = Esys_NV_UndefineSpace(tpm.esys(), ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD,
                                             ESYS_TR_NONE, ESYS_TR_NONE);
    if (rc != TSS2_RC_SUCCESS) {
      Esys_TR_Close(tpm.esys(), &tr);
      return tss_fail("NV_UndefineSpace", rc);
    }
  }
  return {};
}

Result<std::unique_ptr<NvCounter>> NvCounter::open(std::shared_ptr<Tpm> tpm, std::uint32_t index) {
  ESYS_TR counter = ESYS_TR_NONE, base_tr = ESYS_TR_NONE;
  TSS2_RC rc =
      Esys_TR_FromTPMPublic(tpm->esys(), index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &counter);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(ErrorCode::kNotFound, "the TPM has no anti-rollback counter at NV index ",
                handle_hex(index), " (device init defines it): ", rc_text(rc));
  }
  TrHandle c(tpm->esys(), counter);
  rc = Esys_TR_FromTPMPublic(tpm->esys(), index + 1, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                             &base_tr);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(ErrorCode::kNotFound, "the TPM counter at ", handle_hex(index),
                " has no base index: ", rc_text(rc));
  }
  TrHandle b(tpm->esys(), base_tr);
  // Both indexes must have the attributes define_counter gave them: a look-alike ordinary index
  // (writable at will) in place of the counter would make it lowerable.
  for (auto [tr, want] :
       {std::pair{c.get(), TPM2_NT_COUNTER}, std::pair{b.get(), TPM2_NT_ORDINARY}}) {
    TPM2B_NV_PUBLIC* raw_pub = nullptr;
    rc = Esys_NV_ReadPublic(tpm->esys(), tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw_pub,
                            nullptr);
    EsysPtr<TPM2B_NV_PUBLIC> pub(raw_pub);
    if (rc != TSS2_RC_SUCCESS) return tss_fail("NV_ReadPublic", rc);
    const TPMA_NV a = pub->nvPublic.attributes;
    const auto type = (a & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT;
    if (type != want || pub->nvPublic.dataSize != 8 ||
        (want == TPM2_NT_ORDINARY &&
         ((a & TPMA_NV_WRITEDEFINE) == 0 || (a & TPMA_NV_WRITELOCKED) == 0))) {
      return fail(ErrorCode::kNotTrusted, "TPM NV index ",
                  handle_hex(want == TPM2_NT_COUNTER ? index : index + 1),
                  " is not an ironseal anti-rollback counter (wrong type or attributes)");
    }
  }
  auto base = read_u64(*tpm, b.get());
  if (!base) return std::unexpected(base.error());
  return std::unique_ptr<NvCounter>(new NvCounter(std::move(tpm), c.release(), *base));
}

Result<std::uint64_t> NvCounter::raw() const {
  return read_u64(*tpm_, counter_);
}

bool NvCounter::read(std::uint32_t* value) const {
  auto r = raw();
  if (!r || *r < base_) return false;
  const std::uint64_t v = *r - base_;
  *value = v > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(v);
  return true;
}

bool NvCounter::advance(std::uint32_t target) {
  std::uint32_t value = 0;
  if (!read(&value)) return false;
  // One increment per step, like one fuse per step: a cut leaves a value in between.
  for (; value < target; ++value) {
    if (Esys_NV_Increment(tpm_->esys(), counter_, counter_, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                          ESYS_TR_NONE) != TSS2_RC_SUCCESS) {
      return false;
    }
  }
  return true;
}

// ---- PCR ---------------------------------------------------------------------------------------

Result<void> measure_boot(Tpm& tpm, const std::vector<Digest>& measurements) {
  const ESYS_TR pcr = ESYS_TR_PCR0 + kMeasuredBootPcr;
  TSS2_RC rc = Esys_PCR_Reset(tpm.esys(), pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("PCR_Reset", rc);
  for (const Digest& m : measurements) {
    TPML_DIGEST_VALUES values{};
    values.count = 1;
    values.digests[0].hashAlg = TPM2_ALG_SHA256;
    std::memcpy(values.digests[0].digest.sha256, m.data(), m.size());
    rc = Esys_PCR_Extend(tpm.esys(), pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &values);
    if (rc != TSS2_RC_SUCCESS) return tss_fail("PCR_Extend", rc);
  }
  return {};
}

// The SHA-256 bank's measured-boot PCR, alone: what read_pcr reads and quote signs.
static TPML_PCR_SELECTION measured_boot_selection() {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  sel.pcrSelections[0].pcrSelect[kMeasuredBootPcr / 8] = 1u << (kMeasuredBootPcr % 8);
  return sel;
}

Result<Digest> read_pcr(Tpm& tpm) {
  const TPML_PCR_SELECTION sel = measured_boot_selection();
  TPML_PCR_SELECTION* out_sel = nullptr;
  TPML_DIGEST* values = nullptr;
  const TSS2_RC rc = Esys_PCR_Read(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                                   nullptr, &out_sel, &values);
  EsysPtr<TPML_PCR_SELECTION> s(out_sel);
  EsysPtr<TPML_DIGEST> v(values);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("PCR_Read", rc);
  if (v->count != 1 || v->digests[0].size != 32) {
    return fail(ErrorCode::kUnsupported, "the TPM has no SHA-256 PCR bank");
  }
  Digest d;
  std::memcpy(d.data(), v->digests[0].buffer, 32);
  return d;
}

Digest expected_pcr(const std::vector<Digest>& measurements) {
  Digest pcr{};
  for (const Digest& m : measurements) {
    Bytes buf(pcr.begin(), pcr.end());
    buf.insert(buf.end(), m.begin(), m.end());
    const Bytes h = crypto::sha256(buf);
    std::copy(h.begin(), h.end(), pcr.begin());
  }
  return pcr;
}

// ---- Attestation key and quote -----------------------------------------------------------------

namespace {

TPM2B_PUBLIC attestation_key_template() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  // Restricted signing: the TPM signs only digests it computed itself (quotes, certify), never
  // an outside message that merely looks like a TPMS_ATTEST.
  p.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                       TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                       TPMA_OBJECT_USERWITHAUTH;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

Result<std::string> ecc_public_pem(const TPMT_PUBLIC& p) {
  const auto& x = p.unique.ecc.x;
  const auto& y = p.unique.ecc.y;
  if (p.type != TPM2_ALG_ECC || p.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
      x.size != 32 || y.size != 32) {
    return fail(ErrorCode::kUnsupported, "attestation key is not ECC P-256");
  }
  std::uint8_t point[65];
  point[0] = 0x04;
  std::memcpy(point + 1, x.buffer, 32);
  std::memcpy(point + 33, y.buffer, 32);
  auto key = crypto::PublicKey::from_raw(crypto::KeyType::kEcdsaP256, ByteView(point));
  if (!key) {
    return fail(ErrorCode::kCrypto, "cannot build the attestation public key: ",
                key.error().message);
  }
  return key->to_pem();
}

// The persistent attestation key, or an error if it is not there (or is not one).
Result<ESYS_TR> load_attestation_key(Tpm& tpm, std::string* pem) {
  ESYS_TR tr = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(tpm.esys(), kAttestationKeyHandle, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &tr);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(ErrorCode::kNotFound, "no attestation key at ", handle_hex(kAttestationKeyHandle));
  }
  TrHandle h(tpm.esys(), tr);
  TPM2B_PUBLIC* raw = nullptr;
  rc = Esys_ReadPublic(tpm.esys(), h.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw, nullptr,
                       nullptr);
  EsysPtr<TPM2B_PUBLIC> pub(raw);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("ReadPublic (attestation key)", rc);
  const TPMA_OBJECT want = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT |
                           TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_SENSITIVEDATAORIGIN;
  if ((pub->publicArea.objectAttributes & want) != want ||
      (pub->publicArea.objectAttributes & TPMA_OBJECT_DECRYPT) != 0) {
    return fail(ErrorCode::kNotTrusted, "the object at ", handle_hex(kAttestationKeyHandle),
                " is not a restricted TPM-resident signing key");
  }
  auto p = ecc_public_pem(pub->publicArea);
  if (!p) return std::unexpected(p.error());
  if (pem != nullptr) *pem = *p;
  return h.release();
}

}  // namespace

Result<std::string> ensure_attestation_key(Tpm& tpm) {
  std::string pem;
  if (auto existing = load_attestation_key(tpm, &pem)) {
    Esys_TR_Close(tpm.esys(), &*existing);
    return pem;
  } else if (existing.error().code != ErrorCode::kNotFound) {
    return std::unexpected(existing.error());
  }
  const TPM2B_SENSITIVE_CREATE sensitive{};
  const TPM2B_PUBLIC templ = attestation_key_template();
  const TPM2B_DATA outside{};
  const TPML_PCR_SELECTION creation_pcr{};
  ESYS_TR transient = ESYS_TR_NONE;
  TPM2B_PUBLIC* out_pub = nullptr;
  TPM2B_CREATION_DATA* creation = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* ticket = nullptr;
  TSS2_RC rc = Esys_CreatePrimary(
      tpm.esys(), ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
      &templ, &outside, &creation_pcr, &transient, &out_pub, &creation, &creation_hash, &ticket);
  EsysPtr<TPM2B_PUBLIC> p(out_pub);
  EsysPtr<TPM2B_CREATION_DATA> c(creation);
  EsysPtr<TPM2B_DIGEST> ch(creation_hash);
  EsysPtr<TPMT_TK_CREATION> t(ticket);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("CreatePrimary (attestation key)", rc);
  ESYS_TR persistent = ESYS_TR_NONE;
  rc = Esys_EvictControl(tpm.esys(), ESYS_TR_RH_OWNER, transient, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE, kAttestationKeyHandle, &persistent);
  Esys_FlushContext(tpm.esys(), transient);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("EvictControl (attestation key)", rc);
  Esys_TR_Close(tpm.esys(), &persistent);
  return ecc_public_pem(p->publicArea);
}

Result<Quote> quote(Tpm& tpm, ByteView nonce) {
  if (nonce.empty() || nonce.size() > 64) {
    return fail(ErrorCode::kInvalidArgument, "the nonce must be 1 to 64 bytes");
  }
  auto ak = load_attestation_key(tpm, nullptr);
  if (!ak) return std::unexpected(ak.error());
  TrHandle key(tpm.esys(), *ak);
  TPM2B_DATA qualifying{};
  qualifying.size = static_cast<UINT16>(nonce.size());
  std::memcpy(qualifying.buffer, nonce.data(), nonce.size());
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;  // the key's own: ECDSA with SHA-256
  const TPML_PCR_SELECTION sel = measured_boot_selection();
  TPM2B_ATTEST* raw_attest = nullptr;
  TPMT_SIGNATURE* raw_sig = nullptr;
  const TSS2_RC rc = Esys_Quote(tpm.esys(), key.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                &qualifying, &scheme, &sel, &raw_attest, &raw_sig);
  EsysPtr<TPM2B_ATTEST> attest(raw_attest);
  EsysPtr<TPMT_SIGNATURE> sig(raw_sig);
  if (rc != TSS2_RC_SUCCESS) return tss_fail("Quote", rc);
  if (sig->sigAlg != TPM2_ALG_ECDSA) {
    return fail(ErrorCode::kUnsupported, "the TPM did not sign the quote with ECDSA");
  }
  Quote q;
  q.attest.assign(attest->attestationData, attest->attestationData + attest->size);
  const auto& r = sig->signature.ecdsa.signatureR;
  const auto& s = sig->signature.ecdsa.signatureS;
  auto der = crypto::ecdsa_der_signature(ByteView(r.buffer, r.size), ByteView(s.buffer, s.size));
  if (!der) return std::unexpected(der.error());
  q.signature = std::move(*der);
  auto pcr = read_pcr(tpm);
  if (!pcr) return std::unexpected(pcr.error());
  q.pcr_value = *pcr;
  return q;
}

}  // namespace ironseal::tpm
