#!/usr/bin/env bash
# Generate the certificates and keys the C tests (CTests/*.c) and the demo load.
# usage: gen-certs.sh DIR
#
# Files written to DIR (all PEM unless noted, subjects CN=localhost unless noted):
#   rsa2048.crt / rsa2048.key          self-signed, RSA 2048
#   ecdsa-p256.crt / ecdsa-p256.key    self-signed, ECDSA P-256
#   ed25519.crt / ed25519.key          self-signed, Ed25519
#   ca.crt / ca.key                    a CA (CN=swiftquic test CA), ECDSA P-256
#   server.crt / server.key            signed by ca, SAN DNS:localhost, IP:127.0.0.1, ECDSA P-256
#   encrypted-key.crt / encrypted-key.pem
#                                      self-signed ECDSA P-256; the key is an encrypted
#                                      PKCS#8 PEM (AES-256-CBC), password "swiftquic"
#   cert.p12                           PKCS#12 (DER) of server.crt+key+ca.crt, password "swiftquic"
#   cert-nopass.p12                    the same with an empty password, no encryption
#   other.key                          an ECDSA P-256 key matching no certificate
# Every certificate is valid from now for 30 days.
set -euo pipefail
export LC_ALL=C

dir="${1:?usage: gen-certs.sh DIR}"
mkdir -p "$dir"
cd "$dir"

pw=swiftquic
days=30
ossl() { openssl "$@" 2>/dev/null || { echo "gen-certs.sh: openssl $* failed" >&2; openssl "$@"; exit 1; }; }

self_signed() { # name keyalg-args...
  local name=$1; shift
  ossl req -x509 -new -nodes -newkey "$@" -keyout "$name.key" -out "$name.crt" \
    -days "$days" -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth,clientAuth"
}

self_signed rsa2048 rsa:2048
self_signed ecdsa-p256 ec -pkeyopt ec_paramgen_curve:P-256
self_signed ed25519 ed25519

# CA and a server certificate it signs.
ossl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout ca.key -out ca.crt -days "$days" -subj "/CN=swiftquic test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
ossl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout server.key -out server.csr -subj "/CN=localhost"
cat > server.ext <<EXT
subjectAltName=DNS:localhost,IP:127.0.0.1
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
EXT
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -out server.crt -days "$days" -extfile server.ext
rm -f server.csr server.ext ca.srl

# Encrypted private key (PKCS#8, AES-256-CBC) and its certificate.
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out encrypted-key.plain
ossl pkcs8 -topk8 -v2 aes-256-cbc -in encrypted-key.plain -out encrypted-key.pem \
  -passout "pass:$pw"
ossl req -x509 -new -key encrypted-key.plain -out encrypted-key.crt -days "$days" \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
rm -f encrypted-key.plain

# PKCS#12, with and without a password.
ossl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt \
  -name swiftquic -out cert.p12 -passout "pass:$pw"
ossl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt \
  -name swiftquic -out cert-nopass.p12 -passout pass: -keypbe NONE -certpbe NONE -nomaciter

# A key that matches no certificate.
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key

chmod 600 ./*.key encrypted-key.pem ./*.p12
echo "gen-certs.sh: wrote the test certificates and keys to $(pwd)"
