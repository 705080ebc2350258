"""dossier_anchors.py - RFC 3161 tokens, witness cosignatures and fork
evidence over checkpoints (SPEC.md 3.11 "Anchor trust root", 5 step 7.5 and
9.6; spec/anchors.md 1-4), for the independent Python verifier.

Written from the specification only. Cryptography is the openssl command's
(`openssl ts -verify` for tokens, Ed25519 through the verifier's `tools`);
this module parses DER and the C2SP texts and applies the rules. Whatever it
cannot run raises CannotRun: the verifier then reports not-checked, never a
pass.
"""

import base64
import calendar
import hashlib
import re
import time as _time

COSIG_TYPE = b"\x04"       # C2SP tlog-cosignature v1 (Ed25519 with timestamp)
MAX_TSR = 64 * 1024
NS = 10 ** 9


class AnchorError(Exception):
    """A check failed: cls is the SPEC.md 8 failure class."""

    def __init__(self, cls, message, evidence=None):
        Exception.__init__(self, message)
        self.cls, self.evidence = cls, evidence


class CannotRun(Exception):
    """This verifier cannot run the check (the result becomes inconclusive)."""


def b64(text, cls, what):
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text) or len(text) % 4:
        raise AnchorError(cls, "%s is not standard padded base64" % what)
    return base64.b64decode(text)


