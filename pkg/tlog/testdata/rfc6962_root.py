#!/usr/bin/env python3
"""Independent check of a Dossier log directory (C2SP tlog-tiles layout).

Recomputes the RFC 6962 Merkle root from the entry bundles alone (Python
standard library only: no Tessera, no transparency-dev/merkle), checks that
every level-0 tile hash equals the hash of its leaf, and compares the root
with the checkpoint. The checkpoint signature is not checked here; use
`dossier log checkpoint --vkey` or any signed-note verifier for that.

usage: rfc6962_root.py LOGDIR        exit 0 match, 1 mismatch, 2 usage
"""
import base64
import hashlib
import os
import sys


def tile_path(n):
    s = "%03d" % (n % 1000)
    n //= 1000
    while n > 0:
        s = "x%03d/%s" % (n % 1000, s)
        n //= 1000
    return s


def read_resource(base, n, width):
    p = os.path.join(base, tile_path(n))
    if width < 256 and os.path.exists(p + ".p/%d" % width):
        p = p + ".p/%d" % width
    with open(p, "rb") as f:
        return f.read()


def mth(hashes):
    if len(hashes) == 0:
        return hashlib.sha256(b"").digest()
    while len(hashes) > 1:  # RFC 6962 MTH, bottom-up: an odd last node moves up unchanged
        nxt = [hashlib.sha256(b"\x01" + hashes[i] + hashes[i + 1]).digest()
               for i in range(0, len(hashes) - 1, 2)]
        if len(hashes) % 2:
            nxt.append(hashes[-1])
        hashes = nxt
    return hashes[0]


def main(d):
    body = open(os.path.join(d, "checkpoint"), "rb").read().split(b"\n\n")[0].decode()
    origin, size, root = body.split("\n")[:3]
    size = int(size)
    leaves = []
    for b in range(0, (size + 255) // 256):
        width = min(256, size - b * 256)
        raw = read_resource(os.path.join(d, "tile", "entries"), b, width)
        got = []
        while raw and len(got) < width:
            n = int.from_bytes(raw[:2], "big")
            got.append(hashlib.sha256(b"\x00" + raw[2:2 + n]).digest())
            raw = raw[2 + n:]
        tile = read_resource(os.path.join(d, "tile", "0"), b, width)
        for i, h in enumerate(got):
            if tile[32 * i:32 * i + 32] != h:
                print("tile 0/%d hash %d differs from its leaf" % (b, i))
                return 1
        leaves += got
    if len(leaves) != size:
        print("found %d leaves, checkpoint says %d" % (len(leaves), size))
        return 1
    got = base64.b64encode(mth(leaves)).decode()
    print("origin %s size %d\ncheckpoint root %s\nrecomputed root %s" % (origin, size, root, got))
    return 0 if got == root else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
