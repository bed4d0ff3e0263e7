#!/usr/bin/env bash
# Certificates for the TLS cases of tests/ship, made fresh by each case:
#   certs.sh DIR
# DIR/ca.pem (a private CA), DIR/server.pem + server.key (localhost and
# 127.0.0.1, signed by it), DIR/client.pem + client.key (a client
# certificate, for relp+tls), and DIR/other-ca.pem, a CA that signed
# nothing here (the receiver must be refused under it).  Keys are readable
# by all: rsyslog reads them as an unprivileged user, and the folder is a
# private temporary one.
set -euo pipefail
dir=${1:?usage: certs.sh DIR}
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj "/CN=dss-audit test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
key other-ca.key
openssl req -x509 -new -key other-ca.key -out other-ca.pem -days 2 -subj "/CN=another CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
for who in server client; do
  key "$who.key"
  openssl req -new -key "$who.key" -out "$who.csr" -subj "/CN=$([[ $who == server ]] && echo localhost || echo dss-shipper)"
  printf '%s\n' "subjectAltName=$([[ $who == server ]] && echo DNS:localhost,IP:127.0.0.1 || echo DNS:dss-shipper)" \
    basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
    "extendedKeyUsage=$([[ $who == server ]] && echo serverAuth || echo clientAuth)" > "$who.ext"
  openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$who.pem" \
    -days 2 -extfile "$who.ext" 2>/dev/null
done
chmod 0644 ./*.key ./*.pem