def rfc3339_ns(text):
    """An RFC 3339 UTC time (SPEC.md 1) as integer nanoseconds since the epoch."""
    m = re.fullmatch(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?Z", str(text))
    if not m:
        raise ValueError("%r is not an RFC 3339 UTC time" % (text,))
    secs = calendar.timegm(_time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return secs * NS + int(((m.group(2) or ".")[1:] + "000000000")[:9])


def ns_rfc3339(ns):
    secs, frac = divmod(ns, NS)
    text = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(secs))
    return text + ("." + ("%09d" % frac).rstrip("0") if frac else "") + "Z"


# ---------------------------------------------------------------- DER (RFC 3161 structures)

def der_read(data, pos=0):
    """One DER TLV at pos -> (tag, content bytes, next pos). Definite, minimal lengths only."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, first, pos = data[pos], data[pos + 1], pos + 2
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte DER tags are not used here")
    if first < 0x80:
        n = first
    else:
        k = first & 0x7F
        if k == 0 or k > 4 or pos + k > len(data) or data[pos] == 0:
            raise ValueError("DER length is not definite and minimal")
        n = int.from_bytes(data[pos:pos + k], "big")
        if n < 0x80:
            raise ValueError("DER length is not minimal")
        pos += k
    if pos + n > len(data):
        raise ValueError("truncated DER")
    return tag, data[pos:pos + n], pos + n


def der_items(content):
    items, pos = [], 0
    while pos < len(content):
        tag, value, pos = der_read(content, pos)
        items.append((tag, value))
    return items


def der_int(value):
    return int.from_bytes(value, "big", signed=True)


def der_oid(value):
    arcs, n = [], 0
    for b in value:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(n)
            n = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


def parse_tsr(tsr):
    """RFC 3161 TimeStampResp -> {status, policy, genTime (ns), accuracy (ns)}.
    spec/anchors.md 1 verification item 1 (malformed) and the TSTInfo fields."""
    try:
        tag, resp, end = der_read(tsr)
        if tag != 0x30 or end != len(tsr):
            raise ValueError("not one DER SEQUENCE without trailing bytes")
        parts = der_items(resp)
        status = der_int(der_items(parts[0][1])[0][1])
        if status not in (0, 1):
            raise ValueError("status %d is neither granted nor grantedWithMods" % status)
        if len(parts) < 2:
            raise ValueError("no time-stamp token")
        content_info = der_items(parts[1][1])              # ContentInfo
        signed_data = der_items(der_items(content_info[1][1])[0][1])
        encap = der_items(signed_data[2][1])                 # encapContentInfo
        tst = der_items(der_read(der_items(encap[1][1])[0][1])[1])
        fields = tst_fields(tst, status)
        fields["signer"], fields["certs"] = signer_id(signed_data)
        if not any(cert_matches(c, fields["signer"]) for c in fields["certs"]):
            raise ValueError("the token does not carry the certificate its SignerInfo names")
        return fields
    except (ValueError, IndexError) as err:
        raise AnchorError("tsa", "the token is not a well-formed RFC 3161 TimeStampResp: %s" % err)


def tst_fields(tst, status):
    if tst[1][0] != 0x06 or tst[4][0] != 0x18:
        raise ValueError("TSTInfo has no policy or genTime")
    gen = tst[4][1].decode("ascii")
    m = re.fullmatch(r"([0-9]{14})(\.[0-9]*[1-9])?Z", gen)
    if not m:
        raise ValueError("genTime %r is not a DER GeneralizedTime" % gen)
    secs = calendar.timegm(_time.strptime(m.group(1), "%Y%m%d%H%M%S"))
    gen_ns = secs * NS + int(((m.group(2) or ".")[1:] + "000000000")[:9])
    accuracy = 0
    if len(tst) > 5 and tst[5][0] == 0x30:
        for tag, value in der_items(tst[5][1]):
            unit = {0x02: NS, 0x80: NS // 1000, 0x81: 1000}.get(tag)
            if unit is None:
                raise ValueError("accuracy member with tag 0x%02x" % tag)
            accuracy += der_int(value) * unit
    return {"status": status, "policy": der_oid(tst[1][1]), "genTime": gen_ns, "accuracy": accuracy}


def signer_id(signed_data):
    """The (issuer, serial) DER pair the token's SignerInfo names its signer by,
    and the certificates the token carries."""
    certs = [v for t, v in signed_data if t == 0xA0]
    signer = der_items(der_items(signed_data[-1][1])[0][1])       # signerInfos[0]
    if not certs or signer[1][0] != 0x30:
        raise ValueError("the token carries no certificates (certReq) or names its signer by key id")
    issuer, serial = der_items(signer[1][1])
    return (issuer, serial), [der_read(c)[1] for c in split_der(certs[0])]


def split_der(content):
    """The complete TLVs (tag, length and value) in content."""
    out, pos = [], 0
    while pos < len(content):
        _, _, end = der_read(content, pos)
        out.append(content[pos:end])
        pos = end
    return out


def cert_matches(cert, sid):
    """Whether a certificate's content (inside its SEQUENCE) has the issuer and serial sid."""
    tbs = der_items(der_items(cert)[0][1])
    off = 1 if tbs[0][0] == 0xA0 else 0
    return tbs[off] == sid[1] and tbs[off + 2] == sid[0]


def cert_is_ca(cert):
    """basicConstraints cA TRUE in a certificate's content (spec/anchors.md 1 step 5)."""
    tbs = der_items(der_items(cert)[0][1])
    for tag, value in tbs:
        if tag != 0xA3:
            continue
        for _, ext in der_items(der_items(value)[0][1]):
            e = der_items(ext)
            if der_oid(e[0][1]) == "2.5.29.19":
                bc = der_items(der_items(e[-1][1])[0][1])
                return bool(bc) and bc[0][0] == 0x01 and bc[0][1] != b"\x00"
    return False


def cert_validity(cert):
    """A certificate content's (notBefore, notAfter) in Unix ns."""
    tbs = der_items(der_items(cert)[0][1])
    off = 1 if tbs[0][0] == 0xA0 else 0
    out = []
    for tag, value in der_items(tbs[off + 3][1]):
        text = value.decode("ascii")
        if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ (RFC 5280: 50-99 are 19xx)
            text = ("19" if int(text[:2]) >= 50 else "20") + text
        elif tag != 0x18:
            raise ValueError("certificate validity is not UTCTime or GeneralizedTime")
        if not re.fullmatch(r"[0-9]{14}Z", text):
            raise ValueError("certificate time %r" % text)
        t = tuple(int(text[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)))
        out.append(calendar.timegm(t + (0, 0, 0)) * NS)
    return tuple(out)


def pem_certs(chain):
    """The DER contents of a PEM chain's certificates."""
    out = []
    for block in split_pem(chain):
        body = "".join(block.strip().split("\n")[1:-1])
        out.append(der_read(base64.b64decode(body))[1])
    return out


def split_pem(chain):
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?", chain)
    if not blocks:
        raise AnchorError("tsa", "the trust root's chainPem holds no CERTIFICATE block")
    return [b if b.endswith("\n") else b + "\n" for b in blocks]


def verify_token(tsa, response, checkpoint, tools):
    """spec/anchors.md 1 steps 1-6 for one token of a trust-root TSA.
    Returns the anchor time genTime + accuracy (ns)."""
    tsr = b64(response, "tsa", "timestamps[].response")
    if len(tsr) > MAX_TSR:
        raise AnchorError("tsa", "token larger than 64 KiB")
    info = parse_tsr(tsr)
    try:  # the signer as the token carries it and as the trust root's chain does (openssl prefers the latter)
        signers = [c for c in info["certs"] + pem_certs(tsa["chainPem"]) if cert_matches(c, info["signer"])]
        if any(cert_is_ca(c) for c in signers):
            raise AnchorError("tsa", "the token's signer certificate is a CA (basicConstraints cA TRUE)")
    except (ValueError, IndexError) as err:
        raise AnchorError("tsa", "a certificate of the token or of the trust root's chain is malformed: %s" % err)
    if "policy" in tsa and info["policy"] != tsa["policy"]:
        raise AnchorError("tsa", "token policy %s is not the trust root's %s" % (info["policy"], tsa["policy"]))
    low, high = info["genTime"] - info["accuracy"], info["genTime"] + info["accuracy"]
    if low < rfc3339_ns(tsa["validFrom"]) or high > rfc3339_ns(tsa["validUntil"]):
        raise AnchorError("tsa", "genTime %s +/- %d ns lies outside the trust root's validity of TSA %s (%s .. %s)" % (
            ns_rfc3339(info["genTime"]), info["accuracy"], tsa["name"], tsa["validFrom"], tsa["validUntil"]))
    try:  # SPEC.md Appendix A, P25: the signer certificate over the whole interval
        for c in signers:
            not_before, not_after = cert_validity(c)
            if low < not_before or high > not_after:
                raise AnchorError("tsa", "genTime %s +/- %d ns lies outside the signer certificate's validity" % (
                    ns_rfc3339(info["genTime"]), info["accuracy"]))
    except (ValueError, IndexError) as err:
        raise AnchorError("tsa", "the signer certificate's validity is malformed: %s" % err)
    certs = split_pem(tsa["chainPem"])
    # openssl checks the signature, the imprint over the exact bytes, the
    # chain to the trust root's last certificate and the critical sole
    # timeStamping EKU, with every certificate valid at genTime (whole
    # seconds: -attime takes no fraction).
    tools.ts_verify(tsr, checkpoint, certs[-1], "".join(certs[:-1]), info["genTime"] // NS)
    return high


# ---------------------------------------------------------------- C2SP tlog-policy and cosignatures

class WitnessPolicy(object):
    """C2SP tlog-policy text, parsed strictly (spec/anchors.md 2 "Policy")."""

    def __init__(self, text):
        self.logs, self.witnesses, self.groups, self.quorum = [], {}, {}, None
        keys = set()
        for raw in text.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            self.line(line.split(), keys)
        if not self.logs or self.quorum is None:
            raise AnchorError("witness", "witnessPolicy needs a log line and exactly one quorum line")

    def line(self, f, keys):
        names = set(self.witnesses) | set(self.groups)
        if f[0] == "log" and len(f) in (2, 3):
            self.logs.append(f[1])
        elif f[0] == "witness" and len(f) in (3, 4) and f[1] not in names | {"none"}:
            key = witness_key(f[2])
            if key["raw"] in keys:
                raise AnchorError("witness", "witnessPolicy lists one witness key twice")
            keys.add(key["raw"])
            self.witnesses[f[1]] = key
        elif f[0] == "group" and len(f) >= 4 and f[1] not in names | {"none"} and set(f[3:]) <= names \
                and len(set(f[3:])) == len(f[3:]):
            k = {"all": len(f) - 3, "any": 1}.get(f[2])
            if k is None and (not re.fullmatch(r"[1-9][0-9]*", f[2]) or int(f[2]) > len(f) - 3):
                raise AnchorError("witness", "witnessPolicy group %s threshold %r" % (f[1], f[2]))
            self.groups[f[1]] = (k or int(f[2]), f[3:])
        elif f[0] == "quorum" and len(f) == 2 and self.quorum is None and (f[1] in names or f[1] == "none"):
            self.quorum = f[1]
        else:
            raise AnchorError("witness", "witnessPolicy line %r is malformed or uses an undefined name" % " ".join(f))

    def satisfied(self, signed, name=None):
        name = self.quorum if name is None else name
        if name == "none":
            return True
        if name in self.witnesses:
            return name in signed
        k, members = self.groups[name]
        return sum(1 for m in members if self.satisfied(signed, m)) >= k


def witness_key(vkey):
    parts = vkey.split("+", 2)
    if len(parts) != 3 or not parts[0] or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        raise AnchorError("witness", "witness key %r is not <name>+<8 hex>+<base64>" % vkey)
    raw = b64(parts[2], "witness", "witness key")
    if len(raw) != 33 or raw[:1] != COSIG_TYPE:
        raise AnchorError("witness", "witness key %r is not a cosignature/v1 (0x04) Ed25519 key" % parts[0])
    if hashlib.sha256(parts[0].encode() + b"\n" + raw).digest()[:4].hex() != parts[1]:
        raise AnchorError("witness", "witness key %r: key id does not match the key" % parts[0])
    return {"name": parts[0], "id": bytes.fromhex(parts[1]), "public": raw[1:], "raw": raw}


def verify_cosignatures(text, checkpoint, policy, tools):
    """spec/anchors.md 2 "Verification": every line by a policy witness must
    verify; unknown keys are ignored. Returns ({witness: time}, ignored)."""
    if not isinstance(text, str) or (text and not text.endswith("\n")):
        raise AnchorError("witness", "cosignatures is not newline-terminated text")
    body = checkpoint.decode("utf-8").partition("\n\n")[0] + "\n"
    by_key = dict(((w["name"], w["id"]), n) for n, w in (policy.witnesses.items() if policy else []))
    times, ignored = {}, 0
    for line in text.split("\n")[:-1] if text else []:
        m = re.fullmatch(u"\u2014 (\\S+) ([A-Za-z0-9+/=]+)", line)
        if not m:
            raise AnchorError("witness", "malformed cosignature line %r" % line)
        raw = b64(m.group(2), "witness", "cosignature")
        name = by_key.get((m.group(1), raw[:4]))
        if name is None:
            ignored += 1
            continue
        if len(raw) != 76:
            raise AnchorError("witness", "cosignature by %s is not keyid, timestamp and Ed25519 signature" % name)
        t = int.from_bytes(raw[4:12], "big")
        message = b"cosignature/v1\ntime %d\n" % t + body.encode("utf-8")
        if not tools.ed25519(policy.witnesses[name]["public"], raw[12:], message):
            raise AnchorError("witness", "the cosignature by policy witness %s does not verify (forged)" % name)
        times[name] = min(t, times.get(name, t))
    return times, ignored


def anchored_at(policy, times):
    """The earliest cosignature time at which the quorum was met (ns), or None."""
    if policy is None or policy.quorum == "none":
        return None
    signed = set()
    for name, t in sorted(times.items(), key=lambda kv: kv[1]):
        signed.add(name)
        if policy.satisfied(signed):
            return t * NS
    return None


# ---------------------------------------------------------------- anchors.json (spec/anchors.md 4)

def parse_anchors(data):
    """The anchors.json layer, strict (the verifier parsed the JSON). Its
    shape, encodings and limits are class checkpoint (SPEC.md Appendix A,
    P19); a token that decodes but is no valid TimeStampResp is tsa."""
    if not isinstance(data, dict) or set(data) != {"anchors"} or not isinstance(data["anchors"], list):
        raise AnchorError("checkpoint", "anchors.json is not {\"anchors\":[...]}")
    if len(data["anchors"]) > 1024:
        raise AnchorError("checkpoint", "anchors.json has more than 1024 entries")
    for e in data["anchors"]:
        if not isinstance(e, dict) or set(e) != {"checkpoint", "consistency", "timestamps", "cosignatures"}:
            raise AnchorError("checkpoint", "an anchors.json entry does not have exactly checkpoint, consistency, "
                              "timestamps and cosignatures")
        if not isinstance(e["consistency"], list) or len(e["consistency"]) > 64 or not isinstance(e["timestamps"], list) \
                or len(e["timestamps"]) > 16:
            raise AnchorError("checkpoint", "an anchors.json entry's consistency or timestamps is not a list "
                              "(at most 64 hashes, 16 tokens)")
        if any(len(b64(h, "checkpoint", "consistency hash")) != 32 for h in e["consistency"]):
            raise AnchorError("checkpoint", "a consistency hash is not 32 bytes")
        cos = e["cosignatures"]
        if not isinstance(cos, str) or len(cos.encode("utf-8")) > 16384 or (cos and not cos.endswith("\n")):
            raise AnchorError("checkpoint", "an entry's cosignatures are not whole lines of at most 16 KiB")
        for t in e["timestamps"]:
            if not isinstance(t, dict) or set(t) != {"tsa", "response"} or not isinstance(t["tsa"], str) \
                    or not 0 < len(t["tsa"].encode("utf-8")) <= 256 or not b64(t["response"], "checkpoint", "response"):
                raise AnchorError("checkpoint", "a timestamps entry does not have exactly a tsa name and a response")
    return data["anchors"]


class Entry(object):
    def __init__(self, note):
        self.note, self.size, self.root = note, None, None
        self.ok = False                 # opened with the log key and consistent with the package checkpoint
        self.tsa = {}                   # trust-root TSA name -> anchor time (ns) of a verified token
        self.witness = None             # time the witness quorum was met (ns)


def fork_evidence(kind, log_vkey, detail, small, large, proof_old, hashes):
    """spec/anchors.md 3: the dossier.dev/fork-evidence/v1 document."""
    return {"type": "dossier.dev/fork-evidence/v1", "kind": kind, "log": log_vkey, "detail": detail,
            "checkpoints": [small.decode("utf-8", "replace"), large.decode("utf-8", "replace")],
            "proofOld": proof_old, "proofHashes": [h.hex() for h in hashes]}


def check_consistency(entry, hashes, package, log_vkey, tools):
    """The entry's checkpoint is a prefix of the package checkpoint (else fork)."""
    note, size, root = package
    if entry.size > size:
        raise AnchorError("checkpoint", "anchored checkpoint of size %d is larger than the package checkpoint (%d)"
                          % (entry.size, size))
    if entry.size == size and entry.root != root:
        raise AnchorError("fork", "split view: two log-signed checkpoints of size %d with different roots" % size,
                          fork_evidence("same-size-different-root", log_vkey, "same size, two roots",
                                        entry.note, note, size, []))
    try:
        tools.consistency(entry.size, entry.root, size, root, hashes)
    except Exception as err:  # the verifier's Invalid: the proof does not verify
        raise AnchorError("fork", "the consistency proof from the anchored checkpoint (size %d) to the package "
                          "checkpoint (size %d) fails: %s" % (entry.size, size, err),
                          fork_evidence("consistency-proof-fails", log_vkey, str(err), entry.note, note,
                                        entry.size, hashes))


def verify_entry(e, package, trust, tools, report):
    """One anchors.json entry: open, consistency, tokens, cosignatures."""
    entry = Entry(b64(e["checkpoint"], "checkpoint", "anchors checkpoint"))
    subject = "anchors[size %s]"
    try:
        _, entry.size, entry.root = tools.open_note(entry.note)
    except AnchorError:
        raise
    except Exception as err:
        raise AnchorError("checkpoint", "an anchored checkpoint does not open with the log key: %s" % err)
    subject = subject % entry.size
    hashes = [b64(h, "fork", "consistency hash") for h in e["consistency"]]
    if any(len(h) != 32 for h in hashes):
        raise AnchorError("fork", "a consistency hash is not 32 bytes")
    report.run(subject, "fork", lambda: check_consistency(entry, hashes, package, trust["logVKey"], tools))
    entry.ok = report.last_passed()
    for t in e["timestamps"]:
        tsa = trust["tsas"].get(t["tsa"])
        if tsa is None:
            report.note(subject, "tsa", "token of TSA %r ignored: the trust root does not name it" % t["tsa"])
            continue
        if report.run(subject, "tsa", lambda: verify_token(tsa, t["response"], entry.note, tools)):
            entry.tsa[t["tsa"]] = report.value
    if report.run(subject, "witness", lambda: verify_cosignatures(e["cosignatures"], entry.note,
                                                                  trust["witnesses"], tools)):
        times, ignored = report.value
        entry.witness = anchored_at(trust["witnesses"], times)
        quorum_none = trust["witnesses"] is not None and trust["witnesses"].quorum == "none"
        if entry.witness is None and trust["requireWitness"] and not quorum_none:  # none: met, anchors nothing (P24)
            report.fail(subject, "witness", "the witness quorum is not met (%d valid policy cosignature(s), %d line(s) "
                        "by unknown keys ignored) and the policy requires witnesses" % (len(times), ignored))
    return entry


def check_pairs(entries, log_vkey):
    """Two anchored checkpoints of one size with two roots are fork evidence."""
    by_size = {}
    for e in entries:
        other = by_size.setdefault(e.size, e)
        if other.root != e.root:
            raise AnchorError("fork", "split view: two anchored checkpoints of size %d with different roots" % e.size,
                              fork_evidence("same-size-different-root", log_vkey, "same size, two roots",
                                            other.note, e.note, e.size, []))


def anchor_of(entries, index):
    """spec/anchors.md 4: a record at log index i is anchored no later than the
    smallest anchor time over verified entries of size > i; `by` names what
    anchored it at that time (ties add a name); `tsa` and `witness` say whether
    any such entry has a verified token, a met quorum (for anchors.require)."""
    times = []
    for e in entries:
        if e.ok and e.size > index:
            times += [(t, "tsa:" + name) for name, t in e.tsa.items()]
            times += [(e.witness, "witness-quorum")] if e.witness is not None else []
    not_after = min(t for t, _ in times) if times else None
    return {"tsa": any(n.startswith("tsa:") for _, n in times), "witness": any(n == "witness-quorum" for _, n in times),
            "notAfter": not_after, "by": sorted(set(n for t, n in times if t == not_after))}


def meets(anchor, require):
    """SPEC.md 5 step 9.6: anchored as anchors.require demands."""
    return {"none": True, "tsa": anchor["tsa"], "witness": anchor["witness"],
            "either": anchor["tsa"] or anchor["witness"], "both": anchor["tsa"] and anchor["witness"]}[require]
