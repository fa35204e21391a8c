#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""sigcount.py - count a consensus's good signatures independently of
exitstage, for tests/cli/consensus_signatures.sh to compare against.

  sigcount.py [--stem] CERTS CONSENSUS AUTHORITIES

Prints "GOOD CHECKED": the trusted authorities (AUTHORITIES: one
fingerprint a line) with a signature that verifies, and the number of
directory-signature blocks.

Default: python3-cryptography alone, written from dir-spec rather than
from exitstage's code: the signed portion is network-status-version
through the space after the first "directory-signature", SHA-1 without an
algorithm keyword and SHA-256 with "sha256"; the certificate is the one
whose fingerprint and signing-key SHA-1 the signature line names, valid at
the consensus's valid-after; the RSA public operation must give PKCS#1
type-1 padding around the digest (recover_data_from_signature with no
hash algorithm).  Certificates are taken as given (exitstage checks their
own signatures; its unit tests cover that).

--stem: stem 1.8 instead (ns documents only; stem hashes every signature
with SHA-1): its parser for both documents, and its own digest and
signature decoding, as validate_signatures uses them.
"""
import base64
import hashlib
import re
import sys
from datetime import datetime, timezone


def read(path):
    data = open(path, "rb").read()
    if data[:4] == b"\x28\xb5\x2f\xfd":
        import subprocess
        data = subprocess.run(["zstd", "-dc", path], check=True,
                              capture_output=True).stdout
    return data


def authorities(path):
    ids = set()
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line:
            ids.add(line.upper())
    return ids


def when(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=timezone.utc)


def obj_after(text, keyword):
    m = re.search(r"^" + keyword + r"\n-----BEGIN ([A-Z ]+)-----\n(.*?)"
                  r"-----END \1-----\n", text, re.S | re.M)
    return m.group(1), base64.b64decode(m.group(2))


def count_plain(certs_path, doc_path, auths):
    from cryptography.hazmat.primitives.asymmetric import padding

    certs = []
    text = read(certs_path).decode().replace("\r", "")
    for part in text.split("dir-key-certificate-version 3\n")[1:]:
        fp = re.search(r"^fingerprint ([0-9A-F]{40})$", part, re.M).group(1)
        pub = when(re.search(r"^dir-key-published (.*)$", part, re.M)
                   .group(1))
        exp = when(re.search(r"^dir-key-expires (.*)$", part, re.M).group(1))
        _, der = obj_after(part, "dir-signing-key")
        key = _pkcs1(der)
        certs.append((fp, hashlib.sha1(der).hexdigest().upper(), pub, exp,
                      key))

    doc = read(doc_path)
    start = doc.index(b"network-status-version")
    end = doc.index(b" ", doc.index(b"\ndirectory-signature") + 1) + 1
    portion = doc[start:end]
    va = when(re.search(rb"^valid-after (.*)$", doc, re.M).group(1).decode())
    good, checked = set(), 0
    for m in re.finditer(rb"^directory-signature ([^\n]*)\n"
                         rb"-----BEGIN SIGNATURE-----\n(.*?)"
                         rb"-----END SIGNATURE-----\n", doc, re.M | re.S):
        checked += 1
        words = m.group(1).decode().split()
        alg = words[0] if len(words) == 3 else "sha1"
        ident, skd = words[-2].upper(), words[-1].upper()
        if alg not in ("sha1", "sha256") or ident not in auths:
            continue
        digest = (hashlib.sha1 if alg == "sha1" else hashlib.sha256)(
            portion).digest()
        sig = base64.b64decode(m.group(2))
        for fp, sk, pub, exp, key in certs:
            if fp != ident or sk != skd or not pub <= va <= exp:
                continue
            try:
                rec = key.recover_data_from_signature(sig, padding.PKCS1v15(),
                                                      None)
            except Exception:
                continue
            if rec[:len(digest)] == digest:
                good.add(ident)
    return len(good), checked


def _pkcs1(der):
    """An RSA public key from PKCS#1 DER, via PEM (which cryptography
    reads in that form)."""
    from cryptography.hazmat.primitives import serialization
    pem = (b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) +
           b"-----END RSA PUBLIC KEY-----\n")
    return serialization.load_pem_public_key(pem)


def count_stem(certs_path, doc_path, auths):
    import hashlib as h
    from stem.descriptor.networkstatus import (KeyCertificate,
                                               NetworkStatusDocumentV3)

    text = read(certs_path).decode().replace("\r", "")
    certs = [KeyCertificate(("dir-key-certificate-version 3\n" + p).encode(),
                            validate=True)
             for p in text.split("dir-key-certificate-version 3\n")[1:]]
    try:
        doc = NetworkStatusDocumentV3(read(doc_path), validate=True)
    except ValueError:  # stem refuses some test networks' empty lines
        doc = NetworkStatusDocumentV3(read(doc_path), validate=False)
    local = h.sha1(doc._content_range("network-status-version",
                                      "directory-signature ")).hexdigest()
    keys = {c.fingerprint: c.signing_key for c in certs}
    good = set()
    for sig in doc.signatures:
        if sig.identity not in keys or sig.identity not in auths:
            continue
        if doc._digest_for_signature(keys[sig.identity],
                                     sig.signature) == local.upper():
            good.add(sig.identity)
    # stem's own verdict must agree with the count (it wants at least half
    # of the document's signatures to verify).
    try:
        doc.validate_signatures(certs)
        stem_ok = True
    except ValueError:
        stem_ok = False
    if stem_ok != (len(good) >= len(doc.signatures) / 2.0):
        sys.exit("stem's verdict disagrees with its own count")
    return len(good), len(doc.signatures)


def main(argv):
    stem_mode = argv[1:2] == ["--stem"]
    args = argv[2:] if stem_mode else argv[1:]
    if len(args) != 3:
        sys.exit(__doc__)
    auths = authorities(args[2])
    count = count_stem if stem_mode else count_plain
    good, checked = count(args[0], args[1], auths)
    print(good, checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
