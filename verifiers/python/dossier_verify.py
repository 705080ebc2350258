#!/usr/bin/env python3
"""dossier_verify.py - an independent verifier of Dossier compliance packages.

Written from the specification only (SPEC.md v0.3.0, spec/predicates/,
spec/verify-result.schema.json), never from the Go verifier. Python 3.8+,
standard library only, plus the `openssl` command for ECDSA P-256 and Ed25519.

    dossier_verify.py --json --root-fingerprint SHA256:<hex> [--policy FILE]
                      [--trusted-head FILE] [--at RFC3339] PACKAGE.tar

Prints one result document (SPEC.md sections 6 and 7) and exits 0 verified,
1 rejected, 2 usage, 3 inconclusive. Whatever this program cannot check is
reported `not-checked` and makes the outcome inconclusive, never verified.

The predicate JSON Schemas are read from spec/predicates (next to this file in
the source tree, or the directory named by DOSSIER_SPEC_DIR).

Reading guide: section "steps" holds one function per step of SPEC.md
section 5 (step_1_tar ... step_12_consistency) and run_steps() runs them with
the dependencies of section 5 "Reporting"; the sections before it are the
primitives they use (strict JSON, tar, signatures, Merkle proofs, notes,
predicates, one record, keyring, run roots). "SPEC.md 3.8" means section 3.8.
"""

import base64
import binascii
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dossier_policy  # noqa: E402  (policy v1/v2 and step 11 rules, spec/policy.md)
import dossier_anchors  # noqa: E402  (anchors.json: RFC 3161 tokens, witnesses, forks; spec/anchors.md)

MIB = 1 << 20
RESULT_MEDIA_TYPE = "application/vnd.dossier.verify-result.v1+json"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_PREFIX = "https://dossier.dev/predicates/"
KEYRING_MEDIA_TYPE = "application/vnd.dossier.keyring.v1+json"
KEYRING_LAYER_TYPE = "application/vnd.dossier.keyring.v1+dsse+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
RECORD_ARTIFACT = "application/vnd.dossier.record.v1"
RUN_ARTIFACT = "application/vnd.dossier.run.v1"
PACKAGE_ARTIFACT = "application/vnd.dossier.package.v1"
METADATA_ARTIFACT = "application/vnd.dossier.package-metadata.v1"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
REF_NAME = "org.opencontainers.image.ref.name"
TITLE = "org.opencontainers.image.title"
ANCHORS_LAYER = "application/vnd.dossier.anchors.v1+json"

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}\Z")
PIN_RE = re.compile(r"SHA256:[0-9a-f]{64}\Z")
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z\Z")

# Record kinds (SPEC.md 3.4, spec/predicates/README.md).
RUN_KINDS = {"dataset", "training-run", "evaluation-plan", "evaluation", "model-release",
             "approval", "run-closed", "correction", "attachment"}
LOG_KINDS = {"time-evidence", "export", "export-sealed", "package", "deployment",
             "receipt", "transfer"}
# SPEC.md 2: the key roles allowed per record kind.
ROLE_FOR_KIND = {"time-evidence": {"time"}, "export": {"exporter"},
                 "export-sealed": {"exporter"}, "package": {"exporter"},
                 "approval": {"reviewer"},
                 "evaluation-plan": {"producer", "ingest", "reviewer"}}  # validators hold reviewer (SPEC.md 2)
DEFAULT_RUN_ROLES = {"producer", "ingest"}


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def digest_of(data):
    return "sha256:" + sha256_hex(data)


def b64decode_strict(text, what="base64"):
    """Standard padded base64 (SPEC.md conventions); anything else is an error."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4:
        raise Invalid("%s is not standard padded base64" % what)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("%s is not standard padded base64" % what)


def b64decode_dsse(text, what):
    """DSSE fields: standard or URL-safe alphabet, padding optional (SPEC.md 1)."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", text) \
            or ("+" in text or "/" in text) and ("-" in text or "_" in text):
        raise Invalid("%s is not base64" % what)
    text = text.rstrip("=")
    if len(text) % 4 == 1:
        raise Invalid("%s is not base64" % what)
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("%s is not base64" % what)


class Invalid(Exception):
    """A check failed; the message says what was found."""


class CannotCheck(Exception):
    """Something this verifier cannot check (the outcome becomes inconclusive)."""


# ---------------------------------------------------------------- strict JSON
# SPEC.md 1 "Strict JSON": valid UTF-8, no duplicate member, no trailing data,
# size limits before parsing; spec/predicates/README.md "Parsing": no unpaired
# surrogate escapes, depth at most 64.

def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise Invalid("duplicate member %r" % key)
        obj[key] = value
    return obj


def _reject_constant(name):
    raise Invalid("not JSON: %s" % name)


def _check_tree(value, depth, max_depth=64):
    if depth > max_depth:
        raise Invalid("JSON nested deeper than %d" % max_depth)
    if isinstance(value, str):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise Invalid("unpaired UTF-16 surrogate in a string")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_tree(key, depth, max_depth)
            _check_tree(item, depth + 1, max_depth)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1, max_depth)


def strict_json(data, limit, what, max_depth=64):
    """Parse bytes as strict JSON (duplicates, UTF-8, BOM, depth, size)."""
    if len(data) > limit:
        raise Invalid("%s larger than %d bytes" % (what, limit))
    try:
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            raise Invalid("%s starts with a byte-order mark" % what)
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except Invalid as err:
        raise Invalid("%s: %s" % (what, err))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise Invalid("%s is not strict JSON: %s" % (what, err))
    try:
        _check_tree(value, 1, max_depth)
    except Invalid as err:
        raise Invalid("%s: %s" % (what, err))
    return value


def members(obj, required, optional=(), what="object"):
    """Exactly the named members (case-sensitive), all required ones present."""
    if not isinstance(obj, dict):
        raise Invalid("%s is not an object" % what)
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        raise Invalid("%s has unknown member(s) %s" % (what, ", ".join(unknown)))
    missing = [m for m in required if m not in obj]
    if missing:
        raise Invalid("%s lacks member(s) %s" % (what, ", ".join(missing)))
    return obj


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def top_level_spans(text):
    """Byte-exact text of each top-level member value of a JSON object.

    Needed for the time-evidence subject, the SHA-256 of the predicate "exactly
    as it appears in the statement" (spec/predicates/time-evidence.md)."""
    decoder = json.JSONDecoder()
    spans, pos = {}, text.index("{") + 1
    ws = re.compile(r"[ \t\n\r]*")
    while True:
        pos = ws.match(text, pos).end()
        if text[pos] == "}":
            return spans
        key, pos = decoder.raw_decode(text, pos)
        pos = ws.match(text, pos).end() + 1  # the colon
        pos = ws.match(text, pos).end()
        start = pos
        _, pos = decoder.raw_decode(text, pos)
        spans[key] = text[start:pos]
        pos = ws.match(text, pos).end()
        if text[pos] == ",":
            pos += 1


def compact(text):
    """JSON text with insignificant white space removed (strings kept as they are)."""
    out, in_string, escaped = [], False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in " \t\n\r":
            continue
        out.append(ch)
    return "".join(out)


# ---------------------------------------------------------------- tar
# SPEC.md 3.13 "Tar": canonical USTAR, read in place, never extracted.

ALLOWED_NAME = re.compile(r"(README\.txt|REPORT\.html|index\.json|oci-layout|blobs/sha256/[0-9a-f]{64})\Z")


def _octal(field, what):
    text = field.rstrip(b"\0 ").lstrip(b" ")
    if not re.fullmatch(rb"[0-7]*", text):
        raise Invalid("%s is not an octal number" % what)
    return int(text or b"0", 8)


def _cstring(field):
    return field.split(b"\0", 1)[0]


