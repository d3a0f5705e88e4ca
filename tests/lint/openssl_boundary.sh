#!/usr/bin/env bash
# OpenSSL stays behind src/crypto (docs/decisions.md, "OpenSSL only behind src/crypto"): in the
# product code (src/, apps/) only the files below may include <openssl/...>, crypto/ossl.h (the
# one RAII family) or pki/ossl_x509.h. Everything else goes through src/crypto's public headers
# (hash.h, key.h, verifier.h, random.h, base64.h, pkcs7.h). Exit 0 when the tree keeps to it,
# 1 with the offending lines when it does not, 2 on usage.
#
#   src/crypto/*                        the crypto layer itself
#   src/pki/{ossl_x509.h,ca,ca_revocation,certificate,certificate_internal.h,
#            certificate_request,verify,profile,device_issuer}
#                                       the X.509 code of src/pki (certificates, CSRs, CRLs,
#                                       chain checks, certificate profiles)
#   src/device/identity.h               the device key handed to TLS (an EVP_PKEY)
#   src/net/tls_client.*, src/fleet/tls.*
#                                       the TLS set-up (device client, fleet server)
#   src/tpm/device_key.*, src/tpm/bridge_key.cc
#                                       the tpm2 provider glue: a library context with the tpm2
#                                       provider, TSS2 key blobs through OSSL_ENCODER/DECODER, and
#                                       an EC_KEY_METHOD that lets the default context sign with a
#                                       TPM key; its EVP_PKEYs go to pki and TLS, nowhere else
set -euo pipefail
root=${1:-}
if [[ -z "$root" || ! -d "$root/src" ]]; then
  echo "usage: openssl_boundary.sh <source root>" >&2
  exit 2
fi
cd "$root"

allowed='^src/crypto/[^/]+$'
allowed+='|^src/pki/(ossl_x509\.h|ca\.cc|ca_revocation\.cc|certificate\.(h|cc)|certificate_internal\.h|certificate_request\.cc|verify\.cc|profile\.(h|cc)|device_issuer\.cc)$'
allowed+='|^src/device/identity\.h$'
allowed+='|^src/net/tls_client\.(h|cc)$|^src/fleet/tls\.(h|cc)$'
allowed+='|^src/tpm/(device_key\.(h|cc)|bridge_key\.cc)$'

include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](openssl/|crypto/ossl\.h|pki/ossl_x509\.h)'
status=0
while IFS= read -r file; do
  [[ "$file" =~ $allowed ]] && continue
  grep -nE "$include_re" "$file" | sed "s|^|$file:|"
  status=1
done < <(grep -rlE --include='*.h' --include='*.cc' --include='*.hpp' --include='*.cpp' \
           "$include_re" src apps 2>/dev/null | sort)

if [[ $status -ne 0 ]]; then
  echo "openssl_boundary: the files above reach OpenSSL outside src/crypto, the X.509 code of" \
       "src/pki, the TLS set-up and the tpm2 provider glue; use src/crypto's headers" >&2
fi
exit $status
