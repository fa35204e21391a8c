#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mktestnet.py - make the small signed test network in testdata/trust/.

Four directory authorities (testauth1..4) with fresh RSA identity and
signing keys, their key certificates in tor's format (as tor-gencert writes
them: cross-certification by the signing key, certification by the
identity key, both PKCS#1 v1.5 type-1 padding around a bare SHA-1 digest),
and the project's two minimal consensuses (testdata/consensus/valid/)
re-signed by all four: the ns one with SHA-1 signatures, the microdesc one
with "sha256" signatures, over tor's signed portion (network-status-version
through the space after the first "directory-signature").

Written files (the private keys are thrown away):
  authorities          the four v3 identities, one a line
  certs                their certificates, valid 2024-01-01 to 2025-01-01
  certs-expired        testauth1's signing key certified 2023-01-01 to
                       2023-12-31: expired at the consensuses' valid-after
  certs-not-yet-valid  testauth2's signing key certified from 2024-01-02
  certs-bad-crosscert  testauth3's certificate, its cross-certification
                       made by testauth4's signing key
  consensus-ns, consensus-microdesc

Run from the source tree: /usr/bin/python3 tools/mktestnet.py
Needs python3-cryptography.  Keys are random, so every run gives new bytes;
the tests only rely on the structure.
"""
import base64
import hashlib
import os
import re
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(SRC, "testdata", "trust")
BITS = 1024  # small keys keep the files (and fuzz seeds) small


def der(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.PKCS1)


def raw_sign(priv, digest):
    """RSA with PKCS#1 v1.5 type-1 padding around the bare digest."""
    n = priv.public_key().public_numbers().n
    k = (n.bit_length() + 7) // 8
    em = b"\x00\x01" + b"\xff" * (k - 3 - len(digest)) + b"\x00" + digest
    s = pow(int.from_bytes(em, "big"), priv.private_numbers().d, n)
    return s.to_bytes(k, "big")


def obj(name, data):
    b64 = base64.b64encode(data).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (
        name, "\n".join(lines), name)


def fingerprint(pub):
    return hashlib.sha1(der(pub)).hexdigest().upper()


def certificate(idkey, skey, published, expires, n, crosskey=None):
    text = ("dir-key-certificate-version 3\n"
            "dir-address 192.0.2.%d:80\n"
            "fingerprint %s\n"
            "dir-key-published %s\n"
            "dir-key-expires %s\n"
            "dir-identity-key\n%s"
            "dir-signing-key\n%s"
            "dir-key-crosscert\n%s"
            "dir-key-certification\n") % (
                n, fingerprint(idkey.public_key()), published, expires,
                obj("RSA PUBLIC KEY", der(idkey.public_key())),
                obj("RSA PUBLIC KEY", der(skey.public_key())),
                obj("ID SIGNATURE",
                    raw_sign(crosskey or skey,
                             hashlib.sha1(der(idkey.public_key())).digest())))
    sig = raw_sign(idkey, hashlib.sha1(text.encode()).digest())
    return text + obj("SIGNATURE", sig)


def signed_portion(doc):
    start = doc.index(b"network-status-version")
    end = doc.index(b" ", doc.index(b"\ndirectory-signature") + 1) + 1
    return doc[start:end]


def resign(path, auths, alg):
    doc = open(path, "rb").read().decode()
    # Replace the authority section and drop the old signatures.
    head, rest = doc.split("dir-source ", 1)
    rest = rest[rest.index("\nr ") + 1:]
    body = rest[:rest.index("directory-signature ")]
    section = ""
    for a in sorted(auths, key=lambda a: a["fp"]):
        section += ("dir-source %s %s 192.0.2.%d 192.0.2.%d 80 443\n"
                    "contact test operator %d <nobody@example.invalid>\n"
                    "vote-digest %s\n") % (
                        a["nick"], a["fp"], a["n"], a["n"], a["n"],
                        hashlib.sha1(a["nick"].encode()).hexdigest().upper())
    unsigned = head + section + body
    # The signed portion ends inside the first signature line, which is
    # the same for every signature up to "directory-signature ".
    probe = (unsigned + "directory-signature x\n").encode()
    portion = signed_portion(probe)
    digest = (hashlib.sha1 if alg == "sha1" else hashlib.sha256)(
        portion).digest()
    out = unsigned
    for a in sorted(auths, key=lambda a: a["fp"]):
        skd = hashlib.sha1(der(a["skey"].public_key())).hexdigest().upper()
        word = "" if alg == "sha1" else "sha256 "
        out += "directory-signature %s%s %s\n" % (word, a["fp"], skd)
        out += obj("SIGNATURE", raw_sign(a["skey"], digest))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    auths = []
    for n in range(1, 5):
        idkey = rsa.generate_private_key(public_exponent=65537, key_size=BITS)
        skey = rsa.generate_private_key(public_exponent=65537, key_size=BITS)
        auths.append({"n": n, "nick": "testauth%d" % n, "idkey": idkey,
                      "skey": skey, "fp": fingerprint(idkey.public_key())})

    def write(name, text):
        with open(os.path.join(OUT, name), "w", newline="\n") as f:
            f.write(text)

    write("authorities",
          "# the test network of tools/mktestnet.py\n" +
          "".join("%s # %s\n" % (a["fp"], a["nick"]) for a in auths))
    write("certs", "".join(
        certificate(a["idkey"], a["skey"], "2024-01-01 00:00:00",
                    "2025-01-01 00:00:00", a["n"]) for a in auths))
    write("certs-expired",
          certificate(auths[0]["idkey"], auths[0]["skey"],
                      "2023-01-01 00:00:00", "2023-12-31 00:00:00", 1))
    write("certs-not-yet-valid",
          certificate(auths[1]["idkey"], auths[1]["skey"],
                      "2024-01-02 00:00:00", "2025-01-02 00:00:00", 2))
    write("certs-bad-crosscert",
          certificate(auths[2]["idkey"], auths[2]["skey"],
                      "2024-01-01 00:00:00", "2025-01-01 00:00:00", 3,
                      crosskey=auths[3]["skey"]))
    valid = os.path.join(SRC, "testdata", "consensus", "valid")
    write("consensus-ns", resign(os.path.join(valid, "minimal-ns"), auths,
                                 "sha1"))
    write("consensus-microdesc",
          resign(os.path.join(valid, "minimal-microdesc"), auths, "sha256"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