def read_tar(data):
    """Return ([(name, bytes)], [problems]); never touches the file system."""
    entries, problems, pos = [], [], 0
    if len(data) % 512:
        problems.append("file size %d is not a multiple of 512" % len(data))
    while True:
        header = data[pos:pos + 512]
        if len(header) < 512:
            problems.append("archive ends without the two end-of-archive zero blocks")
            return entries, problems
        if header == b"\0" * 512:
            break
        try:
            name, size, header_problems = _parse_header(header)
        except Invalid as err:
            problems.append("header at offset %d: %s" % (pos, err))
            return entries, problems
        problems.extend("%s: %s" % (name, p) for p in header_problems)
        body = data[pos + 512:pos + 512 + size]
        if len(body) < size:
            problems.append("%s: truncated content" % name)
            return entries, problems
        padding = data[pos + 512 + size:pos + 512 + (size + 511) // 512 * 512]
        if padding.strip(b"\0"):
            problems.append("%s: data padding is not zero" % name)
        if not header_problems and header != go_ustar_header(name, size):
            problems.append("%s: header is not the canonical USTAR header for its name and size" % name)
        entries.append((name, body))
        pos += 512 + (size + 511) // 512 * 512
    rest = data[pos:]
    if rest != b"\0" * 1024:
        if len(rest) < 1024:
            problems.append("archive ends without the two end-of-archive zero blocks")
        elif rest.strip(b"\0"):
            problems.append("data after the end-of-archive blocks")
        else:
            problems.append("%d zero blocks at the end instead of exactly two" % (len(rest) // 512))
    return entries, problems


def go_ustar_header(name, size):
    """The header Go's archive/tar writes in FormatUSTAR for a 0444 regular file
    owned by 0:0 with mtime 0 (SPEC.md 3.13: headers are compared byte for byte)."""
    def octal(value, width):
        return b"%0*o\0" % (width - 1, value)
    raw = name.encode("utf-8")
    h = bytearray(512)
    h[0:len(raw)] = raw
    h[100:108] = octal(0o444, 8)
    h[108:116] = octal(0, 8)
    h[116:124] = octal(0, 8)
    h[124:136] = octal(size, 12)
    h[136:148] = octal(0, 12)
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:265] = b"ustar\x0000"
    h[329:337] = octal(0, 8)
    h[337:345] = octal(0, 8)
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def _parse_header(h):
    problems = []
    name = _cstring(h[0:100]).decode("utf-8", "replace")
    prefix = _cstring(h[345:500]).decode("utf-8", "replace")
    if prefix:
        name = prefix + "/" + name
    stored = _octal(h[148:156], "checksum")
    if stored != sum(h[:148]) + 256 + sum(h[156:]):
        problems.append("header checksum mismatch")
    if h[257:265] != b"ustar\x0000":
        problems.append("not a USTAR header (magic %r)" % h[257:265])
    if h[156:157] != b"0":
        problems.append("typeflag %r is not a regular file" % h[156:157])
    size = _octal(h[124:136], "size")
    for (lo, hi, want, label) in ((100, 108, 0o444, "mode"), (108, 116, 0, "uid"),
                                  (116, 124, 0, "gid"), (136, 148, 0, "mtime"),
                                  (329, 337, 0, "devmajor"), (337, 345, 0, "devminor")):
        got = _octal(h[lo:hi], label)
        if got != want:
            problems.append("%s is %o, want %o" % (label, got, want))
    for (lo, hi, label) in ((157, 257, "linkname"), (265, 297, "uname"), (297, 329, "gname")):
        if _cstring(h[lo:hi]):
            problems.append("%s is not empty" % label)
    if not ALLOWED_NAME.match(name):
        problems.append("name not allowed by the package format")
    if size > 1 << 30:
        problems.append("entry larger than 1 GiB")
    return name, size, problems


# ---------------------------------------------------------------- keys and signatures
# SPEC.md 3.5: ECDSA P-256 SHA-256 (ASN.1 DER) or Ed25519, via openssl.

ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
P256_SPKI = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


class PublicKey(object):
    def __init__(self, der):
        self.der = der
        if der.startswith(ED25519_SPKI) and len(der) == 44:
            self.algorithm = "ed25519"
        elif der.startswith(P256_SPKI) and len(der) == 91 and der[26] == 4:
            self.algorithm = "ecdsa-p256"
        else:
            raise Invalid("public key is neither Ed25519 nor uncompressed ECDSA P-256 SPKI")
        self.fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
        self.roles, self.revocation, self.note_key = set(), None, None  # set from a keyring entry

    @classmethod
    def from_pem(cls, pem):
        m = re.fullmatch(r"-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=\n]+)-----END PUBLIC KEY-----\n?", pem)
        if not m:
            raise Invalid("publicKey is not one PUBLIC KEY PEM block")
        return cls(b64decode_strict(m.group(1).replace("\n", ""), "PEM body"))

    def material(self):
        """spec/policy.md 2 key material: one key under any id or encoding."""
        if self.algorithm == "ed25519":
            return "ed25519:" + sha256_hex(self.raw_ed25519())
        return "ecdsa-p256:" + sha256_hex(self.der[len(P256_SPKI):])

    def raw_ed25519(self):
        return self.der[len(ED25519_SPKI):]

    def pem(self):
        body = base64.b64encode(self.der).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def check_ecdsa_der(sig):
    """SPEC.md step 3: exactly one DER SEQUENCE of two INTEGERs, nothing after it."""
    def length(pos):
        first = sig[pos]
        if first < 0x80:
            return first, pos + 1
        if first != 0x81 or sig[pos + 1] < 0x80:
            raise Invalid("ECDSA signature length is not minimal DER")
        return sig[pos + 1], pos + 2

    def integer(pos):
        if sig[pos] != 0x02:
            raise Invalid("ECDSA signature component is not an INTEGER")
        n, pos = length(pos + 1)
        value = sig[pos:pos + n]
        if n == 0 or len(value) != n or value[0] & 0x80 or (n > 1 and value[0] == 0 and not value[1] & 0x80):
            raise Invalid("ECDSA signature INTEGER is not minimal positive DER")
        return pos + n
    try:
        if sig[0] != 0x30:
            raise Invalid("ECDSA signature is not a DER SEQUENCE")
        n, pos = length(1)
        end = integer(integer(pos))
        if pos + n != end:
            raise Invalid("ECDSA signature SEQUENCE length does not match its INTEGERs")
        if end != len(sig):
            raise Invalid("ECDSA signature has %d bytes after the DER SEQUENCE" % (len(sig) - end))
    except IndexError:
        raise Invalid("ECDSA signature is truncated DER")


class OpenSSL(object):
    """Signature checks through the openssl command, cached, in a private temp dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dossier-verify-")
        self.cache = {}
        self.count = 0

    def close(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def _write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def verify(self, key, sig, message):
        """True when sig is key's valid signature over message."""
        cache_key = (key.der, sig, hashlib.sha256(message).digest())
        if cache_key not in self.cache:
            self.cache[cache_key] = self._run(key, sig, message)
        return self.cache[cache_key]

    def _run(self, key, sig, message):
        if key.algorithm == "ecdsa-p256":
            check_ecdsa_der(sig)
        elif len(sig) != 64:
            return False
        self.count += 1
        pub = self._write("pub.pem", key.pem().encode())
        sig_path = self._write("sig", sig)
        data = self._write("data", message)
        if key.algorithm == "ecdsa-p256":
            cmd = ["openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig_path, data]
        else:
            cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                   "-in", data, "-sigfile", sig_path]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as err:
            raise CannotCheck("cannot run openssl: %s" % err)
        out = proc.stdout + proc.stderr
        if proc.returncode == 0 and (b"Verified OK" in out or b"Signature Verified Successfully" in out):
            return True
        if b"verification failure" in out.lower():
            return False
        raise CannotCheck("openssl could not check a signature: %s" % out.decode("utf-8", "replace").strip())


def _ts_verify(self, tsr, data, root_pem, untrusted_pem, at):
    """`openssl ts -verify` of a TimeStampResp over data, chained to root_pem
    only (no system store), with certificates checked at Unix time `at`."""
    cmd = ["openssl", "ts", "-verify", "-data", self._write("ts-data", data), "-in", self._write("ts.tsr", tsr),
           "-CAfile", self._write("ts-root.pem", root_pem.encode()), "-attime", str(at)]
    if untrusted_pem:
        cmd += ["-untrusted", self._write("ts-untrusted.pem", untrusted_pem.encode())]
    self.count += 1
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as err:
        raise CannotCheck("cannot run openssl: %s" % err)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    if proc.returncode == 0 and "Verification: OK" in out:
        return
    if "Verification: FAILED" in out:
        reasons = [l.split(":", 5)[-1] for l in out.splitlines() if ":error:" in l]
        raise dossier_anchors.AnchorError("tsa", "openssl ts -verify (certificates at %s) fails: %s" % (
            dossier_anchors.ns_rfc3339(at * dossier_anchors.NS), "; ".join(reasons) or "verification failed"))
    raise CannotCheck("openssl could not check an RFC 3161 token: %s" % out.strip()[-300:])


OpenSSL.ts_verify = _ts_verify


def pae(payload_type, body):
    """SPEC.md 3.5: DSSEv1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


# ---------------------------------------------------------------- Merkle tree (RFC 9162)

def leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index, size, lhash, path):
    """RFC 9162 section 2.1.3.2; raises Invalid when the path cannot fit."""
    if index >= size:
        raise Invalid("leaf index %d is not below tree size %d" % (index, size))
    fn, sn, r = index, size - 1, lhash
    for p in path:
        if sn == 0:
            raise Invalid("inclusion path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Invalid("inclusion path too short")
    return r


def verify_consistency(size1, root1, size2, root2, path):
    """RFC 9162 section 2.1.4.2; raises Invalid on any mismatch."""
    if size2 < size1:
        raise Invalid("newer tree (%d) is smaller than the older (%d): rollback" % (size2, size1))
    if size1 == size2:
        if path or root1 != root2:
            raise Invalid("equal tree sizes %d with different roots (or a non-empty proof)" % size1)
        return
    if size1 == 0:
        if path:
            raise Invalid("consistency proof from the empty tree must be empty")
        return
    if not path:
        raise Invalid("empty consistency proof")
    if size1 & (size1 - 1) == 0:
        path = [root1] + list(path)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Invalid("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != root1 or sr != root2:
        raise Invalid("consistency proof does not connect %d to %d" % (size1, size2))


# ---------------------------------------------------------------- leaves and notes

LEAF_RE = re.compile(rb"dossier\.dev/leaf/v1\nbundle (sha256:[0-9a-f]{64})\nstream ([^\n]*)\n"
                     rb"seq (0|[1-9][0-9]*)\nprev (-|sha256:[0-9a-f]{64})\n\Z")
STREAM_RE = re.compile(r"(sha256:[0-9a-f]{64}|[a-z][a-z0-9-]{0,63})\Z")


def parse_leaf(leaf):
    """SPEC.md 3.8: exact, canonical text; prev is - exactly at seq 0."""
    m = LEAF_RE.match(leaf) if len(leaf) <= 1024 else None
    if not m:
        raise Invalid("leaf is not a canonical dossier.dev/leaf/v1 leaf")
    bundle, stream, seq, prev = (g.decode() for g in m.groups())
    if not STREAM_RE.match(stream):
        raise Invalid("leaf stream %r is not allowed" % stream)
    if (seq == "0") != (prev == "-"):
        raise Invalid("leaf prev must be - exactly when seq is 0 (seq %s, prev %s)" % (seq, prev))
    return {"bundle": bundle, "stream": stream, "seq": int(seq), "prev": prev}


class NoteKey(object):
    """A C2SP signed-note Ed25519 verifier key <name>+<8 hex>+<base64(0x01 || key)>."""

    def __init__(self, vkey):
        parts = vkey.split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]) or not parts[0]:
            raise Invalid("noteVerifierKey %r is not <name>+<8 hex>+<base64>" % vkey)
        raw = b64decode_strict(parts[2], "noteVerifierKey key")
        if len(raw) != 33 or raw[0] != 1:
            raise Invalid("noteVerifierKey is not an Ed25519 (0x01) key")
        self.name, self.public, self.text = parts[0], raw[1:], vkey
        self.key_id = hashlib.sha256(self.name.encode() + b"\n\x01" + self.public).digest()[:4]
        if self.key_id.hex() != parts[1]:
            raise Invalid("noteVerifierKey key id %s does not match its key" % parts[1])


def open_checkpoint(note, vkey, ssl):
    """SPEC.md 3.9: signature by the log key, origin = key
    name, body exactly origin/size/root. Returns (origin, size, root bytes)."""
    text = note.decode("utf-8") if isinstance(note, bytes) else note
    body, sep, sigs = text.partition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise Invalid("checkpoint is not a signed note")
    body += "\n"
    verified = False
    for line in sigs[:-1].split("\n"):
        m = re.fullmatch(r"\u2014 (\S+) ([A-Za-z0-9+/=]+)", line)
        if not m:
            raise Invalid("malformed signature line in checkpoint note")
        raw = b64decode_strict(m.group(2), "note signature")
        if m.group(1) != vkey.name or raw[:4] != vkey.key_id:
            continue
        pub = PublicKey(ED25519_SPKI + vkey.public)
        if len(raw) == 68 and ssl.verify(pub, raw[4:], body.encode("utf-8")):
            verified = True
    if not verified:
        raise Invalid("checkpoint carries no valid signature by the log key %s" % vkey.name)
    lines = body.split("\n")[:-1]
    if len(lines) != 3:
        raise Invalid("checkpoint body has %d lines; Dossier checkpoints have exactly 3" % len(lines))
    origin, size, root = lines
    if origin != vkey.name:
        raise Invalid("checkpoint origin %r is not the log key name %r" % (origin, vkey.name))
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size):
        raise Invalid("checkpoint size %r is not a decimal number" % size)
    root_bytes = b64decode_strict(root, "checkpoint root")
    if len(root_bytes) != 32:
        raise Invalid("checkpoint root is not 32 bytes")
    return origin, int(size), root_bytes


# ---------------------------------------------------------------- predicates
# spec/predicates/README.md: each predicate is valid against its JSON Schema
# (2020-12, read from spec/predicates) and the page's "code only" rules.

def spec_dir():
    env = os.environ.get("DOSSIER_SPEC_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "..", "..", "spec", "predicates"),  # the source tree
                      os.path.join(here, "spec", "predicates"),              # a kit: spec/ beside the script
                      os.path.join(os.getcwd(), "spec", "predicates")):
        if os.path.isdir(candidate):
            return candidate
    return os.path.join(here, "..", "..", "spec", "predicates")


SCHEMA_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "examples",
                      "$comment", "default", "format", "deprecated", "readOnly", "writeOnly"}


class Schemas(object):
    """A small JSON Schema 2020-12 subset validator: the keywords the predicate
    schemas use. An unknown assertion keyword makes the check inconclusive."""

    def __init__(self, directory):
        self.docs = {}
        self.error = None
        try:
            for name in sorted(os.listdir(directory)):
                if name.endswith(".schema.json"):
                    with open(os.path.join(directory, name), "rb") as f:
                        self.docs[name] = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as err:
            self.error = "cannot read the predicate schemas in %s: %s" % (directory, err)
        if not self.docs and not self.error:
            self.error = "no predicate schemas in %s" % directory

    def validate(self, kind, value):
        """List of violations (JSON path: problem); CannotCheck when unsure."""
        if self.error:
            raise CannotCheck(self.error)
        doc = kind + ".schema.json"
        if doc not in self.docs:
            raise CannotCheck("no schema %s" % doc)
        errors = []
        self._check(self.docs[doc], value, "predicate", doc, errors)
        return errors

    def _resolve(self, ref, doc):
        file_part, _, pointer = ref.partition("#")
        doc = file_part or doc
        if doc not in self.docs:
            raise CannotCheck("schema reference %s not found" % ref)
        node = self.docs[doc]
        for part in [p for p in pointer.split("/") if p]:
            node = node[part]
        return node, doc

    def _check(self, schema, value, path, doc, errors):
        if schema is True:
            return
        if schema is False:
            errors.append("%s: not allowed" % path)
            return
        for keyword, arg in schema.items():
            if keyword in SCHEMA_ANNOTATIONS or keyword in ("then", "else"):
                continue
            handler = getattr(self, "_kw_" + keyword.lstrip("$"), None)
            if handler is None:
                raise CannotCheck("schema keyword %s is not supported by this verifier" % keyword)
            handler(schema, arg, value, path, doc, errors)

    def _kw_ref(self, schema, arg, value, path, doc, errors):
        target, target_doc = self._resolve(arg, doc)
        self._check(target, value, path, target_doc, errors)

    def _kw_type(self, schema, arg, value, path, doc, errors):
        kinds = arg if isinstance(arg, list) else [arg]
        tests = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
                 "string": lambda v: isinstance(v, str), "integer": is_int,
                 "number": lambda v: is_int(v) or isinstance(v, float),
                 "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None}
        if not any(tests[k](value) for k in kinds):
            errors.append("%s: not of type %s" % (path, "/".join(kinds)))

    def _kw_enum(self, schema, arg, value, path, doc, errors):
        if not any(_json_equal(value, a) for a in arg):
            errors.append("%s: %r is not one of %s" % (path, value, arg))

    def _kw_const(self, schema, arg, value, path, doc, errors):
        if not _json_equal(value, arg):
            errors.append("%s: must be %r" % (path, arg))

    def _kw_pattern(self, schema, arg, value, path, doc, errors):
        if isinstance(value, str):
            regex = arg[:-1] + r"\Z" if arg.endswith("$") and not arg.endswith("\\$") else arg
            if not re.search(regex, value):
                errors.append("%s: does not match %s" % (path, arg))

    def _kw_minLength(self, schema, arg, value, path, doc, errors):
        if isinstance(value, str) and len(value) < arg:
            errors.append("%s: shorter than %d" % (path, arg))

    def _kw_maxLength(self, schema, arg, value, path, doc, errors):
        if isinstance(value, str) and len(value) > arg:
            errors.append("%s: longer than %d" % (path, arg))

    def _kw_minimum(self, schema, arg, value, path, doc, errors):
        if (is_int(value) or isinstance(value, float)) and value < arg:
            errors.append("%s: below %s" % (path, arg))

    def _kw_maximum(self, schema, arg, value, path, doc, errors):
        if (is_int(value) or isinstance(value, float)) and value > arg:
            errors.append("%s: above %s" % (path, arg))

    def _kw_minItems(self, schema, arg, value, path, doc, errors):
        if isinstance(value, list) and len(value) < arg:
            errors.append("%s: fewer than %d items" % (path, arg))

    def _kw_maxItems(self, schema, arg, value, path, doc, errors):
        if isinstance(value, list) and len(value) > arg:
            errors.append("%s: more than %d items" % (path, arg))

    def _kw_uniqueItems(self, schema, arg, value, path, doc, errors):
        if arg and isinstance(value, list):
            seen = [json.dumps(v, sort_keys=True) for v in value]
            if len(set(seen)) != len(seen):
                errors.append("%s: items are not unique" % path)

    def _kw_items(self, schema, arg, value, path, doc, errors):
        if isinstance(value, list):
            for i, item in enumerate(value):
                self._check(arg, item, "%s[%d]" % (path, i), doc, errors)

    def _kw_required(self, schema, arg, value, path, doc, errors):
        if isinstance(value, dict):
            for name in arg:
                if name not in value:
                    errors.append("%s: missing %s" % (path, name))

    def _kw_properties(self, schema, arg, value, path, doc, errors):
        if isinstance(value, dict):
            for name, sub in arg.items():
                if name in value:
                    self._check(sub, value[name], "%s.%s" % (path, name), doc, errors)

    def _kw_additionalProperties(self, schema, arg, value, path, doc, errors):
        if isinstance(value, dict):
            known = set(schema.get("properties", {}))
            for name in value:
                if name not in known:
                    if arg is False:
                        errors.append("%s: unknown member %s" % (path, name))
                    else:
                        self._check(arg, value[name], "%s.%s" % (path, name), doc, errors)

    def _kw_propertyNames(self, schema, arg, value, path, doc, errors):
        if isinstance(value, dict):
            for name in value:
                self._check(arg, name, "%s{%s}" % (path, name), doc, errors)

    def _kw_maxProperties(self, schema, arg, value, path, doc, errors):
        if isinstance(value, dict) and len(value) > arg:
            errors.append("%s: more than %d members" % (path, arg))

    def _kw_minProperties(self, schema, arg, value, path, doc, errors):
        if isinstance(value, dict) and len(value) < arg:
            errors.append("%s: fewer than %d members" % (path, arg))

    def _kw_allOf(self, schema, arg, value, path, doc, errors):
        for sub in arg:
            self._check(sub, value, path, doc, errors)

    def _kw_anyOf(self, schema, arg, value, path, doc, errors):
        for sub in arg:
            trial = []
            self._check(sub, value, path, doc, trial)
            if not trial:
                return
        errors.append("%s: matches none of the allowed forms" % path)

    def _kw_oneOf(self, schema, arg, value, path, doc, errors):
        passing = 0
        for sub in arg:
            trial = []
            self._check(sub, value, path, doc, trial)
            passing += not trial
        if passing != 1:
            errors.append("%s: matches %d forms, want exactly one" % (path, passing))

    def _kw_not(self, schema, arg, value, path, doc, errors):
        trial = []
        self._check(arg, value, path, doc, trial)
        if not trial:
            errors.append("%s: matches a forbidden form" % path)

    def _kw_if(self, schema, arg, value, path, doc, errors):
        trial = []
        self._check(arg, value, path, doc, trial)
        branch = schema.get("then") if not trial else schema.get("else")
        if branch is not None:
            self._check(branch, value, path, doc, errors)


def _json_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def decimal(text):
    """A decimal string as an exact rational (never a float)."""
    mantissa, _, exponent = text.lower().partition("e")
    return Fraction(mantissa) * Fraction(10) ** int(exponent or "0")


def _present(obj, name):
    return obj.get(name) not in (None, "")


def rules_evaluation(p, stmt):
    errors = []
    names = [m["name"] for m in p["metrics"]]
    if len(set(names)) != len(names):
        errors.append("predicate.metrics: names are not unique")
    values = dict((m["name"], decimal(m["value"])) for m in p["metrics"])
    ops = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
           "<": lambda a, b: a < b, "==": lambda a, b: a == b}
    for i, t in enumerate(p.get("thresholds", [])):
        if t["metric"] not in values:
            errors.append("predicate.thresholds[%d]: metric %s is not in metrics" % (i, t["metric"]))
        elif p["verdict"] == "pass" and not ops[t["op"]](values[t["metric"]], decimal(t["threshold"])):
            errors.append("predicate.thresholds[%d]: verdict pass but %s %s %s does not hold"
                          % (i, t["metric"], t["op"], t["threshold"]))
    return errors


def rules_evaluation_plan(p, stmt):
    names = [b["name"] for b in p["benchmarks"]]
    errors = [] if len(set(names)) == len(names) else ["predicate.benchmarks: names are not unique"]
    for i, m in enumerate(p["metrics"]):
        if _present(m, "benchmark") and m["benchmark"] not in names:
            errors.append("predicate.metrics[%d]: benchmark %s is not listed" % (i, m["benchmark"]))
    return errors


def rules_approval(p, stmt):
    errors = []
    if bool(p.get("conditions")) != (p["decision"] == "approve-with-conditions"):
        errors.append("predicate.conditions: non-empty exactly when decision is approve-with-conditions")
    if _present(p, "withdraws") != (p["decision"] == "withdraw"):
        errors.append("predicate.withdraws: present exactly when decision is withdraw")
    if p["reviewedRecords"] != sorted(p["reviewedRecords"]):
        errors.append("predicate.reviewedRecords: not in ascending order")
    if _present(p, "expiresAt") and not p["expiresAt"] > p["signedAt"]:
        errors.append("predicate.expiresAt: not after signedAt")
    return errors


def rules_dataset(p, stmt):
    errors = []
    pd = p["personalData"]
    if pd.get("present") and not _present(p, "legalBasis"):
        errors.append("predicate.legalBasis: required when personalData.present")
    if pd.get("phi") and not pd.get("present"):
        errors.append("predicate.personalData: phi requires present")
    for i, s in enumerate(p["sources"]):
        period = s.get("collectionPeriod")
        if period and _present(period, "from") and _present(period, "to") and \
                parse_time(period["to"]) < parse_time(period["from"]):
            errors.append("predicate.sources[%d].collectionPeriod: to before from" % i)
    return errors


def rules_correction(p, stmt):
    errors = []
    if _present(p, "replacement") and p["replacement"] == p["supersedes"]:
        errors.append("predicate.replacement: equals supersedes")
    paths = [f["path"] for f in p.get("fields", [])]
    if len(set(paths)) != len(paths):
        errors.append("predicate.fields: paths are not unique")
    return errors


def rules_model_release(p, stmt):
    prev = p.get("previousVersion")
    if isinstance(prev, dict) and prev.get("version") == p.get("version"):
        return ["predicate.previousVersion.version: equals version"]
    return []


def model_release_subjects(p, stmt):
    """model-release.md: subject[0] in runs, then one subject per weights entry."""
    subjects = stmt["subject"]
    if "sha256:" + subjects[0]["digest"]["sha256"] not in p.get("runs", []):
        raise Invalid("subject[0]: run root digest not listed in predicate.runs")
    want = [{"name": "model:%s@%s/%s" % (p.get("modelId"), p.get("version"), w.get("name")),
             "digest": {"sha256": w["digest"]["sha256"]}} for w in p.get("weights", [])]
    if subjects[1:] != want:
        raise Invalid("subject[1..]: do not match the subjects derived from predicate.weights")


def rules_time_evidence(p, stmt):
    errors = []
    if p["agreeing"] > len(p["sources"]):
        errors.append("predicate.agreeing: more than the number of sources")
    for i, s in enumerate(p["sources"]):
        if s.get("accepted") and not s.get("answered"):
            errors.append("predicate.sources[%d]: accepted but not answered" % i)
    return errors


def rules_root_hash(p, stmt):
    try:
        ok = len(b64decode_strict(p["checkpoint"]["rootHash"])) == 32
    except Invalid:
        ok = False
    return [] if ok else ["predicate.checkpoint.rootHash: not 32 bytes of base64"]


def rules_run_closed(p, stmt):
    if p.get("status") in ("failed", "aborted") and not _present(p, "reason"):
        return ["predicate.reason: required when status is %s" % p["status"]]
    return []


def rules_training_run(p, stmt):
    errors = []
    base = p.get("baseModel")
    if isinstance(base, dict) and not (_present(base, "descriptor") or _present(base, "hub")):
        errors.append("predicate.baseModel: needs descriptor or hub")
    for i, d in enumerate(p.get("datasets", [])):
        if not (_present(d, "record") or _present(d, "descriptor")):
            errors.append("predicate.datasets[%d]: needs record or descriptor" % i)
    return errors


def rules_transfer(p, stmt):
    if is_int(p.get("imported")) and is_int(p.get("recordCount")) and p["imported"] > p["recordCount"]:
        return ["predicate.imported: exceeds recordCount"]
    return []


def rules_receipt(p, stmt):
    if ("prev" in p and p["prev"] != "") == (p.get("seq") == 0):
        return ["predicate.prev: present exactly when seq > 0"]
    return []


CODE_RULES = {"evaluation": rules_evaluation, "evaluation-plan": rules_evaluation_plan,
              "approval": rules_approval, "dataset": rules_dataset, "correction": rules_correction,
              "model-release": rules_model_release, "time-evidence": rules_time_evidence,
              "export-sealed": rules_root_hash, "package": rules_root_hash,
              "run-closed": rules_run_closed, "training-run": rules_training_run,
              "transfer": rules_transfer, "receipt": rules_receipt}


def parse_time(text):
    """SPEC.md time -> (seconds since epoch as int, nanoseconds) for ordering."""
    import calendar
    import time as _time
    if not isinstance(text, str) or not TIME_RE.match(text):
        raise Invalid("%r is not an RFC 3339 UTC time" % (text,))
    try:
        tm = _time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise Invalid("%r is not a real calendar date" % text)
    frac = text[20:-1] if len(text) > 20 else ""
    return calendar.timegm(tm), int((frac + "000000000")[:9])


def subject0_rule(kind, p, stmt, raw_predicate):
    """The subject[0] binding of each predicate page ("Subject" sections)."""
    s0 = stmt["subject"][0]
    if kind in RUN_KINDS:
        want_name, want_digest = "run:%s" % p.get("runId"), None
    elif kind == "time-evidence":
        want_name, want_digest = "time-evidence", sha256_hex(compact(raw_predicate).encode("utf-8"))
    elif kind == "export":
        want_name, want_digest = "export", p["recordListDigest"][7:]
    elif kind == "export-sealed":
        want_name, want_digest = "dossier-package", p["package"][7:]
    elif kind == "package":
        want_name, want_digest = "dossier-package", p["packageIndex"][7:]
    elif kind == "deployment":
        want_name, want_digest = "deployment:%s" % p["environment"], p["weights"][7:]
    elif kind == "receipt":
        want_name, want_digest = "dossier-record", p["record"][7:]
    else:
        want_name, want_digest = "dossier-spool", p["spool"][7:]
    if s0["name"] != want_name:
        raise Invalid("subject[0].name is %r, want %r" % (s0["name"], want_name))
    if kind == "model-release":
        model_release_subjects(p, stmt)
    if want_digest is not None and s0["digest"]["sha256"] != want_digest:
        raise Invalid("subject[0].digest does not match the predicate (%s)" % kind)


# ---------------------------------------------------------------- one record
# SPEC.md 4 "Verifying one record", steps 1-8. Each failure carries its class.

class RecordError(Exception):
    def __init__(self, cls, message):
        Exception.__init__(self, message)
        self.cls = cls


class Record(object):
    """A verified-as-far-as-possible record: bundle bytes, statement, kind."""

    def __init__(self, bundle):
        self.bundle = bundle
        self.digest = digest_of(bundle)
        self.hint = None
        self.statement = None
        self.kind = None
        self.predicate = None
        self.ok = False          # passed step 6
        self.status = ""         # step 6 status: pass, fail or not-checked


def parse_bundle(rec):
    """Steps 1, 2 and 4: size, bundle profile, payload type (class envelope)."""
    def envelope(msg):
        return RecordError("envelope", msg)
    if len(rec.bundle) > 8 * MIB:
        raise envelope("bundle larger than 8 MiB")
    try:
        b = strict_json(rec.bundle, 8 * MIB, "bundle", 16)
        members(b, ["mediaType", "verificationMaterial", "dsseEnvelope"], (), "bundle")
        if b["mediaType"] != BUNDLE_MEDIA_TYPE:
            raise Invalid("bundle mediaType %r is not %s" % (b["mediaType"], BUNDLE_MEDIA_TYPE))
        vm = members(b["verificationMaterial"], ["publicKey"], ["tlogEntries", "timestampVerificationData"],
                     "verificationMaterial")
        if vm.get("tlogEntries", []) != []:
            raise Invalid("tlogEntries must be empty (Dossier's log is not Rekor)")
        if "timestampVerificationData" in vm:
            tvd = members(vm["timestampVerificationData"], [], ["rfc3161Timestamps"], "timestampVerificationData")
            for ts in tvd.get("rfc3161Timestamps", []):
                b64decode_strict(members(ts, ["signedTimestamp"], (), "rfc3161Timestamp")["signedTimestamp"],
                                 "signedTimestamp")
        hint = members(vm["publicKey"], ["hint"], (), "publicKey")["hint"]
        env = members(b["dsseEnvelope"], ["payload", "payloadType", "signatures"], (), "dsseEnvelope")
        sigs = env["signatures"]
        if not isinstance(sigs, list) or len(sigs) != 1:
            raise Invalid("envelope has %s signatures, want exactly one" % (len(sigs) if isinstance(sigs, list) else "no"))
        sig = members(sigs[0], ["sig"], ["keyid"], "signature")
        if not all(isinstance(x, str) for x in (hint, env["payload"], env["payloadType"], sig["sig"],
                                                 sig.get("keyid", ""))):
            raise Invalid("hint, payload, payloadType, sig and keyid must be strings")
        if sig.get("keyid", "") not in ("", hint):
            raise Invalid("DSSE keyid %r differs from the bundle hint %r" % (sig["keyid"], hint))
        payload = b64decode_dsse(env["payload"], "payload")
        signature = b64decode_dsse(sig["sig"], "sig")
    except Invalid as err:
        raise envelope(str(err))
    if env["payloadType"] != INTOTO_PAYLOAD_TYPE:
        raise envelope("payloadType %r is not %s" % (env["payloadType"], INTOTO_PAYLOAD_TYPE))
    rec.hint, rec.payload_type, rec.payload, rec.signature = hint, env["payloadType"], payload, signature


def check_signature(rec, key, ssl):
    """Steps 3 and 5: hint names the key, signature verifies (class signature)."""
    if not rec.hint or rec.hint != key.fingerprint:
        raise RecordError("signature", "hint %s does not name the key %s" % (rec.hint, key.fingerprint))
    try:
        ok = ssl.verify(key, rec.signature, pae(rec.payload_type, rec.payload))
    except Invalid as err:
        raise RecordError("signature", str(err))
    if not ok:
        raise RecordError("signature", "signature does not verify with key %s" % key.fingerprint)


def parse_statement(rec):
    """Step 6: the payload is a strict in-toto Statement v1 (class statement)."""
    try:
        st = strict_json(rec.payload, 4 * MIB, "statement")
        members(st, ["_type", "subject", "predicateType", "predicate"], (), "statement")
        if st["_type"] != STATEMENT_TYPE:
            raise Invalid("_type is %r" % st["_type"])
        subjects = st["subject"]
        if not isinstance(subjects, list) or not 1 <= len(subjects) <= 1024:
            raise Invalid("statement needs 1 to 1024 subjects")
        for i, s in enumerate(subjects):
            members(s, ["digest"], ["name", "uri", "mediaType", "annotations"], "subject[%d]" % i)
            if not isinstance(s.get("name"), str) or not s["name"]:
                raise Invalid("subject[%d] has no name" % i)
            d = s["digest"]
            if not isinstance(d, dict) or not re.fullmatch(r"[0-9a-f]{64}", str(d.get("sha256", ""))):
                raise Invalid("subject[%d].digest.sha256 is not 64 lowercase hex" % i)
        ptype = st["predicateType"]
        kind = ptype[len(PREDICATE_PREFIX):-3] if isinstance(ptype, str) and ptype.startswith(PREDICATE_PREFIX) \
            and ptype.endswith("/v1") else None
        if kind not in RUN_KINDS | LOG_KINDS:
            raise Invalid("unknown predicateType %r" % (ptype,))
        if not isinstance(st["predicate"], dict):
            raise Invalid("predicate is not an object")
        raw = top_level_spans(rec.payload.decode("utf-8"))["predicate"]
    except Invalid as err:
        raise RecordError("statement", str(err))
    rec.statement, rec.kind, rec.predicate, rec.raw_predicate = st, kind, st["predicate"], raw


def check_predicate(rec, schemas):
    """Step 7: the predicate against its schema and page rules (class predicate)."""
    errors = schemas.validate(rec.kind, rec.predicate)
    if not errors and rec.kind in CODE_RULES:
        try:
            errors = CODE_RULES[rec.kind](rec.predicate, rec.statement)
        except (Invalid, KeyError, TypeError, ValueError, ZeroDivisionError) as err:
            errors = ["predicate rule check failed: %s" % err]
    if errors:
        raise RecordError("predicate", "; ".join(errors[:5]))
    try:  # SPEC.md 4: a subject that does not match the predicate is `statement`
        subject0_rule(rec.kind, rec.predicate, rec.statement, rec.raw_predicate)
    except Invalid as err:
        raise RecordError("statement", str(err))


def check_subject(rec, run_root_hex):
    """Step 8: subject[0] is the run root R (class subject)."""
    s0 = rec.statement["subject"][0]
    if s0["digest"]["sha256"] != run_root_hex:
        raise RecordError("subject", "subject[0] names run root %s, want %s" % (s0["digest"]["sha256"], run_root_hex))
    if s0["name"] != "run:%s" % rec.predicate.get("runId"):
        raise RecordError("subject", "subject[0].name %r is not run:<runId>" % s0["name"])


# ---------------------------------------------------------------- keyring
# SPEC.md 3.11.

KEY_MEMBERS = ["id", "algorithm", "publicKey", "roles", "owner", "validFrom", "validUntil", "revocation"]
ALL_ROLES = {"exporter", "ingest", "log", "producer", "reviewer", "root", "time"}


def parse_keyring_envelope(data):
    """A keyring version: DSSE envelope and strict document. Returns a dict."""
    env = strict_json(data, 2 * MIB, "keyring envelope")
    members(env, ["payload", "payloadType", "signatures"], (), "keyring envelope")
    if env["payloadType"] != KEYRING_MEDIA_TYPE:
        raise Invalid("keyring payloadType is %r" % env["payloadType"])
    if not isinstance(env["signatures"], list):
        raise Invalid("keyring signatures is not a list")
    sigs = []
    for s in env["signatures"]:
        members(s, ["sig"], ["keyid"], "keyring signature")
        sigs.append(b64decode_dsse(s["sig"], "keyring sig"))
    payload = b64decode_dsse(env["payload"], "keyring payload")
    doc = strict_json(payload, MIB, "keyring document")
    validate_keyring_document(doc)
    return {"envelope": data, "digest": digest_of(data), "payload": payload, "doc": doc,
            "signatures": sigs, "version": doc["version"], "keys": parse_keys(doc)}


def validate_keyring_document(doc):
    members(doc, ["mediaType", "version", "previous", "issuedAt", "rootThreshold", "keys"],
            ["timestampAuthorities", "witnessPolicy"], "keyring")
    if doc["mediaType"] != KEYRING_MEDIA_TYPE:
        raise Invalid("keyring mediaType is %r" % doc["mediaType"])
    if not is_int(doc["version"]) or doc["version"] < 1:
        raise Invalid("keyring version is not an integer >= 1")
    if (doc["version"] == 1) != (doc["previous"] is None):
        raise Invalid("keyring previous must be null exactly for version 1")
    if doc["previous"] is not None and not DIGEST_RE.match(str(doc["previous"])):
        raise Invalid("keyring previous is not a digest string")
    parse_time(doc["issuedAt"])
    if not is_int(doc["rootThreshold"]) or doc["rootThreshold"] < 1:
        raise Invalid("rootThreshold is not an integer >= 1")
    if not isinstance(doc["keys"], list) or len(doc["keys"]) > 1024:
        raise Invalid("keyring keys is not a list of at most 1024 keys")


def parse_keys(doc):
    keys = {}
    for i, k in enumerate(doc["keys"]):
        what = "keys[%d]" % i
        members(k, KEY_MEMBERS, ["noteVerifierKey"], what)
        key = PublicKey.from_pem(k["publicKey"])
        if k["id"] != key.fingerprint or k["id"] in keys:
            raise Invalid("%s id is not the (unique) fingerprint of its publicKey" % what)
        if k["algorithm"] != key.algorithm:
            raise Invalid("%s algorithm %r is not its key's %s" % (what, k["algorithm"], key.algorithm))
        roles = k["roles"]
        if not isinstance(roles, list) or not roles or roles != sorted(set(roles)) or not set(roles) <= ALL_ROLES:
            raise Invalid("%s roles must be a non-empty sorted unique subset of %s" % (what, sorted(ALL_ROLES)))
        owner = members(k["owner"], ["name", "personId", "team"], (), what + ".owner")
        if not all(isinstance(v, str) and v for v in owner.values()):
            raise Invalid("%s owner members must be non-empty strings" % what)
        parse_time(k["validFrom"])
        if k["validUntil"] is not None and parse_time(k["validUntil"]) <= parse_time(k["validFrom"]):
            raise Invalid("%s validUntil is not after validFrom" % what)
        rev = k["revocation"]
        if rev is not None:
            members(rev, ["at", "reason"], ["note"], what + ".revocation")
            parse_time(rev["at"])
            if rev["reason"] not in ("compromised", "retired", "departed"):
                raise Invalid("%s revocation reason %r" % (what, rev["reason"]))
        key.roles, key.revocation, key.note_key, key.owner = set(roles), rev, None, owner
        if ("log" in roles) != ("noteVerifierKey" in k):
            raise Invalid("%s: exactly the log key carries a noteVerifierKey" % what)
        if "log" in roles:
            if key.algorithm != "ed25519":
                raise Invalid("%s: the log key must be Ed25519" % what)
            key.note_key = NoteKey(k["noteVerifierKey"])
            if key.note_key.public != key.raw_ed25519():
                raise Invalid("%s noteVerifierKey carries another key than publicKey" % what)
        keys[k["id"]] = key
    validate_anchor_trust_root(doc, keys)
    roots = [k for k in keys.values() if "root" in k.roles and k.revocation is None]
    if doc["rootThreshold"] > len(roots):
        raise Invalid("rootThreshold %d exceeds the %d unrevoked root keys" % (doc["rootThreshold"], len(roots)))
    return keys


def validate_anchor_trust_root(doc, keys):
    """SPEC.md 3.11 "Anchor trust root" (optional): its shape; a witnessPolicy
    that is not a valid tlog-policy makes the keyring version malformed.
    Tokens and cosignatures are checked with it in step 7.5 (check_anchors)."""
    if "timestampAuthorities" in doc:
        tsas = doc["timestampAuthorities"]
        if not isinstance(tsas, list) or not 1 <= len(tsas) <= 64:
            raise Invalid("timestampAuthorities must hold 1 to 64 entries")
        names = set()
        for t in tsas:
            members(t, ["name", "chainPem", "validFrom", "validUntil"], ["policy"], "timestampAuthorities entry")
            if not isinstance(t["name"], str) or not re.fullmatch(r"\S+", t["name"]) or t["name"] in names:
                raise Invalid("timestampAuthorities name %r is empty, has white space or repeats" % (t["name"],))
            names.add(t["name"])
            if not isinstance(t["chainPem"], str) or "-----BEGIN CERTIFICATE-----" not in t["chainPem"]:
                raise Invalid("timestampAuthorities %s chainPem holds no CERTIFICATE block" % t["name"])
            if parse_time(t["validUntil"]) <= parse_time(t["validFrom"]):
                raise Invalid("timestampAuthorities %s validUntil is not after validFrom" % t["name"])
            if "policy" in t and not re.fullmatch(r"[0-9]+(\.[0-9]+)+", str(t["policy"])):
                raise Invalid("timestampAuthorities %s policy is not a dotted OID" % t["name"])
    if "witnessPolicy" in doc:
        if not isinstance(doc["witnessPolicy"], str):
            raise Invalid("witnessPolicy is not a string")
        log_vkeys = set(k.note_key.text for k in keys.values() if k.note_key)
        for line in doc["witnessPolicy"].splitlines():
            if line.startswith("log "):
                vkey = line[4:].strip()
                if vkey not in log_vkeys:
                    raise Invalid("witnessPolicy log line %r is not a log key of the keyring" % vkey)
        try:  # C2SP tlog-policy, strict (spec/anchors.md 2 "Policy")
            dossier_anchors.WitnessPolicy(doc["witnessPolicy"])
        except dossier_anchors.AnchorError as err:
            raise Invalid("witnessPolicy: %s" % err)


def count_root_signatures(version, signer_keys, ssl):
    """Distinct eligible root keys with a valid signature (each key counts once)."""
    message = pae(KEYRING_MEDIA_TYPE, version["payload"])
    signed = set()
    for key in signer_keys:
        if any(ssl.verify(key, sig, message) for sig in version["signatures"] if _sig_shape_ok(key, sig)):
            signed.add(key.fingerprint)
    return len(signed)


def _sig_shape_ok(key, sig):
    try:
        if key.algorithm == "ecdsa-p256":
            check_ecdsa_der(sig)
        return key.algorithm == "ecdsa-p256" or len(sig) == 64
    except Invalid:
        return False


# ---------------------------------------------------------------- run roots
# SPEC.md 3.2: rebuild the canonical manifest from the registration.

def go_json_string(s):
    """A JSON string as Go's encoding/json writes it (HTML characters escaped)."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 0x20 or ch in "<>&" or code in (0x2028, 0x2029):
            out.append("\\u%04x" % code)
        else:
            out.append(ch)
    return "".join(out) + '"'


def registration_bytes(reg):
    """The canonical registration document (members in order, compact, LF)."""
    members(reg, ["schema", "runId", "project", "model", "startedBy", "startedAt"], ["description"],
            "registration")
    sb = members(reg["startedBy"], ["id", "kind"], ["name"], "registration.startedBy")
    if not all(isinstance(v, str) for v in list(reg.values())[:4] + [reg["startedAt"]] + list(sb.values())):
        raise Invalid("registration members must be strings")
    by = ['"id":' + go_json_string(sb["id"])]
    if sb.get("name"):
        by.append('"name":' + go_json_string(sb["name"]))
    by.append('"kind":' + go_json_string(sb["kind"]))
    parts = ['"schema":' + go_json_string(reg["schema"]), '"runId":' + go_json_string(reg["runId"]),
             '"project":' + go_json_string(reg["project"]), '"model":' + go_json_string(reg["model"]),
             '"startedBy":{' + ",".join(by) + "}", '"startedAt":' + go_json_string(reg["startedAt"])]
    if reg.get("description"):
        parts.append('"description":' + go_json_string(reg["description"]))
    return ("{" + ",".join(parts) + "}\n").encode("utf-8")


def validate_registration(reg):
    """SPEC.md 3.2: the registration document's member rules."""
    if reg["schema"] != "https://dossier.dev/run/registration/v1":
        raise Invalid("registration schema is %r" % reg["schema"])
    if not re.match(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z", reg["runId"]):
        raise Invalid("registration runId %r is not allowed" % reg["runId"])
    sb = reg["startedBy"]
    if not (1 <= len(reg["project"]) <= 200 and 1 <= len(reg["model"]) <= 200 and 1 <= len(sb["id"]) <= 200
            and sb["kind"] in ("person", "workload") and len(reg.get("description", "")) <= 4000):
        raise Invalid("registration member out of its range (project, model, startedBy, description)")
    parse_time(reg["startedAt"])


def run_root_bytes(reg, reg_bytes):
    annotations = [("dev.dossier.run.id", reg["runId"]), ("dev.dossier.run.project", reg["project"]),
                   ("org.opencontainers.image.created", reg["startedAt"])]
    ann = ",".join("%s:%s" % (go_json_string(k), go_json_string(v)) for k, v in sorted(annotations))
    text = ('{"schemaVersion":2,"mediaType":"%s","artifactType":"%s",'
            '"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},'
            '"layers":[{"mediaType":"application/vnd.dossier.run.registration.v1+json","digest":"%s",'
            '"size":%d,"annotations":{"org.opencontainers.image.title":"registration.json"}}],'
            '"annotations":{%s}}') % (MANIFEST_TYPE, RUN_ARTIFACT, EMPTY_DIGEST, digest_of(reg_bytes),
                                      len(reg_bytes), ann)
    return text.encode("utf-8")


def check_run_root(manifest_bytes, manifest, blobs):
    """Return the registration's runId; Invalid when the root is not canonical."""
    layers = manifest.get("layers")
    if not isinstance(layers, list) or len(layers) != 1 or not isinstance(layers[0], dict):
        raise Invalid("run root manifest does not have exactly one layer")
    reg_bytes = blobs.get(str(layers[0].get("digest"))[7:])
    if reg_bytes is None:
        raise Invalid("registration document blob missing")
    reg = strict_json(reg_bytes, 64 * 1024, "registration document")
    if registration_bytes(reg) != reg_bytes:
        raise Invalid("registration document is not canonical")
    validate_registration(reg)
    if run_root_bytes(reg, reg_bytes) != manifest_bytes:
        raise Invalid("run root manifest is not the canonical manifest of its registration")
    return reg["runId"]


# ---------------------------------------------------------------- result
# SPEC.md 6: checks, failures, outcome.

STEP_CLASS = {1: "tar", 2: "layout", 3: "index", 4: "keyring", 5: "package-signature", 6: "signature",
              7: "inclusion", 8: "sequence", 9: "time", 10: "export", 11: "policy", 12: "consistency"}


class Context(object):
    """Everything parsed so far, and the checks and failures reported."""

    def __init__(self, args):
        self.args = args
        self.checks, self.failures = [], []
        self.ssl = OpenSSL()
        self.schemas = Schemas(spec_dir())
        self.files, self.blobs, self.manifests = {}, {}, {}
        self.index = None            # index.json
        self.metadata = None         # metadata manifest
        self.descriptor = None       # package descriptor (metadata config)
        self.layers = {}             # metadata layer media type (or title) -> [descriptor]
        self.run_roots = {}          # run root hex -> runId (from its ref name)
        self.record_entries = []     # index.json descriptors of record manifests
        self.records = []            # Record objects (bundle read)
        self.unread_records = 0      # record manifests whose bundle could not be read
        self.keyring = []            # verified keyring versions, in order
        self.any_version_keys = {}   # fingerprint -> PublicKey with roles of every version
        self.log_key = None          # NoteKey of the newest version's log key
        self.attestation = None      # Record of the package attestation (passed step 5)
        self.checkpoint = None       # (origin, size, root bytes)
        self.leaves = {}             # digest -> (index, leaf) for proven entries
        self.proof_entries = {}      # digest -> proofs.json entry
        self.policy, self.policy_source = None, ""
        self.anchors = []            # verified dossier_anchors.Entry objects (step 7.5)

    def report(self, step, cls, status, subject=None, message=None):
        check = {"step": str(step), "class": cls, "status": status}
        if subject:
            check["subject"] = subject
        if message:
            check["message"] = message
        self.checks.append(check)
        if status == "fail":
            failure = {"class": cls, "step": str(step), "message": message or ""}
            if subject:
                failure["subject"] = subject
            self.failures.append(failure)

    def run(self, step, cls, fn, subject=None):
        """Run one check: pass, fail (Invalid/RecordError) or not-checked."""
        try:
            message = fn()
            self.report(step, cls, "pass", subject, message if isinstance(message, str) else None)
            return True
        except RecordError as err:
            self.report(step, err.cls, "fail", subject, str(err))
        except Invalid as err:
            self.report(step, cls, "fail", subject, str(err))
        except CannotCheck as err:
            self.report(step, cls, "not-checked", subject, str(err))
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:
            # malformed input this check did not anticipate: never a pass
            self.report(step, cls, "not-checked", subject, "cannot check: %s %s" % (type(err).__name__, err))
        return False

    def blocked(self, step, ignore=()):
        """A step blocks the steps that depend on it when any of its checks
        failed or could not run (SPEC.md 5 "Reporting")."""
        return any(c["step"] == str(step) and c["class"] not in ignore and c["status"] != "pass"
                   for c in self.checks)

    def unsure(self, records):
        """Whether a record's step 6 could not run (neither passed nor failed)."""
        return any(r.status == "not-checked" for r in records)

    def skip(self, steps, reason):
        for step in steps:
            self.report(step, STEP_CLASS[step], "not-checked", None, reason)

    def blob(self, digest):
        """The blob a descriptor names; a missing one was reported by step 2."""
        hexd = str(digest)[7:]
        if hexd not in self.blobs:
            raise CannotCheck("blob %s is not in the package" % digest)
        return self.blobs[hexd]

    def manifest(self, digest, media_type=MANIFEST_TYPE):
        """The parsed manifest (or index) a digest names; Invalid when it is not one."""
        m = self.manifests.get(digest)
        if m is None or m.get("mediaType") != media_type:
            raise Invalid("%s is not an %s" % (digest, media_type))
        return m

    def layer(self, key, required=True):
        found = self.layers.get(key, [])
        if not found:
            if required:
                raise Invalid("the metadata manifest has no %s layer" % key)
            return None
        return self.blob(found[0]["digest"])

    def log_positions_proven(self):
        """Every verified record and every keyring version has a proven log index."""
        return all(r.digest in self.leaves for r in self.records if r.ok) and \
            all(v["digest"] in self.leaves for v in self.keyring)

    def outcome(self):
        if self.failures:
            return "rejected", 1
        if any(c["status"] == "not-checked" for c in self.checks):
            return "inconclusive", 3
        return "verified", 0


# ---------------------------------------------------------------- steps
# SPEC.md 5, one function per step.

def step_1_tar(ctx, data):
    """Step 1: canonical tar, read in place, never extracted."""
    entries, problems = read_tar(data)
    names = [n for n, _ in entries]
    for a, b in zip(names, names[1:]):
        if a == b:
            problems.append("entry %s appears more than once" % a)
        elif a.encode() > b.encode():
            problems.append("entries %s and %s are not in byte order" % (a, b))
    if len(entries) > 10 ** 6 or len(data) > 8 << 30:
        problems.append("more than 10^6 entries or 8 GiB")
    for name, body in entries:
        ctx.files.setdefault(name, body)
        if ALLOWED_NAME.match(name) and name.startswith("blobs/sha256/"):
            ctx.blobs.setdefault(name[13:], body)
    for p in problems:
        ctx.report(1, "tar", "fail", None, p)
    if not problems:
        ctx.report(1, "tar", "pass", None, "canonical USTAR archive, %d entries" % len(entries))


MANIFEST_MEMBERS = (["schemaVersion", "mediaType", "config", "layers"], ["artifactType", "subject", "annotations"])
INDEX_MEMBERS = (["schemaVersion", "mediaType", "manifests"], ["artifactType", "subject", "annotations"])
DESCRIPTOR_MEMBERS = (["mediaType", "digest", "size"], ["urls", "annotations", "data", "platform", "artifactType"])


def check_descriptor(ctx, desc, where):
    """A descriptor: sha256 digest string naming a present blob of its size."""
    members(desc, DESCRIPTOR_MEMBERS[0], DESCRIPTOR_MEMBERS[1], where)
    if not isinstance(desc["digest"], str) or not DIGEST_RE.match(desc["digest"]):
        raise Invalid("%s: digest %r is not a sha256 digest string" % (where, desc["digest"]))
    blob = ctx.blobs.get(desc["digest"][7:])
    if blob is None:
        raise Invalid("%s: blob %s is missing" % (where, desc["digest"]))
    if not is_int(desc["size"]) or desc["size"] != len(blob):
        raise Invalid("%s: size %r, blob has %d bytes" % (where, desc["size"], len(blob)))
    if "data" in desc and b64decode_strict(desc["data"], "descriptor data") != blob:
        raise Invalid("%s: data is not the blob" % where)


def parse_manifest(ctx, desc, where):
    """A manifest or index blob under the closed profile (SPEC.md 3.13)."""
    blob = ctx.blobs[desc["digest"][7:]]
    m = strict_json(blob, 256 * MIB if desc["mediaType"] == INDEX_TYPE else 4 * MIB, where, 8)
    required, optional = MANIFEST_MEMBERS if desc["mediaType"] == MANIFEST_TYPE else INDEX_MEMBERS
    members(m, required, optional, where)
    if m["schemaVersion"] != 2 or not is_int(m["schemaVersion"]):
        raise Invalid("%s: schemaVersion is %r, want 2" % (where, m["schemaVersion"]))
    if m["mediaType"] != desc["mediaType"]:
        raise Invalid("%s: media type %r differs from its descriptor's %r" % (where, m["mediaType"], desc["mediaType"]))
    if "artifactType" in desc and desc["artifactType"] != m.get("artifactType"):
        raise Invalid("%s: descriptor artifactType differs from the manifest's" % where)
    children = m["manifests"] if desc["mediaType"] == INDEX_TYPE else [m["config"]] + m["layers"]
    if not isinstance(children, list):
        raise Invalid("%s: manifests/layers is not a list" % where)
    return m, children + ([m["subject"]] if "subject" in m else [])


def step_2_layout(ctx):
    """Step 2: blob names, oci-layout, index.json, every reachable descriptor, no stray blob."""
    def blob_names():
        bad = sorted(h for h, b in ctx.blobs.items() if sha256_hex(b) != h)
        if bad:
            raise Invalid("blob content does not match its name: %s" % ", ".join(bad))
    ctx.run(2, "layout", blob_names, "blobs/sha256")

    def oci_layout():
        if ctx.files.get("oci-layout") is None:
            raise Invalid("oci-layout is missing")
        doc = strict_json(ctx.files["oci-layout"], 1024, "oci-layout")
        if members(doc, ["imageLayoutVersion"], (), "oci-layout")["imageLayoutVersion"] != "1.0.0":
            raise Invalid("imageLayoutVersion is %r, want 1.0.0" % doc["imageLayoutVersion"])
    ctx.run(2, "layout", oci_layout, "oci-layout")

    def index_json():
        if ctx.files.get("index.json") is None:
            raise Invalid("index.json is missing")
        idx = strict_json(ctx.files["index.json"], 256 * MIB, "index.json", 8)
        members(idx, INDEX_MEMBERS[0], ["subject", "annotations"], "index.json")
        if idx["schemaVersion"] != 2 or idx["mediaType"] != INDEX_TYPE or not isinstance(idx["manifests"], list):
            raise Invalid("index.json is not an image index with schemaVersion 2")
        ctx.index = idx
    if not ctx.run(2, "layout", index_json, "index.json"):
        return
    ctx.run(2, "layout", lambda: walk_descriptors(ctx), "index.json")


def walk_descriptors(ctx):
    """Step 2.3 and 2.4: every descriptor reachable from index.json, no stray blob."""
    reached, problems = set(), []
    queue = [(d, "index.json manifests[%d]" % i) for i, d in enumerate(ctx.index["manifests"])]
    while queue:
        desc, where = queue.pop(0)
        try:
            check_descriptor(ctx, desc, where)
            if desc["digest"][7:] in reached:
                continue
            reached.add(desc["digest"][7:])
            if desc["mediaType"] in (MANIFEST_TYPE, INDEX_TYPE):
                m, children = parse_manifest(ctx, desc, "manifest " + desc["digest"])
                ctx.manifests[desc["digest"]] = m
                queue.extend((c, "a descriptor in %s" % desc["digest"]) for c in children)
        except Invalid as err:
            problems.append(str(err))
        except (KeyError, TypeError, AttributeError):
            problems.append("%s: malformed descriptor" % where)
    stray = sorted(set(ctx.blobs) - reached)
    if stray:
        problems.append("blobs no descriptor references: %s" % ", ".join(stray))
    if problems:
        raise Invalid("; ".join(problems))
    return "%d blobs reachable, none unreferenced" % len(reached)


def _same_descriptor(a, b):
    return isinstance(a, dict) and isinstance(b, dict) and \
        all(a.get(k) == b.get(k) for k in ("mediaType", "digest", "size"))


def _ref(entry):
    ann = entry.get("annotations", {})
    return ann.get(REF_NAME) if isinstance(ann, dict) else None


def step_3_index(ctx):
    """Step 3: index.json order, run roots, package index, attestation subject,
    metadata layers and descriptor, human copies, specVersion."""
    ctx.run(3, "index", lambda: index_order(ctx), "index.json")
    for hexd, run_id in sorted(ctx.run_roots.items()):
        ctx.run(3, "run-root", lambda h=hexd, r=run_id: check_run_root_entry(ctx, h, r), "sha256:" + hexd)
    ctx.run(3, "index", lambda: package_index(ctx), "package index")
    ctx.run(3, "index", lambda: attestation_subject(ctx), "package attestation")
    if ctx.run(3, "index", lambda: load_metadata(ctx), "metadata"):
        for title in ("README.txt", "REPORT.html"):
            ctx.run(3, "human-copy", lambda t=title: check_human_copy(ctx, t), title)
        if ctx.descriptor["specVersion"] not in SPEC_VERSIONS:
            ctx.report(3, "index", "not-checked", "metadata",
                       "unsupported specVersion %r (this verifier implements %s)"
                       % (ctx.descriptor["specVersion"], " and ".join(SPEC_VERSIONS)))
        elif ctx.descriptor["specVersion"] == "0.2.0":
            ctx.run(3, "index", lambda: profile_020_layers(ctx), "metadata")


# SPEC.md 11: the versions this verifier implements. 0.3.0 added the
# anchors.json, policy v2 and review document layers, the keyring's anchor
# trust root and reviewer-signed evaluation plans; a 0.2.0 package holds none.
SPEC_VERSIONS = ("0.2.0", "0.3.0")


def profile_020_layers(ctx):
    """Step 3.7: a 0.2.0 package carries no layer 0.3.0 added."""
    for key in (ANCHORS_LAYER, "application/vnd.dossier.policy.v2+json", REVIEW_LAYER):
        if ctx.layers.get(key):
            raise Invalid("specVersion 0.2.0 packages carry no %s layer (added in 0.3.0)" % key)


def allowed_roles(ctx, kind):
    """SPEC.md 2: the roles allowed for a kind under the package's version
    (reviewer keys sign evaluation plans since 0.3.0)."""
    if kind == "evaluation-plan" and ctx.descriptor["specVersion"] == "0.2.0":
        return DEFAULT_RUN_ROLES
    return ROLE_FOR_KIND.get(kind, DEFAULT_RUN_ROLES)


def index_order(ctx):
    """Step 3.1: package index, attestation, run roots by run id, records without ref name."""
    entries = ctx.index["manifests"]
    refs = [_ref(e) for e in entries]
    if refs[:2] != ["dossier-package", "dossier-package-attestation"]:
        raise Invalid("index.json must start with dossier-package and dossier-package-attestation (ref names %s)"
                      % refs[:2])
    run_ids = []
    for e, ref in zip(entries[2:], refs[2:]):
        if ref is not None and not ctx.record_entries and ref.startswith("run-"):
            run_ids.append(ref[4:])
            ctx.run_roots[e["digest"][7:]] = ref[4:]
        elif ref is None:
            ctx.record_entries.append(e)
        else:
            raise Invalid("index.json entry %s has ref name %r out of place" % (e["digest"], ref))
    if [r.encode() for r in run_ids] != sorted(r.encode() for r in run_ids):
        raise Invalid("run roots are not sorted by run id")
    if entries[0]["mediaType"] != INDEX_TYPE or entries[0].get("artifactType") != PACKAGE_ARTIFACT:
        raise Invalid("the dossier-package entry is not an image index of artifactType %s" % PACKAGE_ARTIFACT)


def check_run_root_entry(ctx, hexd, run_id):
    """Step 3.2: canonical run root whose registration names the ref name's run."""
    got = check_run_root(ctx.blob("sha256:" + hexd), ctx.manifest("sha256:" + hexd), ctx.blobs)
    if got != run_id:
        raise Invalid("registration runId %r differs from the ref name's %r" % (got, run_id))


def package_index(ctx):
    """Step 3.3: metadata manifest, then exactly index.json's run roots and records."""
    pkg = ctx.manifest(ctx.index["manifests"][0]["digest"], INDEX_TYPE)
    listed, entries = pkg["manifests"], ctx.index["manifests"][2:]
    if pkg.get("artifactType") != PACKAGE_ARTIFACT:
        raise Invalid("the package index's artifactType is not %s" % PACKAGE_ARTIFACT)
    if not listed or listed[0].get("artifactType") != METADATA_ARTIFACT or listed[0]["mediaType"] != MANIFEST_TYPE:
        raise Invalid("the package index does not start with the metadata manifest")
    if len(listed) - 1 != len(entries) or not all(_same_descriptor(a, b) for a, b in zip(listed[1:], entries)):
        diff = set(d.get("digest") for d in listed[1:]) ^ set(d.get("digest") for d in entries)
        raise Invalid("the package index and index.json list different manifests (%s)" %
                      (", ".join(sorted(diff)) or "order differs"))
    ctx.metadata = ctx.manifest(listed[0]["digest"])


def attestation_subject(ctx):
    """Step 3.4: the attestation manifest's OCI subject is the package index."""
    att = ctx.manifest(ctx.index["manifests"][1]["digest"])
    if not _same_descriptor(att.get("subject"), ctx.index["manifests"][0]):
        raise Invalid("the package attestation's OCI subject is not the package index")


METADATA_LAYERS = {"application/vnd.dossier.checkpoint.v1": True, "application/vnd.dossier.proofs.v1+json": True,
                   KEYRING_LAYER_TYPE: True, "application/vnd.dossier.ledger.v1+json": True,
                   "application/vnd.dossier.policy.v1+json": False, "application/vnd.dossier.policy.v2+json": False,
                   ANCHORS_LAYER: False}
POLICY_LAYERS = ("application/vnd.dossier.policy.v1+json", "application/vnd.dossier.policy.v2+json")
REVIEW_LAYER = "application/vnd.dossier.review.v1+html"
REVIEW_TITLE = re.compile(r"review-[0-9a-f]{16}\.html\Z")
HUMAN_COPIES = {"README.txt": "text/plain; charset=utf-8", "REPORT.html": "text/html; charset=utf-8"}


def load_metadata(ctx):
    """Step 3.5: the metadata manifest's layers and the package descriptor."""
    if ctx.metadata is None:
        raise CannotCheck("the package index is not verified")
    if ctx.metadata.get("artifactType") != METADATA_ARTIFACT:
        raise Invalid("the metadata manifest's artifactType is not %s" % METADATA_ARTIFACT)
    for layer in ctx.metadata["layers"]:
        title = _ref_title(layer)
        key = title if title in HUMAN_COPIES and HUMAN_COPIES[title] == layer["mediaType"] else layer["mediaType"]
        if key not in METADATA_LAYERS and key not in HUMAN_COPIES and key != REVIEW_LAYER:
            raise Invalid("metadata layer of unexpected media type %r" % layer["mediaType"])
        if ctx.layers.get(key) and key not in (KEYRING_LAYER_TYPE, REVIEW_LAYER) \
                or key in POLICY_LAYERS and any(ctx.layers.get(k) for k in POLICY_LAYERS):
            raise Invalid("metadata layer %s appears more than once" % key)
        ctx.layers.setdefault(key, []).append(layer)
    for key in [k for k, required in METADATA_LAYERS.items() if required] + list(HUMAN_COPIES):
        if key not in ctx.layers:
            raise Invalid("the metadata manifest lacks the %s layer" % key)
    ctx.descriptor = parse_package_descriptor(ctx.blob(ctx.metadata["config"]["digest"]))
    if ctx.metadata["config"]["mediaType"] != "application/vnd.dossier.package.config.v1+json":
        raise Invalid("the metadata config is not a package descriptor")


def _ref_title(layer):
    ann = layer.get("annotations", {})
    return ann.get(TITLE) if isinstance(ann, dict) else None


def parse_package_descriptor(data):
    d = strict_json(data, 64 * MIB, "package descriptor")
    members(d, ["mediaType", "specVersion", "packageId", "created", "exporter", "request", "exportRecord",
                "recordListDigest", "recordCount", "omitted"], (), "package descriptor")
    if d["mediaType"] != "application/vnd.dossier.package.config.v1+json":
        raise Invalid("package descriptor mediaType is %r" % d["mediaType"])
    members(d["exporter"], ["tool", "version"], (), "package descriptor exporter")
    req = members(d["request"], ["runs", "requestedBy", "purpose", "recipient"], (), "package descriptor request")
    members(req["requestedBy"], ["id", "name"], (), "request.requestedBy")
    members(req["recipient"], ["organisation"], ["contact"], "request.recipient")
    for o in d["omitted"]:
        members(o, ["kind", "digest", "reason"], (), "omitted entry")
    parse_time(d["created"])
    if not (isinstance(d["specVersion"], str) and isinstance(d["packageId"], str) and is_int(d["recordCount"])
            and DIGEST_RE.match(str(d["exportRecord"])) and DIGEST_RE.match(str(d["recordListDigest"]))):
        raise Invalid("package descriptor members have the wrong types")
    return d


def check_human_copy(ctx, title):
    """Step 3.6: the tar's human copy is byte-identical to its blob."""
    if ctx.files.get(title) is None:
        raise Invalid("the tar has no %s" % title)
    if ctx.files[title] != ctx.layer(title):
        raise Invalid("%s differs from the blob the attestation covers" % title)


def step_4_keyring(ctx):
    """Step 4: the keyring chain verifies from the pinned root fingerprint."""
    ctx.run(4, "keyring", lambda: keyring_chain(ctx), "keyring")


def keyring_chain(ctx):
    versions = []
    for i, layer in enumerate(ctx.layers[KEYRING_LAYER_TYPE]):
        version = parse_keyring_envelope(ctx.blob(layer["digest"]))
        n = i + 1
        if version["version"] != n:
            raise Invalid("keyring layer %d holds version %d: versions must run 1, 2, ... without gaps" % (n, version["version"]))
        if n == 1 and "SHA256:" + sha256_hex(version["payload"]) != ctx.args["root-fingerprint"]:
            raise Invalid("keyring version 1 does not hash to the pinned root fingerprint")
        if n > 1 and version["doc"]["previous"] != versions[-1]["digest"]:
            raise Invalid("keyring version %d: previous is not the digest of version %d's envelope" % (n, n - 1))
        signer = versions[-1] if n > 1 else version  # version 1 signs itself
        eligible = [k for k in signer["keys"].values() if "root" in k.roles and k.revocation is None]
        got = count_root_signatures(version, eligible, ctx.ssl)
        if got < signer["doc"]["rootThreshold"]:
            raise Invalid("keyring version %d has %d valid signatures by distinct eligible root keys, threshold %d"
                          % (n, got, signer["doc"]["rootThreshold"]))
        if ctx.descriptor["specVersion"] == "0.2.0" and ("timestampAuthorities" in version["doc"]
                                                         or "witnessPolicy" in version["doc"]):
            raise Invalid("keyring version %d has an anchor trust root, which specVersion 0.2.0 does not define" % n)
        versions.append(version)
    if len(versions) > 10000:
        raise Invalid("more than 10 000 keyring versions")
    ctx.keyring = versions
    for version in versions:
        for fp, key in version["keys"].items():
            known = ctx.any_version_keys.setdefault(fp, PublicKey(key.der))
            known.roles = known.roles | key.roles
    logs = [k.note_key for k in versions[-1]["keys"].values() if k.note_key]
    ctx.log_key = logs[0] if len(logs) == 1 else None
    return "%d keyring version(s) from the pinned root" % len(versions)


def step_5_package_signature(ctx):
    """Step 5: the package attestation, signed by an exporter key of the newest version."""
    ctx.run(5, "package-signature", lambda: package_attestation(ctx), "package attestation")


def package_attestation(ctx):
    m = ctx.manifest(ctx.index["manifests"][1]["digest"])
    layers = m.get("layers", [])
    if m.get("artifactType") != RECORD_ARTIFACT or len(layers) != 1 or layers[0].get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise Invalid("the package attestation manifest is not record-shaped")
    rec = Record(ctx.blob(layers[0]["digest"]))
    try:
        parse_bundle(rec)
        key = ctx.keyring[-1]["keys"].get(rec.hint)
        if key is None or "exporter" not in key.roles or key.revocation is not None:
            raise Invalid("key %s is not an unrevoked exporter key of the newest keyring version" % rec.hint)
        verify_record(ctx, rec, key)
    except RecordError as err:
        raise Invalid("%s (%s)" % (err, err.cls))
    pkg_digest = ctx.index["manifests"][0]["digest"]
    want = [{"name": "dossier-package", "digest": {"sha256": pkg_digest[7:]}}]
    if rec.kind != "package" or rec.statement["subject"] != want:
        raise Invalid("the attestation's statement is not a package statement about the package index %s" % pkg_digest)
    if rec.predicate["packageIndex"] != pkg_digest:
        raise Invalid("the attestation's packageIndex is not %s" % pkg_digest)
    if rec.predicate["packageId"] != ctx.descriptor["packageId"]:
        raise Invalid("the attestation names package %r, the descriptor %r"
                      % (rec.predicate["packageId"], ctx.descriptor["packageId"]))
    ctx.attestation = rec


def verify_record(ctx, rec, key):
    """SPEC.md 4 steps 1-7 with the given key (step 8 is the caller's)."""
    parse_bundle(rec)
    check_signature(rec, key, ctx.ssl)
    parse_statement(rec)
    check_predicate(rec, ctx.schemas)


def step_6_records(ctx):
    """Step 6: every record manifest, verified with the key its hint names."""
    for entry in ctx.record_entries:
        rec = Record(b"")
        if not ctx.run(2, "layout", lambda: record_layer(ctx, entry["digest"], rec), entry["digest"]):
            ctx.unread_records += 1
            continue
        ctx.records.append(rec)
        rec.ok = ctx.run(6, "signature", lambda: check_record(ctx, rec, ctx.manifest(entry["digest"])), rec.digest)
        rec.status = ctx.checks[-1]["status"]


def check_review_documents(ctx):
    """SPEC.md 3.13: every review document layer is named by an exported
    approval's renderedViewDigest (nothing in a package is unexplained).
    Reported as step 3 (index); it needs the approvals of step 6."""
    for layer in ctx.layers.get(REVIEW_LAYER, []):
        def named(d=layer["digest"]):
            approvals = [r for r in ctx.records if r.kind == "approval" or not r.ok]
            if any(r.ok and r.predicate.get("renderedViewDigest") == d for r in approvals):
                return "named by an approval"
            if ctx.unread_records or ctx.unsure(ctx.records):
                raise CannotCheck("a record could not be read or verified: review document %s may be named by it" % d)
            raise Invalid("review document %s is named by no verified approval's renderedViewDigest" % d)
        ctx.run(3, "index", named, layer["digest"])


def record_layer(ctx, digest, rec):
    """Step 2.5: artifactType and exactly one bundle layer (reported in step 6)."""
    manifest = ctx.manifest(digest)
    layers = manifest["layers"]
    if manifest.get("artifactType") != RECORD_ARTIFACT or len(layers) != 1 \
            or layers[0].get("mediaType") != BUNDLE_MEDIA_TYPE or manifest["config"].get("digest") != EMPTY_DIGEST:
        raise Invalid("a record manifest has artifactType %s, the empty config and one bundle layer" % RECORD_ARTIFACT)
    rec.bundle = ctx.blob(layers[0]["digest"])
    rec.digest = digest_of(rec.bundle)


def check_record(ctx, rec, manifest):
    """Step 6.1-6.6: envelope, key in the keyring, signature, statement and
    predicate, a role allowed for the kind, the subject."""
    parse_bundle(rec)
    if not rec.hint:  # SPEC.md 4 step 3: the hint MUST be non-empty
        raise RecordError("signature", "the bundle's publicKey.hint is empty: a record always names its key")
    key = ctx.any_version_keys.get(rec.hint)
    if key is None:
        raise RecordError("key-role", "key %s is in no keyring version" % rec.hint)
    verify_record(ctx, rec, key)
    allowed = allowed_roles(ctx, rec.kind)
    if not key.roles & allowed:
        raise RecordError("key-role", "key %s holds roles %s in the keyring; %s records need %s"
                          % (rec.hint, "/".join(sorted(key.roles)), rec.kind, " or ".join(sorted(allowed))))
    subject = manifest.get("subject")
    if rec.kind not in RUN_KINDS:
        if subject is not None:
            raise RecordError("subject", "a %s record manifest must have no OCI subject" % rec.kind)
        return rec.kind
    if not isinstance(subject, dict):
        raise RecordError("subject", "the run record's manifest has no OCI subject")
    root_hex = str(subject.get("digest"))[7:]
    if root_hex not in ctx.run_roots:
        raise RecordError("subject", "OCI subject %s is not a run root of the package" % subject.get("digest"))
    check_subject(rec, root_hex)
    if rec.predicate["runId"] != ctx.run_roots[root_hex]:
        raise RecordError("subject", "runId %r is not the run root's %r" % (rec.predicate["runId"], ctx.run_roots[root_hex]))
    return rec.kind


def expected_stream(rec):
    """SPEC.md 3.4: the stream a record's leaf must name (None: unknown)."""
    if rec.statement is None:
        return None
    if rec.kind in RUN_KINDS:
        return "sha256:" + rec.statement["subject"][0]["digest"]["sha256"]
    return {"time-evidence": "time-evidence", "export": "export", "export-sealed": "export"}.get(rec.kind)


def step_7_log(ctx):
    """Step 7: checkpoint by the keyring's log key; proofs.json; every inclusion
    proof; coverage. Returns False when later steps cannot run."""
    if not ctx.run(7, "checkpoint", lambda: open_package_checkpoint(ctx), "checkpoint"):
        return False  # failed or not checked: later steps cannot run
    check_anchors(ctx)
    entries = {}
    if not ctx.run(7, "inclusion", lambda: parse_proofs(ctx, entries), "proofs.json"):
        return False
    ctx.proof_entries = entries
    items = [(r.digest, expected_stream(r), None) for r in ctx.records]
    items += [(v["digest"], "keyring", v["version"] - 1) for v in ctx.keyring]
    for digest, stream, seq in items:
        ctx.run(7, "inclusion", lambda d=digest, s=stream, q=seq: check_inclusion(ctx, entries.get(d), d, s, q), digest)
    extra = sorted(set(entries) - set(d for d, _, _ in items))
    if extra:
        ctx.report(7, "inclusion", "fail", "proofs.json", "entries for things not in the package: %s" % ", ".join(extra))
    return True


class AnchorTools(object):
    """The primitives dossier_anchors needs, bound to this package's log key."""

    def __init__(self, ctx):
        self.ctx = ctx

    def open_note(self, note):
        if len(note) > 64 * 1024:
            raise Invalid("checkpoint larger than 64 KiB")
        return open_checkpoint(note, self.ctx.log_key, self.ctx.ssl)

    def consistency(self, size1, root1, size2, root2, path):
        verify_consistency(size1, root1, size2, root2, path)

    def ed25519(self, public, sig, message):
        return len(sig) == 64 and self.ctx.ssl.verify(PublicKey(ED25519_SPKI + public), sig, message)

    def ts_verify(self, tsr, data, root_pem, untrusted_pem, at):
        """openssl ts -verify: signature, imprint, chain to root_pem at `at` (Unix seconds)."""
        self.ctx.ssl.ts_verify(tsr, data, root_pem, untrusted_pem, at)


class AnchorReport(object):
    """Reports dossier_anchors' checks as step 7 checks of the result."""

    def __init__(self, ctx):
        self.ctx, self.value, self.passed = ctx, None, False

    def run(self, subject, cls, fn):
        self.passed, self.value = False, None
        try:
            self.value = fn()
            self.passed = True
            self.ctx.report(7, cls, "pass", subject)
        except dossier_anchors.AnchorError as err:
            self.fail(subject, err.cls, str(err), err.evidence)
        except (dossier_anchors.CannotRun, CannotCheck) as err:
            self.ctx.report(7, cls, "not-checked", subject, str(err))
        except Invalid as err:
            self.fail(subject, cls, str(err))
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:
            # input this check did not anticipate: never a pass
            self.ctx.report(7, cls, "not-checked", subject, "cannot check: %s %s" % (type(err).__name__, err))
        return self.passed

    def last_passed(self):
        return self.passed

    def note(self, subject, cls, message):
        self.ctx.report(7, cls, "pass", subject, message)

    def fail(self, subject, cls, message, evidence=None):
        self.ctx.report(7, cls, "fail", subject, message)
        if evidence is not None:  # SPEC.md 5 step 7.5: the fork evidence is printed
            self.ctx.failures[-1]["evidence"] = evidence
            self.ctx.checks[-1]["evidence"] = evidence


def check_anchors(ctx):
    """Step 7.5: anchors.json with the newest keyring version's anchor trust root."""
    data = ctx.layer(ANCHORS_LAYER, required=False)
    if data is None:
        return
    report, doc = AnchorReport(ctx), ctx.keyring[-1]["doc"]
    trust = {"logVKey": ctx.log_key.text, "witnesses": None,
             "tsas": dict((t["name"], t) for t in doc.get("timestampAuthorities", [])),
             "requireWitness": ctx.policy["anchors"] in ("witness", "both")}
    if "witnessPolicy" in doc and not report.run("witnessPolicy", "witness",
                                                 lambda: dossier_anchors.WitnessPolicy(doc["witnessPolicy"])):
        return
    trust["witnesses"] = report.value
    if not report.run("anchors.json", "checkpoint",
                      lambda: dossier_anchors.parse_anchors(strict_json(data, 4 * MIB, "anchors.json"))):
        return
    raw, entries = report.value, []
    package = (ctx.layer("application/vnd.dossier.checkpoint.v1"), ctx.checkpoint[1], ctx.checkpoint[2])
    for e in raw:
        if report.run("anchors.json", "checkpoint",
                      lambda: dossier_anchors.verify_entry(e, package, trust, AnchorTools(ctx), report)):
            entries.append(report.value)
    sizes = [e.size for e in entries]
    if any(a >= b for a, b in zip(sizes, sizes[1:])):  # SPEC.md Appendix A, P21
        report.fail("anchors.json", "checkpoint", "anchors.json entries are not sorted by strictly increasing size")
    report.run("anchors.json", "fork", lambda: dossier_anchors.check_pairs(entries, trust["logVKey"]))
    ctx.anchors = entries


def open_package_checkpoint(ctx):
    if ctx.log_key is None:
        raise Invalid("the newest keyring version has no single log key with a note verifier key")
    note = ctx.layer("application/vnd.dossier.checkpoint.v1")
    if len(note) > 64 * 1024:
        raise Invalid("checkpoint larger than 64 KiB")
    try:
        ctx.checkpoint = open_checkpoint(note, ctx.log_key, ctx.ssl)
    except UnicodeDecodeError:
        raise Invalid("checkpoint is not UTF-8")
    return "%s, size %d" % (ctx.checkpoint[0], ctx.checkpoint[1])


def parse_proofs(ctx, entries):
    """Step 7.2: proofs.json well formed, treeSize, strictly increasing indexes."""
    doc = strict_json(ctx.layer("application/vnd.dossier.proofs.v1+json"), 1 << 40, "proofs.json")
    members(doc, ["treeSize", "entries"], (), "proofs.json")
    if doc["treeSize"] != ctx.checkpoint[1] or not is_int(doc["treeSize"]):
        raise Invalid("proofs.json treeSize %r is not the checkpoint size %d" % (doc["treeSize"], ctx.checkpoint[1]))
    last = -1
    for e in doc["entries"]:
        members(e, ["digest", "index", "leaf", "hashes"], (), "proofs.json entry")
        if not is_int(e["index"]) or e["index"] <= last:
            raise Invalid("proofs.json entries are not sorted by strictly increasing index")
        if not DIGEST_RE.match(str(e["digest"])) or e["digest"] in entries:
            raise Invalid("proofs.json entry digest %r is malformed or repeated" % e["digest"])
        if not isinstance(e["hashes"], list) or len(e["hashes"]) > 64 or len(json.dumps(e)) > 64 * 1024:
            raise Invalid("proofs.json entry %s is too large (at most 64 hashes, 64 KiB)" % e["digest"])
        last = e["index"]
        entries[e["digest"]] = e


def check_inclusion(ctx, entry, digest, stream, seq):
    """Step 7.3-7.4: canonical leaf naming the digest and its stream; path to the root."""
    if entry is None:
        raise Invalid("proofs.json has no entry for %s" % digest)
    leaf_bytes = b64decode_strict(entry["leaf"], "leaf")
    leaf = parse_leaf(leaf_bytes)
    if leaf["bundle"] != digest:
        raise Invalid("the proof's leaf names bundle %s" % leaf["bundle"])
    if stream is not None and leaf["stream"] != stream:
        raise Invalid("the leaf's stream is %r, want %r" % (leaf["stream"], stream))
    if seq is not None and leaf["seq"] != seq:
        raise Invalid("keyring version %d is logged at seq %d, want %d" % (seq + 1, leaf["seq"], seq))
    path = [b64decode_strict(h, "proof hash") for h in entry["hashes"]]
    if any(len(h) != 32 for h in path):
        raise Invalid("a proof hash is not 32 bytes")
    if root_from_inclusion(entry["index"], ctx.checkpoint[1], leaf_hash(leaf_bytes), path) != ctx.checkpoint[2]:
        raise Invalid("the inclusion proof of leaf %d does not reach the checkpoint root" % entry["index"])
    ctx.leaves[digest] = (entry["index"], leaf)


def step_8_sequence(ctx):
    """Step 8: streams ordered by seq; run streams and the keyring stream complete."""
    streams = {}
    for index, leaf in ctx.leaves.values():
        streams.setdefault(leaf["stream"], []).append(leaf)
    unproven = set()  # streams with a record whose leaf is not proven: they cannot be judged
    for r in [r for r in ctx.records if r.digest not in ctx.leaves]:
        unproven.add(expected_stream(r))  # None: the record's stream is unknown
        if r.digest in ctx.proof_entries:
            unproven.add(claimed_stream(ctx.proof_entries[r.digest]) or expected_stream(r))
    if any(v["digest"] not in ctx.leaves for v in ctx.keyring):
        unproven.add("keyring")
    for name in sorted(streams):
        complete = name == "keyring" or name.startswith("sha256:")
        if complete and (name in unproven or None in unproven or ctx.unread_records):
            ctx.report(8, "sequence", "not-checked", name, "a record of this stream has no verified leaf")
        else:
            ctx.run(8, "sequence", lambda n=name, c=complete: check_stream(streams[n], n, c), name)
    for hexd, run_id in sorted(ctx.run_roots.items()):
        if "sha256:" + hexd not in streams and not unproven:
            ctx.report(8, "sequence", "fail", "sha256:" + hexd, "run %s has no logged record" % run_id)


def claimed_stream(entry):
    """The stream an unproven proof entry's leaf names, if it parses."""
    try:
        return parse_leaf(b64decode_strict(entry["leaf"], "leaf"))["stream"]
    except (Invalid, TypeError, KeyError):
        return None


def check_stream(leaves, name, complete):
    by_seq = sorted(leaves, key=lambda l: l["seq"])
    problems = []
    for before, leaf in zip(by_seq, by_seq[1:]):
        if leaf["seq"] == before["seq"]:
            problems.append("seq %d appears twice" % leaf["seq"])
        elif leaf["seq"] == before["seq"] + 1 and leaf["prev"] != before["bundle"]:
            problems.append("seq %d prev %s is not the bundle of seq %d" % (leaf["seq"], leaf["prev"], before["seq"]))
        elif leaf["seq"] > before["seq"] + 1 and complete:
            problems.append("gap: seq %d missing (next present is %d): records withheld" % (before["seq"] + 1, leaf["seq"]))
    if complete and by_seq[0]["seq"] != 0:
        problems.append("gap: seq 0 missing (first present is %d): records withheld" % by_seq[0]["seq"])
    if problems:
        raise Invalid("stream %s: %s" % (name, "; ".join(problems)))
    return "%d leaves" % len(by_seq)


def step_9_time(ctx):
    """Step 9: time verdicts by the policy, key validity by log position,
    time-evidence references, producer skew, creation time against --at."""
    ok = [r for r in ctx.records if r.ok]
    evidence = dict((r.digest, r) for r in ok if r.kind == "time-evidence")
    unsure = set(r.digest for r in ctx.records if r.status == "not-checked")
    for rec in ok:
        if rec.kind == "time-evidence":
            ctx.run(9, "time", lambda r=rec: check_time_verdict(r, ctx.policy), rec.digest)
        ctx.run(9, "key-validity", lambda r=rec: check_key_validity(ctx, r), rec.digest)
        ref = rec.predicate.get("timeEvidence")
        if isinstance(ref, dict):
            ctx.run(9, "time", lambda r=rec, d=ref["digest"]: check_time_ref(ctx, r, d, evidence, unsure), rec.digest)
    require = ctx.policy["anchors"]
    for rec in [r for r in ok if r.kind in RUN_KINDS or r.kind == "time-evidence"] if require != "none" else []:
        ctx.run(9, "time", lambda r=rec: check_anchored(ctx, r, require), rec.digest)
    if ctx.args.get("at"):
        def created():
            if parse_time(ctx.descriptor["created"]) > parse_time(ctx.args["at"]):
                raise Invalid("the package was created %s, after --at %s" % (ctx.descriptor["created"], ctx.args["at"]))
        ctx.run(9, "time", created, "created")


def check_anchored(ctx, rec, require):
    """Step 9.6: the record is anchored (step 7.5) as anchors.require demands."""
    if rec.digest not in ctx.leaves:
        raise CannotCheck("the record's log position is not proven")
    anchor = dossier_anchors.anchor_of(ctx.anchors, ctx.leaves[rec.digest][0])
    if not dossier_anchors.meets(anchor, require):
        raise Invalid("the record (log index %d) is not anchored as the policy's anchors.require %r demands (%s): "
                      "its time is only asserted by the operator" % (
                          ctx.leaves[rec.digest][0], require, ", ".join(anchor["by"]) or "no anchor"))
    return "anchored no later than %s by %s" % (dossier_anchors.ns_rfc3339(anchor["notAfter"]), ", ".join(anchor["by"]))


def check_time_verdict(rec, policy):
    verdict = rec.predicate["verdict"]
    if verdict == "untraceable":
        if not policy["time"]["acceptUntraceable"]:
            raise RecordError("time-untraceable", "time evidence is untraceable and the policy does not accept it")
    elif verdict not in policy["time"]["accept"]:
        raise Invalid("time evidence verdict %s is not accepted by the policy (%s)"
                      % (verdict, ", ".join(policy["time"]["accept"]) or "nothing"))
    return verdict


def check_key_validity(ctx, rec):
    """SPEC.md 3.11: valid by the newest keyring version logged before
    the record; compromise is never undone."""
    if rec.digest not in ctx.leaves or any(v["digest"] not in ctx.leaves for v in ctx.keyring):
        raise CannotCheck("the log positions of the record or of the keyring versions are not proven")
    index = ctx.leaves[rec.digest][0]
    before = [v for v in ctx.keyring if ctx.leaves[v["digest"]][0] < index]
    if not before:
        raise RecordError("key-validity", "no keyring version was logged before the record")
    newest = max(before, key=lambda v: ctx.leaves[v["digest"]][0])
    key, allowed = newest["keys"].get(rec.hint), allowed_roles(ctx, rec.kind)
    if key is None or not key.roles & allowed or key.revocation is not None:
        raise RecordError("key-validity", "key %s was not valid for %s records in keyring version %d, the newest "
                          "logged before the record" % (rec.hint, rec.kind, newest["version"]))
    for v in before:
        k = v["keys"].get(rec.hint)
        if k is not None and k.revocation is not None and k.revocation["reason"] == "compromised":
            raise RecordError("key-validity", "keyring version %d marked key %s compromised before the record"
                              % (v["version"], rec.hint))


def check_time_ref(ctx, rec, digest, evidence, unsure):
    """Step 9.3-9.4: cited evidence in the package, logged before, skew bound."""
    if digest in unsure:
        raise CannotCheck("the cited time evidence %s could not be verified" % digest)
    if digest not in evidence:
        raise Invalid("timeEvidence %s is not a verified time-evidence record of the package" % digest)
    if digest not in ctx.leaves or rec.digest not in ctx.leaves:
        raise CannotCheck("log positions not proven")
    if not ctx.leaves[digest][0] < ctx.leaves[rec.digest][0]:
        raise Invalid("timeEvidence %s is logged after the record" % digest)
    produced = parse_time(rec.predicate["producedAt"])
    checked = parse_time(evidence[digest].predicate["checkedAt"])
    limit = (checked[0] - ctx.policy["time"]["maxProducerSkewSeconds"], checked[1])
    if produced < limit:
        raise Invalid("producedAt %s is earlier than the cited evidence's checkedAt %s minus %ds"
                      % (rec.predicate["producedAt"], evidence[digest].predicate["checkedAt"],
                         ctx.policy["time"]["maxProducerSkewSeconds"]))


def step_10_export(ctx):
    """Step 10: the export record, logged, matches the package; descriptor and
    attestation agree."""
    ctx.run(10, "export", lambda: check_export(ctx), "export")


def check_export(ctx):
    if ctx.unread_records:
        raise CannotCheck("a record bundle could not be read")
    named = ctx.descriptor["exportRecord"]
    if ctx.unsure([r for r in ctx.records if r.digest == named]):
        raise CannotCheck("the export record could not be verified")
    found = [r for r in ctx.records if r.digest == named]
    if not found or not found[0].ok or found[0].kind != "export":
        raise Invalid("the descriptor's exportRecord %s is not a verified export record of the package" % named)
    exp = found[0]
    if exp.digest not in ctx.leaves:
        raise Invalid("the export record has no verified inclusion proof")
    listed = sorted(r.digest for r in ctx.records if r is not exp)
    want = {"recordListDigest": digest_of("".join(d + "\n" for d in listed).encode()), "recordCount": len(listed)}
    sources = [("export record", exp.predicate), ("package descriptor", ctx.descriptor)]
    if ctx.attestation is not None:
        sources.append(("package attestation", ctx.attestation.predicate))
    for what, values in sources:
        for field, value in want.items():
            if values[field] != value:
                raise Invalid("%s %s is %r; the package's %d records give %r" % (what, field, values[field], len(listed), value))
    if ctx.attestation is not None:
        att = ctx.attestation.predicate
        if att["exportRecord"] != named:
            raise Invalid("the attestation names export record %s" % att["exportRecord"])
        cp = {"size": ctx.checkpoint[1], "rootHash": base64.b64encode(ctx.checkpoint[2]).decode()}
        if att["checkpoint"] != cp:
            raise Invalid("the attestation's checkpoint %r is not the package checkpoint" % (att["checkpoint"],))
    return "%d records" % len(listed)


def step_11_policy(ctx):
    """Step 11: the applied policy per run (SPEC.md 3.14; a v2 policy's rules,
    spec/policy.md 3), on the records that passed step 6."""
    if ctx.unread_records or ctx.unsure(ctx.records):
        ctx.report(11, "policy", "not-checked", None, "a record could not be read or verified")
        return
    v2 = ctx.policy.get("runs") is not None or ctx.policy.get("releases") is not None
    if v2 and not ctx.log_positions_proven():
        ctx.report(11, "policy", "not-checked", None, "policy v2 rules need the log positions of step 7")
        return
    at = ctx.args.get("at") or ctx.descriptor["created"]
    for hexd, run_id in sorted(ctx.run_roots.items()):
        records = [policy_record(ctx, r) for r in ctx.records if r.ok and r.kind in RUN_KINDS
                   and r.statement["subject"][0]["digest"]["sha256"] == hexd]
        evaluation = dossier_policy.Evaluation(ctx.policy, records, lambda fp, i: key_view(ctx, fp, i, True),
                                               lambda fp, i: key_view(ctx, fp, i, False), at, False)
        try:
            results = evaluation.run()
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:
            ctx.report(11, "policy", "not-checked", "sha256:" + hexd, "run %s: cannot evaluate the policy: %s %s"
                       % (run_id, type(err).__name__, err))
            continue
        report_policy(ctx, "sha256:" + hexd, run_id, results)


def report_policy(ctx, run, run_id, results):
    for r in results:
        if r["status"] == "fail":
            subject = r["subject"] if DIGEST_RE.match(str(r["subject"])) else run
            ctx.report(11, "policy", "fail", subject, "run %s: %s" % (run_id, r["message"]))
            if not r.get("topLevel"):
                ctx.failures[-1]["rule"] = r["rule"]
                ctx.checks[-1]["rule"] = r["rule"]
    passed = [r for r in results if r["status"] != "fail"]
    if len(passed) == len(results):
        void = [r["message"] for r in results if r["status"] == "void"]
        ctx.report(11, "policy", "pass", run, "run %s: %d rule result(s) pass%s" % (
            run_id, len(results), "".join("; void: " + v for v in void)))


def policy_record(ctx, rec):
    index = ctx.leaves[rec.digest][0] if rec.digest in ctx.leaves else -1
    return {"digest": rec.digest, "kind": rec.kind, "index": index, "hint": rec.hint, "predicate": rec.predicate}


def key_view(ctx, fp, index, valid_only):
    """spec/policy.md 2: the key as the keyring version in force at a log index
    lists it (SPEC.md 3.11), or None; valid_only=False ignores revocations."""
    before = [v for v in ctx.keyring if ctx.leaves[v["digest"]][0] < index]
    if not before:
        return None
    newest = max(before, key=lambda v: ctx.leaves[v["digest"]][0])
    key = newest["keys"].get(fp)
    if key is None and not valid_only:
        key = next((v["keys"][fp] for v in reversed(before) if fp in v["keys"]), None)
    if key is None:
        return None
    if valid_only and (key.revocation is not None or any(
            v["keys"].get(fp) is not None and (v["keys"][fp].revocation or {}).get("reason") == "compromised"
            for v in before)):
        return None
    return {"roles": key.roles, "personId": key.owner["personId"], "team": key.owner["team"],
            "material": key.material()}


def step_12_consistency(ctx):
    """Step 12: ledger heads consistent with the checkpoint; the trusted head."""
    heads = []
    ledger_ok = ctx.run(12, "consistency", lambda: check_ledger(ctx, heads), "ledger.json")
    if ctx.args.get("trusted-head") is not None:
        ctx.run(12, "consistency", lambda: check_trusted_head(ctx, heads, ledger_ok), "trusted-head")


def check_ledger(ctx, heads):
    size, root = ctx.checkpoint[1], ctx.checkpoint[2]
    doc = strict_json(ctx.layer("application/vnd.dossier.ledger.v1+json"), 64 * MIB, "ledger.json")
    last = -1
    for h in members(doc, ["heads"], (), "ledger.json")["heads"]:
        members(h, ["export", "package", "size", "rootHash", "consistency"], (), "ledger head")
        if not is_int(h["size"]) or not last < h["size"] < size:
            raise Invalid("ledger head size %r: sizes must increase and stay below the checkpoint size %d" % (h["size"], size))
        last = h["size"]
        head_root = b64decode_strict(h["rootHash"], "ledger head rootHash")
        if len(head_root) != 32:
            raise Invalid("ledger head rootHash is not 32 bytes")
        proof = [b64decode_strict(c, "consistency hash") for c in h["consistency"]]
        if len(proof) > 64 or any(len(c) != 32 for c in proof):
            raise Invalid("ledger head consistency proof is malformed")
        verify_consistency(h["size"], head_root, size, root, proof)
        heads.append((h["size"], head_root))
    return "%d ledger head(s) consistent with the checkpoint" % len(heads)


def check_trusted_head(ctx, heads, ledger_ok):
    size, root = ctx.checkpoint[1], ctx.checkpoint[2]
    try:
        _, tsize, troot = open_checkpoint(ctx.args["trusted-head"], ctx.log_key, ctx.ssl)
    except UnicodeDecodeError:
        raise Invalid("the trusted head is not UTF-8")
    if tsize > size:
        raise Invalid("rollback: the trusted head (size %d) is larger than the package checkpoint (%d)" % (tsize, size))
    if tsize == size:
        if troot != root:
            raise Invalid("fork: the trusted head and the package checkpoint differ at size %d" % size)
        return "the trusted head is the package checkpoint"
    if not ledger_ok:
        raise CannotCheck("the ledger is not verified")
    match = [r for s, r in heads if s == tsize]
    if not match:
        raise CannotCheck("no ledger head of the trusted head's size %d: consistency cannot be checked offline" % tsize)
    if match[0] != troot:
        raise Invalid("fork: the trusted head differs from the ledger head at size %d" % tsize)
    return "the trusted head is a ledger head proven consistent"


# ---------------------------------------------------------------- policy
# SPEC.md 3.14: the auditor's policy, or the default tightened by the proposal.

DEFAULT_POLICY = {"mediaType": dossier_policy.POLICY_V1,
                  "time": {"accept": ["good"], "acceptUntraceable": False, "maxProducerSkewSeconds": 300},
                  "requiredKinds": ["run-closed"], "runs": None, "releases": None, "anchors": "none"}


def parse_policy(data):
    """A v1 or v2 policy document (SPEC.md 3.14, spec/policy.md 1), normalised."""
    try:
        return dossier_policy.parse_policy_doc(strict_json(data, MIB, "policy", 8), RUN_KINDS | LOG_KINDS)
    except dossier_policy.PolicyError as err:
        raise Invalid(str(err))


def tighten(default, proposal):
    return dossier_policy.tighten(default, proposal)


def apply_policy(ctx):
    """Set ctx.policy; a malformed proposal is a step-11 `policy` failure."""
    if ctx.args.get("policy") is not None:
        ctx.policy, ctx.policy_source = ctx.args["policy"], "auditor"
        return
    ctx.policy, ctx.policy_source = DEFAULT_POLICY, "package"
    try:
        for media_type in POLICY_LAYERS:
            data = ctx.layer(media_type, required=False)
            if data is not None:
                proposal = parse_policy(data)
                if proposal["mediaType"] != media_type:
                    raise Invalid("the policy.json layer's media type %s is not its document's %s"
                                  % (media_type, proposal["mediaType"]))
                ctx.policy = tighten(DEFAULT_POLICY, proposal)
    except (Invalid, CannotCheck) as err:
        ctx.report(11, "policy", "fail", "policy.json", "the package's policy proposal is malformed: %s" % err)


# ---------------------------------------------------------------- the algorithm

def verify(args, data):
    """SPEC.md 5: every step, with the dependencies of "Reporting"."""
    ctx = Context(args)
    try:
        run_steps(ctx, data)
    finally:
        ctx.ssl.close()
    return ctx


def run_steps(ctx, data):
    step_1_tar(ctx, data)
    if ctx.blocked(1):
        return ctx.skip(range(2, 13), "step 1 (tar) did not pass")
    step_2_layout(ctx)
    if ctx.blocked(2):
        return ctx.skip(range(3, 13), "step 2 (layout) did not pass")
    step_3_index(ctx)
    if ctx.blocked(3, ignore=("human-copy",)):
        return ctx.skip(range(4, 13), "step 3 (index) did not pass")
    step_4_keyring(ctx)
    if ctx.blocked(4):
        return ctx.skip(range(5, 13), "step 4 (keyring) did not pass")
    step_5_package_signature(ctx)
    step_6_records(ctx)
    check_review_documents(ctx)
    apply_policy(ctx)
    log_ok = step_7_log(ctx)
    if log_ok:
        step_8_sequence(ctx)
        step_9_time(ctx)
        step_10_export(ctx)
    else:
        ctx.skip((8, 9, 10), "the checkpoint or proofs.json (step 7) did not pass")
    step_11_policy(ctx)
    if log_ok:
        step_12_consistency(ctx)
    else:
        ctx.skip((12,), "the checkpoint or proofs.json (step 7) did not pass")
    if ctx.schemas.error:
        ctx.report(6, "predicate", "not-checked", None, ctx.schemas.error)


# ---------------------------------------------------------------- command line
# SPEC.md 7: the conformance CLI protocol.

USAGE = ("usage: dossier_verify.py [--json] --root-fingerprint SHA256:<hex> [--policy FILE] "
         "[--trusted-head FILE] [--at RFC3339] PACKAGE.tar")


class UsageError(Exception):
    pass


def parse_args(argv):
    args, rest, i = {"json": False}, [], 0
    while i < len(argv):
        a = argv[i]
        name, eq, value = a[2:].partition("=") if a.startswith("--") else ("", "", "")
        if name == "json" and not eq:
            args["json"] = True
        elif name in ("root-fingerprint", "policy", "trusted-head", "at"):
            if not eq:
                i += 1
                if i == len(argv):
                    raise UsageError("--%s needs a value" % name)
                value = argv[i]
            args[name] = value
        elif a.startswith("-") and a != "-":
            raise UsageError("unknown flag %s" % a)
        else:
            rest.append(a)
        i += 1
    if len(rest) != 1:
        raise UsageError("exactly one PACKAGE.tar is required")
    pin = args.get("root-fingerprint")
    if pin is None or not PIN_RE.match(pin):
        raise UsageError("--root-fingerprint must be SHA256: followed by 64 lowercase hex digits")
    if "at" in args:
        try:
            parse_time(args["at"])
        except Invalid as err:
            raise UsageError("--at: %s" % err)
    args["package"] = rest[0]
    return args


def read_trust_file(path, what):
    """The auditor's --policy or --trusted-head file: unreadable or over 1 MiB is usage."""
    try:
        with open(path, "rb") as f:
            data = f.read(MIB + 1)
    except (OSError, IOError) as err:
        raise UsageError("%s: %s" % (what, err))
    if len(data) > MIB:
        raise UsageError("%s: larger than 1 MiB" % what)
    return data


def read_inputs(args):
    """The auditor's files (usage errors), then the package (I/O: inconclusive)."""
    if args.get("policy") is not None:
        try:
            args["policy"] = parse_policy(read_trust_file(args["policy"], "--policy"))
        except Invalid as err:
            raise UsageError("--policy: %s" % err)
    if args.get("trusted-head") is not None:
        args["trusted-head"] = read_trust_file(args["trusted-head"], "--trusted-head")
    with open(args["package"], "rb") as f:
        return f.read()


def result_document(outcome, failures, checks, extra=None):
    doc = {"mediaType": RESULT_MEDIA_TYPE, "outcome": outcome,
           "failures": sorted(failures, key=lambda f: float(f["step"])), "checks": checks}
    doc.update(extra or {})
    return doc


def summary(ctx):
    s = {"verifier": "dossier_verify.py (independent Python verifier, stdlib + openssl)",
         "policySource": ctx.policy_source, "signatureChecks": ctx.ssl.count,
         "verified": [], "asserted": ["producer identities and producedAt times, licences, metrics and time verdicts "
                                      "are statements of their signers"],
         "notChecked": ["time-evidence verdicts are taken as signed, not recomputed (SPEC.md 3.10)",
                        "validFrom/validUntil of keys (informational in v0.2.0)",
                        "rfc3161 timestamps in bundles (not verified in v0.2.0)",
                        "OCI annotations other than ref names (unsigned, informational: SPEC.md 3.7)"]}
    if ctx.descriptor is not None:
        s["packageId"], s["created"] = ctx.descriptor["packageId"], ctx.descriptor["created"]
    if ctx.args.get("at"):
        s["at"] = ctx.args["at"]
    if ctx.checkpoint is not None:
        s["checkpoint"] = {"origin": ctx.checkpoint[0], "size": ctx.checkpoint[1],
                           "rootHash": base64.b64encode(ctx.checkpoint[2]).decode()}
    if ctx.checkpoint is not None and ctx.leaves:
        s["anchors"] = record_anchors(ctx)
    if ctx.policy is not None and ctx.policy["time"]["acceptUntraceable"]:
        s["asserted"].append("untraceable time is accepted: such times are the operator's clock only")
    if ctx.outcome()[0] == "verified":
        s["verified"].append("every record was signed by a key the pinned keyring authorised for its kind at its "
                             "log position, is included in the signed checkpoint, and no run record was withheld")
    return s


def record_anchors(ctx):
    """SPEC.md 5 step 7.5, result schema summary.anchors: per record, anchored
    (no later than, by what) or asserted by the operator; fork evidence."""
    records = []
    for rec in sorted(ctx.records, key=lambda r: ctx.leaves.get(r.digest, (-1,))[0]):
        if rec.digest not in ctx.leaves or not (rec.kind in RUN_KINDS or rec.kind == "time-evidence"):
            continue  # spec/anchors.md 4: run records and time evidence are listed
        index = ctx.leaves[rec.digest][0]
        a = dossier_anchors.anchor_of(ctx.anchors, index)
        entry = {"digest": rec.digest, "index": index, "status": "asserted"}
        if a["notAfter"] is not None:
            entry.update(status="anchored", notAfter=dossier_anchors.ns_rfc3339(a["notAfter"]), by=a["by"])
        records.append(entry)
    out = {"entries": len(ctx.anchors), "anchored": sum(1 for r in records if r["status"] == "anchored"),
           "asserted": sum(1 for r in records if r["status"] == "asserted"), "records": records}
    forks = [f["evidence"] for f in ctx.failures if "evidence" in f]
    if forks:
        out["forkEvidence"] = forks[0]
    return out


def emit(doc, as_json):
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
        return
    sys.stdout.write("%s\n" % doc["outcome"])
    for f in doc["failures"]:
        sys.stdout.write("  FAIL step %s %s: %s\n" % (f["step"], f["class"], f["message"]))
    for c in doc["checks"]:
        if c["status"] == "not-checked":
            sys.stdout.write("  NOT CHECKED step %s %s: %s\n" % (c["step"], c["class"], c.get("message", "")))
    for name in ("verified", "asserted", "notChecked"):
        for line in doc.get("summary", {}).get(name, []):
            sys.stdout.write("  %s: %s\n" % (name, line))


def main(argv):
    as_json = "--json" in argv
    try:
        args = parse_args(argv)
        data = read_inputs(args)
    except UsageError as err:  # SPEC.md 7: a usage error need not print a document
        sys.stderr.write("dossier_verify.py: %s\n%s\n" % (err, USAGE))
        return 2
    except (OSError, IOError) as err:  # SPEC.md 6: class io, step 1, inconclusive
        io = {"step": "1", "class": "io", "message": "cannot read the package: %s" % err}
        emit(result_document("inconclusive", [io], [dict(io, status="not-checked")]), as_json)
        return 3
    try:
        ctx = verify(args, data)
    except Exception as err:  # a bug or an unforeseen input: never "verified"
        emit(result_document("inconclusive", [], [{"step": "1", "class": "io", "status": "not-checked",
                                                    "message": "verifier error: %r" % err}]), as_json)
        return 3
    outcome, code = ctx.outcome()
    emit(result_document(outcome, ctx.failures, ctx.checks, {"summary": summary(ctx)}), as_json)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
