"""An independent check of a Dossier log and its proofs, for `make interop`.

Standard library Python plus the `openssl` command only, written from
SPEC.md ("Log leaf", "Checkpoints and proofs") and C2SP tlog-tiles,
tlog-checkpoint, signed-note and tlog-proof, never from our Go code:

  1. verify the checkpoint's Ed25519 note signature with openssl;
  2. read every entry bundle, recompute the RFC 6962 root and compare;
  3. verify every tlog-proof in the proofs directory against its bundle.

Usage: interop_log.py LOGDIR VKEYFILE PROOFDIR BUNDLE...
"""
import base64
import hashlib
import os
import subprocess
import sys
import tempfile

ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def fail(msg):
    print(f"interop-log: FAIL {msg}")
    sys.exit(1)


def parse_vkey(text):
    name, keyhash, key = text.strip().split("+", 2)
    raw = base64.b64decode(key)
    if raw[0] != 1 or len(raw) != 33:
        fail("verifier key is not an Ed25519 note key")
    want = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if want.hex() != keyhash:
        fail("verifier key hash does not match its name and key")
    return name, bytes.fromhex(keyhash), raw[1:]


def openssl_ed25519_verify(pub, msg, sig):
    with tempfile.TemporaryDirectory() as d:
        pem = os.path.join(d, "k.pem")
        der = ED25519_SPKI_PREFIX + pub
        with open(pem, "w") as f:
            f.write("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n")
        for n, data in (("m", msg), ("s", sig)):
            with open(os.path.join(d, n), "wb") as f:
                f.write(data)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin",
                            "-in", os.path.join(d, "m"), "-sigfile", os.path.join(d, "s")],
                           capture_output=True)
        return r.returncode == 0


def open_note(note, vkey):
    """Returns (origin, size, root) of a checkpoint signed by vkey."""
    name, keyhash, pub = vkey
    body, sep, sigs = note.partition(b"\n\n")
    if not sep:
        fail("checkpoint has no signature block")
    body += b"\n"
    for line in sigs.decode().splitlines():
        if not line.startswith("\u2014 "):
            continue
        sname, b64 = line[2:].split(" ")
        raw = base64.b64decode(b64)
        if sname == name and raw[:4] == keyhash:
            if not openssl_ed25519_verify(pub, body, raw[4:]):
                fail("checkpoint signature does not verify (openssl)")
            lines = body.decode().split("\n")
            if lines[0] != name:
                fail(f"checkpoint origin {lines[0]!r}, want {name!r}")
            return lines[0], int(lines[1]), base64.b64decode(lines[2])
    fail("checkpoint is not signed by the log key")


def tile_path(n):
    parts = []
    while True:
        parts.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    parts.reverse()
    return "/".join(["x" + p for p in parts[:-1]] + [parts[-1]])


def read_leaves(logdir, size):
    leaves = []
    full, rem = divmod(size, 256)
    for i in range(full + (1 if rem else 0)):
        p = os.path.join(logdir, "tile", "entries", tile_path(i))
        if i == full:
            p += f".p/{rem}"
        with open(p, "rb") as f:
            data = f.read()
        off = 0
        while off < len(data):
            n = int.from_bytes(data[off:off + 2], "big")
            leaves.append(data[off + 2:off + 2 + n])
            off += 2 + n
    if len(leaves) != size:
        fail(f"entry bundles hold {len(leaves)} leaves, checkpoint says {size}")
    return leaves


def leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(hashes):
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node(mth(hashes[:k]), mth(hashes[k:]))


def verify_inclusion(index, size, h, path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, h
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def check_proof(proof, bundle, vkey):
    head, sep, note = proof.partition(b"\n\n")
    lines = head.decode().split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        fail("not a c2sp.org/tlog-proof@v1")
    leaf, index, path = None, None, []
    for line in lines[1:]:
        if line.startswith("extra "):
            leaf = base64.b64decode(line[6:])
        elif line.startswith("index "):
            index = int(line[6:])
        else:
            path.append(base64.b64decode(line))
    want = "bundle sha256:" + hashlib.sha256(bundle).hexdigest()
    if want not in leaf.decode().split("\n"):
        fail("proof's leaf names another bundle")
    _, size, root = open_note(note, vkey)
    if not verify_inclusion(index, size, leaf_hash(leaf), path, root):
        fail(f"inclusion proof for index {index} does not reach the root")
    return index


def main():
    logdir, vkeyfile, proofdir = sys.argv[1:4]
    vkey = parse_vkey(open(vkeyfile).read())
    with open(os.path.join(logdir, "checkpoint"), "rb") as f:
        origin, size, root = open_note(f.read(), vkey)
    print(f"interop-log: checkpoint of {origin} (size {size}) verified by openssl with {vkeyfile}")
    leaves = read_leaves(logdir, size)
    if mth([leaf_hash(l) for l in leaves]) != root:
        fail("root recomputed from the entry bundles differs from the checkpoint")
    print(f"interop-log: RFC 6962 root recomputed from {size} entries matches the checkpoint")
    for b in sys.argv[4:]:
        name = os.path.splitext(os.path.basename(b))[0]
        with open(b, "rb") as f:
            bundle = f.read()
        with open(os.path.join(proofdir, name + ".proof"), "rb") as f:
            idx = check_proof(f.read(), bundle, vkey)
        print(f"interop-log: proof of {name} (leaf {idx}) verified")


main()
