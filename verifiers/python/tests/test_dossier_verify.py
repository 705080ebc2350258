"""Unit tests of the independent Python verifier (stdlib unittest, Python 3.8+).

Run: python3 -m unittest discover -s verifiers/python/tests -p 'test_*.py'
The end-to-end tests use testvectors/v1 of the source tree when present.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
SCRIPT = os.path.join(HERE, "..", "dossier_verify.py")
VECTORS = os.path.join(ROOT, "testvectors", "v1")
sys.path.insert(0, os.path.join(HERE, ".."))

import dossier_verify as dv  # noqa: E402


class StrictJSONTest(unittest.TestCase):
    def test_rejects(self):
        cases = {
            "duplicate member at depth": b'{"a":{"b":1,"b":2}}',
            "byte-order mark": b'\xef\xbb\xbf{}',
            "unpaired surrogate": b'{"a":"\\ud800"}',
            "trailing value": b'{} {}',
            "NaN": b'{"a":NaN}',
            "invalid UTF-8": b'{"a":"\xff"}',
            "too deep": b"[" * 65 + b"]" * 65,
        }
        for name, data in cases.items():
            with self.subTest(name):
                with self.assertRaises(dv.Invalid):
                    dv.strict_json(data, 1 << 20, "test")

    def test_size_limit_before_parsing(self):
        with self.assertRaisesRegex(dv.Invalid, "larger than"):
            dv.strict_json(b'{"a":1}', 3, "test")

    def test_accepts_and_keeps_integers_apart_from_floats(self):
        value = dv.strict_json(b'{"i":1,"f":1.0,"s":"\\u00e9"}', 100, "test")
        self.assertTrue(dv.is_int(value["i"]))
        self.assertFalse(dv.is_int(value["f"]))

    def test_members_is_case_sensitive(self):
        with self.assertRaisesRegex(dv.Invalid, "unknown member"):
            dv.members({"RunId": "x"}, ["runId"], (), "predicate")


class EncodingTest(unittest.TestCase):
    def test_dsse_base64_accepts_url_safe_and_unpadded(self):
        self.assertEqual(dv.b64decode_dsse("-_8", "x"), b"\xfb\xff")
        self.assertEqual(dv.b64decode_dsse("+/8=", "x"), b"\xfb\xff")

    def test_strict_base64_rejects_url_safe_and_unpadded(self):
        for text in ("-_8=", "+/8", "+/8=\n"):
            with self.subTest(text):
                with self.assertRaises(dv.Invalid):
                    dv.b64decode_strict(text, "x")

    def test_compact_keeps_strings(self):
        self.assertEqual(dv.compact('{ "a" : [1, 2], "b c": "x \\" y" }'), '{"a":[1,2],"b c":"x \\" y"}')

    def test_top_level_spans_are_byte_exact(self):
        spans = dv.top_level_spans('{"a":1, "predicate" : {"x": [1, 2]} }')
        self.assertEqual(spans["predicate"], '{"x": [1, 2]}')

    def test_decimals_are_exact(self):
        self.assertLess(dv.decimal("0.80"), dv.decimal("0.85"))
        self.assertEqual(dv.decimal("1e-1"), dv.decimal("0.1"))
        self.assertEqual(dv.decimal("-2.5E+2"), dv.decimal("-250"))

    def test_time(self):
        self.assertLess(dv.parse_time("2026-11-27T09:00:00Z"), dv.parse_time("2026-11-27T09:00:00.000000001Z"))
        for bad in ("2026-02-30T00:00:00Z", "2026-11-27T09:00:00+01:00", "2026-11-27 09:00:00Z"):
            with self.subTest(bad):
                with self.assertRaises(dv.Invalid):
                    dv.parse_time(bad)


class LeafTest(unittest.TestCase):
    BUNDLE = "sha256:" + "a" * 64

    def leaf(self, seq="0", prev="-", tail="\n"):
        return ("dossier.dev/leaf/v1\nbundle %s\nstream time-evidence\nseq %s\nprev %s%s"
                % (self.BUNDLE, seq, prev, tail)).encode()

    def test_canonical(self):
        self.assertEqual(dv.parse_leaf(self.leaf())["seq"], 0)
        self.assertEqual(dv.parse_leaf(self.leaf("1", self.BUNDLE))["prev"], self.BUNDLE)

    def test_not_canonical(self):
        cases = {"no final newline": self.leaf(tail=""), "prev at seq 0": self.leaf("0", self.BUNDLE),
                 "dash at seq 1": self.leaf("1", "-"), "leading zero": self.leaf("01", self.BUNDLE),
                 "extra line": self.leaf(tail="\nx\n")}
        for name, leaf in cases.items():
            with self.subTest(name):
                with self.assertRaises(dv.Invalid):
                    dv.parse_leaf(leaf)


def mth(leaves):
    """RFC 6962 section 2.1 Merkle tree hash (the test's own reference)."""
    if len(leaves) == 1:
        return dv.leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return dv.node_hash(mth(leaves[:k]), mth(leaves[k:]))


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def inclusion_path(m, leaves):
    """RFC 6962 section 2.1.1 PATH(m, D[n])."""
    if len(leaves) == 1:
        return []
    k = split(len(leaves))
    if m < k:
        return inclusion_path(m, leaves[:k]) + [mth(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def consistency_proof(m, leaves, complete=True):
    """RFC 6962 section 2.1.2 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = split(n)
    if m <= k:
        return consistency_proof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return consistency_proof(m - k, leaves[k:], False) + [mth(leaves[:k])]


class MerkleTest(unittest.TestCase):
    LEAVES = [b"leaf %d" % i for i in range(17)]

    def test_every_inclusion_proof(self):
        for n in range(1, len(self.LEAVES) + 1):
            tree = self.LEAVES[:n]
            for m in range(n):
                root = dv.root_from_inclusion(m, n, dv.leaf_hash(tree[m]), inclusion_path(m, tree))
                self.assertEqual(root, mth(tree), (m, n))

    def test_inclusion_rejects_wrong_index_and_short_path(self):
        tree = self.LEAVES[:7]
        path = inclusion_path(2, tree)
        self.assertNotEqual(dv.root_from_inclusion(3, 7, dv.leaf_hash(tree[2]), path), mth(tree))
        with self.assertRaises(dv.Invalid):
            dv.root_from_inclusion(2, 7, dv.leaf_hash(tree[2]), path[:-1])
        with self.assertRaises(dv.Invalid):
            dv.root_from_inclusion(7, 7, dv.leaf_hash(tree[2]), path)

    def test_every_consistency_proof(self):
        for n in range(1, len(self.LEAVES) + 1):
            for m in range(1, n + 1):
                proof = consistency_proof(m, self.LEAVES[:n])
                dv.verify_consistency(m, mth(self.LEAVES[:m]), n, mth(self.LEAVES[:n]), proof)

    def test_consistency_rejects_fork_and_rollback(self):
        proof = consistency_proof(4, self.LEAVES[:9])
        forked = mth([b"other"] + self.LEAVES[1:4])
        with self.assertRaises(dv.Invalid):
            dv.verify_consistency(4, forked, 9, mth(self.LEAVES[:9]), proof)
        with self.assertRaisesRegex(dv.Invalid, "rollback"):
            dv.verify_consistency(9, mth(self.LEAVES[:9]), 4, mth(self.LEAVES[:4]), [])


class SignatureTest(unittest.TestCase):
    def keypair(self, algorithm):
        d = tempfile.mkdtemp()
        key = os.path.join(d, "key.pem")
        args = ["-algorithm", "ED25519"] if algorithm == "ed25519" else \
            ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        subprocess.run(["openssl", "genpkey"] + args + ["-out", key], check=True, stdout=subprocess.PIPE)
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                             stdout=subprocess.PIPE).stdout
        return d, key, dv.PublicKey(der)

    def sign(self, d, key, algorithm, message):
        data = os.path.join(d, "m")
        with open(data, "wb") as f:
            f.write(message)
        cmd = ["openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", data] if algorithm == "ed25519" \
            else ["openssl", "dgst", "-sha256", "-sign", key, data]
        return subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout

    def test_both_algorithms(self):
        ssl = dv.OpenSSL()
        try:
            for algorithm in ("ed25519", "ecdsa-p256"):
                with self.subTest(algorithm):
                    d, key, pub = self.keypair(algorithm)
                    self.assertEqual(pub.algorithm, algorithm)
                    sig = self.sign(d, key, algorithm, b"message")
                    self.assertTrue(ssl.verify(pub, sig, b"message"))
                    self.assertFalse(ssl.verify(pub, sig, b"messagE"))
                    if algorithm == "ecdsa-p256":
                        with self.assertRaisesRegex(dv.Invalid, "after the DER"):
                            ssl.verify(pub, sig + b"\0", b"message")
        finally:
            ssl.close()

    def test_fingerprint_matches_openssl_recipe(self):
        d, key, pub = self.keypair("ecdsa-p256")
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                             stdout=subprocess.PIPE).stdout
        import base64
        want = "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
        self.assertEqual(pub.fingerprint, want)


class AnchorTrustRootTest(unittest.TestCase):
    VKEY = "log.dossier.example/audit+cf33d081+AU955o0K7GKvoj2l2150Nrzm9flHjgxD6/aVo1vW+6bV"

    def keys(self):
        key = dv.PublicKey(dv.ED25519_SPKI + b"\0" * 32)
        key.note_key = dv.NoteKey(self.VKEY)
        return {"log": key}

    def test_witness_policy_log_lines_are_keyring_log_keys(self):
        dv.validate_anchor_trust_root({"witnessPolicy": "log %s\nquorum none\n" % self.VKEY}, self.keys())
        with self.assertRaisesRegex(dv.Invalid, "not a log key"):
            dv.validate_anchor_trust_root({"witnessPolicy": "log other+00000000+AAA\n"}, self.keys())

    def test_timestamp_authorities(self):
        tsa = {"name": "tsa", "chainPem": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
               "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2031-01-01T00:00:00Z"}
        dv.validate_anchor_trust_root({"timestampAuthorities": [tsa]}, {})
        for name, bad in (("empty", []), ("two names", [tsa, tsa]),
                          ("window", [dict(tsa, validUntil="2025-01-01T00:00:00Z")]),
                          ("policy", [dict(tsa, policy="not-an-oid")])):
            with self.subTest(name):
                with self.assertRaises(dv.Invalid):
                    dv.validate_anchor_trust_root({"timestampAuthorities": bad}, {})


class PredicateTest(unittest.TestCase):
    EVALUATION = {"runId": "r1", "attempt": 1, "producedAt": "2026-11-27T09:00:00Z",
                  "producer": {"id": "w", "name": "w", "kind": "workload"},
                  "benchmark": {"name": "b"}, "metrics": [{"name": "exact_match", "value": "0.80"}],
                  "thresholds": [{"metric": "exact_match", "op": ">=", "threshold": "0.85"}], "verdict": "fail"}

    def setUp(self):
        self.schemas = dv.Schemas(dv.spec_dir())
        if self.schemas.error:
            self.skipTest(self.schemas.error)

    def test_valid_evaluation(self):
        self.assertEqual(self.schemas.validate("evaluation", self.EVALUATION), [])
        self.assertEqual(dv.rules_evaluation(self.EVALUATION, None), [])

    def test_pass_below_threshold(self):
        p = dict(self.EVALUATION, verdict="pass")
        self.assertEqual(self.schemas.validate("evaluation", p), [])
        self.assertEqual(len(dv.rules_evaluation(p, None)), 1)

    def test_case_variant_member(self):
        p = dict(self.EVALUATION)
        p["RunId"] = p.pop("runId")
        self.assertTrue(self.schemas.validate("evaluation", p))

    def test_integer_with_fraction(self):
        self.assertTrue(self.schemas.validate("evaluation", dict(self.EVALUATION, attempt=1.0)))


class TarTest(unittest.TestCase):
    def test_go_header_of_the_baseline(self):
        path = os.path.join(VECTORS, "valid-baseline", "package.tar")
        if not os.path.exists(path):
            self.skipTest("no test vectors")
        with open(path, "rb") as f:
            data = f.read()
        entries, problems = dv.read_tar(data)
        self.assertEqual(problems, [])
        self.assertEqual(data[:512], dv.go_ustar_header(entries[0][0], len(entries[0][1])))


def _read(path):
    with open(path) as f:
        return f.read()


def run_vector(name, extra_env=None, **overrides):
    """Run the verifier as the conformance runner does; return (exit, document)."""
    v = os.path.join(VECTORS, name)
    args = [sys.executable, SCRIPT, "--json", "--root-fingerprint",
            overrides.get("pin") or _read(os.path.join(v, "trust", "root-fingerprint")).strip()]
    for flag, file in (("--policy", "policy.json"), ("--trusted-head", "trusted-head")):
        path = overrides.get(flag) or os.path.join(v, "trust", file)
        if os.path.exists(path):
            args += [flag, path]
    args.append(os.path.join(v, "package.tar"))
    env = dict(os.environ, **(extra_env or {}))
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else None)


@unittest.skipUnless(os.path.isdir(VECTORS), "no test vectors")
class EndToEndTest(unittest.TestCase):
    def test_valid_baseline_verifies(self):
        code, doc = run_vector("valid-baseline")
        self.assertEqual((code, doc["outcome"], doc["failures"]), (0, "verified", []))

    def test_rejections_name_their_class(self):
        for name, cls in (("tar-symlink", "tar"), ("record-payload-tampered", "signature"),
                          ("sequence-gap", "sequence"), ("time-untraceable-rejected", "time-untraceable")):
            with self.subTest(name):
                code, doc = run_vector(name)
                self.assertEqual((code, doc["outcome"]), (1, "rejected"))
                self.assertIn(cls, [f["class"] for f in doc["failures"]])

    def test_result_documents_follow_the_result_schema(self):
        schemas = dv.Schemas(os.path.join(ROOT, "spec"))
        if schemas.error:
            self.skipTest(schemas.error)
        for name in ("valid-baseline", "sequence-gap", "tar-symlink"):
            with self.subTest(name):
                _, doc = run_vector(name)
                self.assertEqual(schemas.validate("verify-result", doc), [])

    def test_without_schemas_inconclusive_never_verified(self):
        code, doc = run_vector("valid-baseline", {"DOSSIER_SPEC_DIR": "/nonexistent"})
        self.assertEqual((code, doc["outcome"]), (3, "inconclusive"))

    def test_without_openssl_inconclusive_never_verified(self):
        empty = tempfile.mkdtemp()
        code, doc = run_vector("valid-baseline", {"PATH": empty})
        self.assertEqual((code, doc["outcome"]), (3, "inconclusive"))

    def test_unprovable_trusted_head_inconclusive(self):
        head = os.path.join(VECTORS, "consistency-trusted-head-ledger", "trust", "trusted-head")
        code, doc = run_vector("valid-baseline", **{"--trusted-head": head})
        self.assertEqual((code, doc["outcome"]), (3, "inconclusive"))

    def test_bit_flips_never_verify_and_never_crash(self):
        """Every byte of a package is hashed, signed or structural except the
        unsigned annotations in index.json: a flipped bit elsewhere rejects."""
        import random
        v = os.path.join(VECTORS, "valid-baseline")
        with open(os.path.join(v, "package.tar"), "rb") as f:
            data = f.read()
        pin = _read(os.path.join(v, "trust", "root-fingerprint")).strip()
        entries, _ = dv.read_tar(data)
        index_json = data.index(dict(entries)["index.json"])
        rng = random.Random(7)
        for _ in range(60):
            pos = rng.randrange(len(data))
            if index_json <= pos < index_json + len(dict(entries)["index.json"]):
                continue
            mutated = bytearray(data)
            mutated[pos] ^= 1 << rng.randrange(8)
            ctx = dv.verify({"root-fingerprint": pin}, bytes(mutated))
            self.assertEqual(ctx.outcome()[0], "rejected", "bit flip at offset %d" % pos)

    def test_key_fingerprint_as_pin_is_usage(self):
        code, doc = run_vector("valid-baseline", pin="SHA256:ldJgKNa6ggAGE01buplYNkH0SUcN7c8ipZbdhoD3C4s")
        self.assertEqual(code, 2)


if __name__ == "__main__":
    unittest.main()
