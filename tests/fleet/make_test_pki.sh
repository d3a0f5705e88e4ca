#!/usr/bin/env bash
# Test PKI for the fleet server tests (TEST KEYS ONLY, generated fresh in a scratch directory):
#   test-root  -> test-device-ca -> device certificates (URI SAN urn:ironseal:device:HW:SERIAL and
#                                   subject serialNumber), one of them revoked in device-ca.crl
#              -> test-server-ca -> server certificate for 127.0.0.1 / localhost
#              -> test-factory-ca -> factory certificate of the first serial (EST enrolment only)
#   test-foreign-ca (unrelated)  -> a device certificate claiming an existing serial
#   expired-SN-1: the device CA's certificate for the first serial, expired
# Usage: make_test_pki.sh DIR HARDWARE_ID SERIAL...  (SN-REVOKED is always issued, then revoked)
set -euo pipefail
dir=$1; hw=$2; shift 2
mkdir -p "$dir"; cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca_ext() {
  cat <<EOT
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOT
}
self_ca() { # name cn
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -out "$1.pem" \
    -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n'; ca_ext) -extensions v3_ca 2>/dev/null
}
sub_ca() { # name cn issuer
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 3650 \
    -out "$1.pem" -extfile <(ca_ext) -extensions v3_ca 2>/dev/null
}
device() { # file serial issuer [days]
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=ironseal device $2/serialNumber=$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days "${4:-365}" \
    -out "$1.pem" -extfile <(cat <<EOT
[v3_dev]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:urn:ironseal:device:$hw:$2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOT
) -extensions v3_dev 2>/dev/null
  cat "$1.pem" "$3.pem" >"$1.chain.pem"
}

self_ca test-root "ironseal TEST root"
sub_ca test-device-ca "ironseal TEST device CA" test-root
sub_ca test-server-ca "ironseal TEST server CA" test-root
self_ca test-foreign-ca "someone else's CA"
sub_ca test-factory-ca "ironseal TEST factory CA" test-root

key server.key
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA test-server-ca.pem -CAkey test-server-ca.key -CAcreateserial \
  -days 365 -out server-leaf.pem -extfile <(cat <<EOT
[v3_srv]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOT
) -extensions v3_srv 2>/dev/null
cat server-leaf.pem test-server-ca.pem >server.pem
cp test-root.pem trust-root.pem  # what clients trust for the server

for serial in "$@" SN-REVOKED; do device "dev-$serial" "$serial" test-device-ca; done
device foreign-SN-1 "${1:-SN-1}" test-foreign-ca
# Expired yesterday (valid CA, not revoked).
device expired-SN-1 "${1:-SN-1}" test-device-ca -1
# A factory (bootstrap) certificate: good for EST simpleenroll only.
device factory-SN-1 "${1:-SN-1}" test-factory-ca
# A server-CA certificate presented as a device certificate: same root, wrong CA.
device wrongca-SN-1 "${1:-SN-1}" test-server-ca

# The device CA's CRL, revoking SN-REVOKED.
mkdir -p ca-db; : >ca-db/index.txt; echo 1000 >ca-db/crlnumber
cat >ca.cnf <<EOT
[ca]
default_ca = dev
[dev]
database = ca-db/index.txt
crlnumber = ca-db/crlnumber
default_md = sha256
default_crl_days = 30
EOT
gencrl() {
  openssl ca -config ca.cnf -gencrl -keyfile test-device-ca.key -cert test-device-ca.pem \
    -out device-ca.crl.tmp 2>/dev/null
  mv device-ca.crl.tmp device-ca.crl
}
gencrl
cp device-ca.crl device-ca-empty.crl
openssl ca -config ca.cnf -revoke dev-SN-REVOKED.pem -keyfile test-device-ca.key \
  -cert test-device-ca.pem 2>/dev/null
gencrl
# The factory CA's (empty) CRL: with CRL checking on, every accepted CA needs its CRL.
mkdir -p factory-db; : >factory-db/index.txt; echo 1000 >factory-db/crlnumber
sed 's/ca-db/factory-db/g' ca.cnf >factory-ca.cnf
openssl ca -config factory-ca.cnf -gencrl -keyfile test-factory-ca.key -cert test-factory-ca.pem \
  -out factory-ca.crl 2>/dev/null
chmod 600 ./*.key
