"""Unit tests of the verifier's v2 parts: policy v2 (dossier_policy) and
anchors (dossier_anchors): RFC 3161 tokens made here by `openssl ts -reply`,
witness cosignatures signed here with Ed25519 keys from `openssl genpkey`.

Run: python3 -m unittest discover -s verifiers/python/tests -p 'test_*.py'
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
SCRIPT = os.path.join(HERE, "..", "dossier_verify.py")
V2 = os.path.join(ROOT, "testvectors", "v2")
sys.path.insert(0, os.path.join(HERE, ".."))

import dossier_anchors as da  # noqa: E402
import dossier_policy as dp  # noqa: E402
import dossier_verify as dv  # noqa: E402

KINDS = dv.RUN_KINDS | dv.LOG_KINDS
TIME = {"accept": ["good"], "acceptUntraceable": False, "maxProducerSkewSeconds": 300}
APPROVALS = {"min": 2, "role": "reviewer", "meanings": ["approval"], "cover": ["dataset", "run-closed"]}
SOD = {"byPerson": True, "byTeam": True, "developerKinds": ["dataset"]}


def policy(**members):
    doc = {"mediaType": dp.POLICY_V2, "time": dict(TIME), "requiredKinds": []}
    doc.update(members)
    return dp.parse_policy_doc(doc, KINDS)


class PolicyDocTest(unittest.TestCase):
    def test_valid_v2(self):
        p = policy(name="x", runs={"approvals": APPROVALS, "separationOfDuties": SOD},
                   releases={"requiredKinds": ["model-release"], "evaluationPlan": {"role": "reviewer"}},
                   anchors={"require": "both"})
        self.assertEqual((p["runs"]["approvals"]["min"], p["anchors"]), (2, "both"))

    def test_rejects(self):
        cases = {
            "v2 member in a v1 document": dict(mediaType=dp.POLICY_V1, anchors={"require": "tsa"}),
            "min 0": dict(runs={"approvals": dict(APPROVALS, min=0)}),
            "min a boolean": dict(runs={"approvals": dict(APPROVALS, min=True)}),
            "unknown meaning": dict(runs={"approvals": dict(APPROVALS, meanings=["ok"])}),
            "cover approval": dict(runs={"approvals": dict(APPROVALS, cover=["approval"])}),
            "separation without approvals": dict(runs={"separationOfDuties": SOD}),
            "empty developerKinds": dict(runs={"approvals": APPROVALS,
                                               "separationOfDuties": dict(SOD, developerKinds=[])}),
            "unknown anchors.require": dict(anchors={"require": "notary"}),
            "unknown rule-set member": dict(runs={"approval": APPROVALS}),
            "untraceable in accept": dict(time=dict(TIME, accept=["good", "untraceable"])),
            "role pattern": dict(releases={"evaluationPlan": {"role": "Reviewer"}}),
        }
        for name, members in cases.items():
            with self.subTest(name):
                doc = {"mediaType": dp.POLICY_V2, "time": dict(TIME), "requiredKinds": []}
                doc.update(members)
                with self.assertRaises(dp.PolicyError):
                    dp.parse_policy_doc(doc, KINDS)

    def test_auditor_v2_policy_file_is_parsed_not_usage(self):
        data = json.dumps({"mediaType": dp.POLICY_V2, "time": TIME, "requiredKinds": [],
                           "anchors": {"require": "tsa"}}).encode()
        self.assertEqual(dv.parse_policy(data)["anchors"], "tsa")
        with self.assertRaises(dv.Invalid):
            dv.parse_policy(data.replace(b'"tsa"', b'"TSA"'))


class TightenTest(unittest.TestCase):
    def test_proposal_only_raises_the_bar(self):
        base = policy(runs={"approvals": dict(APPROVALS, min=1, meanings=["approval", "review"])})
        prop = policy(runs={"approvals": dict(APPROVALS, min=3, role="exporter", meanings=["review"],
                                              cover=["evaluation"])}, anchors={"require": "tsa"})
        got = dp.tighten(base, prop)["runs"]["approvals"]
        self.assertEqual(got, {"min": 3, "role": "reviewer", "meanings": ["review"],
                               "cover": ["dataset", "evaluation", "run-closed"]})
        self.assertEqual(dp.tighten(base, prop)["anchors"], "tsa")

    def test_meanings_fall_back_to_the_base(self):
        base = policy(runs={"approvals": APPROVALS})
        prop = policy(runs={"approvals": dict(APPROVALS, meanings=["review"])})
        self.assertEqual(dp.tighten(base, prop)["runs"]["approvals"]["meanings"], ["approval"])

    def test_stricter_anchors(self):
        table = [("none", "tsa", "tsa"), ("either", "witness", "witness"), ("tsa", "witness", "both"),
                 ("both", "none", "both"), ("either", "either", "either"), ("tsa", "tsa", "tsa")]
        for a, b, want in table:
            with self.subTest(a + "+" + b):
                self.assertEqual(dp.stricter_anchors(a, b), want)
                self.assertEqual(dp.stricter_anchors(b, a), want)


# ---------------------------------------------------------------- evaluation on synthetic runs

KEYS = {  # fingerprint -> owner; key material "m-<...>"
    "K-dev": {"personId": "workload:train", "team": "ml", "material": "m-dev", "roles": {"producer"}},
    "K-rita": {"personId": "person:rita", "team": "validation", "material": "m-rita", "roles": {"reviewer"}},
    "K-rita2": {"personId": "person:rita", "team": "validation", "material": "m-rita2", "roles": {"reviewer"}},
    "K-victor": {"personId": "person:victor", "team": "validation", "material": "m-victor", "roles": {"reviewer"}},
    "K-alias": {"personId": "person:alias", "team": "validation", "material": "m-victor", "roles": {"reviewer"}},
    "K-mallory": {"personId": "person:mallory", "team": "ml", "material": "m-mallory", "roles": {"reviewer"}},
}


def digest(n):
    return "sha256:%064x" % n


def record(n, kind, hint, **predicate):
    p = {"producer": {"id": KEYS[hint]["personId"]}}
    p.update(predicate)
    return {"digest": digest(n), "kind": kind, "index": n, "hint": hint, "predicate": p}


def approval(n, hint, reviewed, **extra):
    p = dict(signer={"id": KEYS[hint]["personId"]}, meaning="approval", decision="approve",
             reviewedRecords=reviewed)
    p.update(extra)
    return record(n, "approval", hint, **p)


BASE = [record(1, "dataset", "K-dev"), record(2, "run-closed", "K-dev")]
REVIEWED = [digest(1), digest(2)]


def evaluate(records, pol=None, at="2026-11-27T12:00:00Z", invalid=()):
    pol = pol or policy(runs={"approvals": APPROVALS, "separationOfDuties": SOD})

    def view(fp, index):
        return None if fp in invalid else KEYS.get(fp)
    return dp.Evaluation(pol, records, view, lambda fp, i: KEYS.get(fp), at, False).run()


def failed(results):
    return sorted(set(r["rule"] for r in results if r["status"] == "fail"))


class EvaluationTest(unittest.TestCase):
    def test_approval_rules(self):
        cases = [
            ("two reviewers", [approval(3, "K-rita", REVIEWED), approval(4, "K-victor", REVIEWED)], [], ()),
            ("one approval", [approval(3, "K-rita", REVIEWED)], ["approvals.distinct-people"], ()),
            ("one person, two keys", [approval(3, "K-rita", REVIEWED), approval(4, "K-rita2", REVIEWED)],
             ["approvals.distinct-people"], ()),
            ("one key under two ids", [approval(3, "K-victor", REVIEWED), approval(4, "K-alias", REVIEWED)],
             ["approvals.distinct-people", "approvals.key-material"], ()),
            ("developer team", [approval(3, "K-rita", REVIEWED), approval(4, "K-mallory", REVIEWED)],
             ["approvals.distinct-people", "approvals.separation-of-duties.team"], ()),
            ("developer key", [approval(3, "K-rita", REVIEWED), approval(4, "K-dev", REVIEWED)],
             ["approvals.distinct-people", "approvals.separation-of-duties.person",
              "approvals.separation-of-duties.team", "approvals.signer-role"], ()),
            ("covers other digests", [approval(3, "K-rita", REVIEWED), approval(4, "K-victor", REVIEWED + [digest(99)])],
             ["approvals.coverage", "approvals.distinct-people"], ()),
            ("stale: void, not fail", [approval(3, "K-rita", REVIEWED), approval(4, "K-victor", [digest(1)])],
             ["approvals.distinct-people"], ()),
            ("before a covered record", [approval(3, "K-rita", REVIEWED), approval(0, "K-victor", REVIEWED)],
             ["approvals.distinct-people", "approvals.log-order"], ()),
            ("expired", [approval(3, "K-rita", REVIEWED),
                         approval(4, "K-victor", REVIEWED, expiresAt="2026-11-27T10:00:00Z")],
             ["approvals.distinct-people"], ()),
            ("key not valid", [approval(3, "K-rita", REVIEWED), approval(4, "K-victor", REVIEWED)],
             ["approvals.distinct-people", "approvals.key-valid"], ("K-victor",)),
            ("rejection", [approval(3, "K-rita", REVIEWED), approval(4, "K-victor", REVIEWED, decision="reject")],
             ["approvals.distinct-people"], ()),
            ("withdrawn later", [approval(3, "K-rita", REVIEWED), approval(4, "K-victor", REVIEWED),
                                 approval(5, "K-victor", REVIEWED, decision="withdraw", withdraws=digest(4))],
             ["approvals.distinct-people"], ()),
            ("printed identity not the key owner", [approval(3, "K-rita", REVIEWED),
                                                    approval(4, "K-victor", REVIEWED, signer={"id": "person:eve"})],
             ["approvals.distinct-people", "approvals.signer-identity"], ()),
        ]
        for name, approvals, want, invalid in cases:
            with self.subTest(name):
                self.assertEqual(failed(evaluate(BASE + approvals, invalid=invalid)), want)

    def test_void_is_reported_and_counts_for_nothing(self):
        results = evaluate(BASE + [approval(3, "K-rita", REVIEWED), approval(4, "K-victor", [digest(1)])])
        void = [r for r in results if r["status"] == "void"]
        self.assertEqual([r["rule"] for r in void], ["approvals.coverage"])

    def test_release_rules_only_for_a_release(self):
        pol = policy(releases={"requiredKinds": ["approval"]})
        self.assertEqual(failed(evaluate(BASE, pol)), [])
        release = record(5, "model-release", "K-dev", weights=[{"name": "w", "digest": {"sha256": "aa"}}])
        self.assertEqual(failed(evaluate(BASE + [release], pol)), ["release.kinds.required"])

    def plan(self, n, threshold, op=">="):
        return record(n, "evaluation-plan", "K-rita", signedByRole="reviewer", scope={"modelId": "m"},
                      metrics=[{"metric": "exact_match", "op": op, "threshold": threshold}])

    def evaluation(self, n, value):
        return record(n, "evaluation", "K-dev", benchmark={"name": "b"},
                      metrics=[{"name": "exact_match", "value": value}])

    def test_plan_rules(self):
        pol = policy(runs={"evaluationPlan": {"role": "reviewer"}})
        cases = [
            ("met exactly", [self.plan(3, "0.85"), self.evaluation(4, "0.8500")], []),
            ("exact decimals, not floats", [self.plan(3, "0.3"), self.evaluation(4, "0.29999999999999999")],
             ["evaluation.plan-thresholds"]),
            ("exponent", [self.plan(3, "8.5e-1", ">"), self.evaluation(4, "0.851")], []),
            ("plan after evaluation", [self.evaluation(3, "0.9"), self.plan(4, "0.85")],
             ["evaluation-plan.before-evaluations", "evaluation.plan-coverage"]),
            ("no plan", [self.evaluation(3, "0.9")],
             ["evaluation-plan.before-evaluations", "evaluation-plan.present"]),
            ("plan signer lacks the role", [record(3, "evaluation-plan", "K-dev", signedByRole="reviewer",
                                                   scope={"modelId": "m"}, metrics=[]), self.evaluation(4, "1")],
             ["evaluation-plan.signer-role"]),
        ]
        for name, records, want in cases:
            with self.subTest(name):
                self.assertEqual(failed(evaluate(BASE + records, pol)), want)


# ---------------------------------------------------------------- anchors

def genkey(d, name):
    key = os.path.join(d, name + ".pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", key], check=True, stdout=subprocess.PIPE)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                         stdout=subprocess.PIPE).stdout
    return key, der[-32:]


def ed25519_sign(d, key, message):
    path = os.path.join(d, "msg")
    with open(path, "wb") as f:
        f.write(message)
    return subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", path], check=True,
                          stdout=subprocess.PIPE).stdout


class Tools(object):
    """dossier_anchors' primitives, as the verifier binds them (no log key needed here)."""

    def __init__(self, ssl=True):
        self.ssl = dv.OpenSSL() if ssl else None

    def ed25519(self, public, sig, message):
        return self.ssl.verify(dv.PublicKey(dv.ED25519_SPKI + public), sig, message)

    def ts_verify(self, tsr, data, root_pem, untrusted_pem, at):
        self.ssl.ts_verify(tsr, data, root_pem, untrusted_pem, at)

    def consistency(self, *args):
        dv.verify_consistency(*args)


CHECKPOINT = b"log.example/a\n9\n" + base64.b64encode(b"\1" * 32) + b"\n\n\xe2\x80\x94 log.example/a AAAA\n"


class WitnessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir, cls.tools = tempfile.mkdtemp(), Tools()
        cls.keys = {}
        for name in ("w.example/a", "w.example/b", "w.example/c"):
            key, pub = genkey(cls.dir, name.replace("/", "_"))
            raw = b"\x04" + pub
            kid = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
            cls.keys[name] = (key, kid, "%s+%s+%s" % (name, kid.hex(), base64.b64encode(raw).decode()))

    @classmethod
    def tearDownClass(cls):
        cls.tools.ssl.close()
        shutil.rmtree(cls.dir)

    def policy(self, quorum="group q 2 a b c\nquorum q\n"):
        lines = ["log log.example/a+00000000+AAAA"] + ["witness %s %s" % (n[-1], self.keys[n][2]) for n in sorted(self.keys)]
        return da.WitnessPolicy("\n".join(lines) + "\n" + quorum)

    def cosign(self, name, t, checkpoint=CHECKPOINT, flip=False):
        key, kid, _ = self.keys[name]
        body = checkpoint.split(b"\n\n")[0] + b"\n"
        sig = ed25519_sign(self.dir, key, b"cosignature/v1\ntime %d\n" % t + body)
        if flip:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        return u"\u2014 %s %s\n" % (name, base64.b64encode(kid + t.to_bytes(8, "big") + sig).decode())

    def test_quorum_and_anchored_at(self):
        pol = self.policy()
        text = self.cosign("w.example/c", 300) + self.cosign("w.example/a", 100) + self.cosign("w.example/b", 200)
        times, ignored = da.verify_cosignatures(text, CHECKPOINT, pol, self.tools)
        self.assertEqual((len(times), ignored), (3, 0))
        self.assertEqual(da.anchored_at(pol, times), 200 * da.NS)  # the quorum of 2 is met by the second

    def test_unknown_witness_ignored_and_quorum_not_met(self):
        pol = self.policy("group q 2 a b\nquorum q\n")
        text = self.cosign("w.example/a", 100) + self.cosign("w.example/c", 50)
        pol.witnesses.pop("c")
        times, ignored = da.verify_cosignatures(text, CHECKPOINT, pol, self.tools)
        self.assertEqual((sorted(times), ignored, da.anchored_at(pol, times)), (["a"], 1, None))

    def test_forged_cosignature_rejects(self):
        text = self.cosign("w.example/a", 100, flip=True) + self.cosign("w.example/b", 100)
        with self.assertRaisesRegex(da.AnchorError, "forged") as cm:
            da.verify_cosignatures(text, CHECKPOINT, self.policy(), self.tools)
        self.assertEqual(cm.exception.cls, "witness")

    def test_cosignature_over_another_checkpoint(self):
        other = CHECKPOINT.replace(b"\n9\n", b"\n8\n")
        with self.assertRaises(da.AnchorError):
            da.verify_cosignatures(self.cosign("w.example/a", 1, other), CHECKPOINT, self.policy(), self.tools)

    def test_policy_parsing(self):
        self.assertTrue(self.policy("group q any a b\nquorum q\n").satisfied({"b"}))
        self.assertFalse(self.policy("group q all a b\nquorum q\n").satisfied({"b"}))
        self.assertTrue(self.policy("group g 1 a\ngroup q all g c\nquorum q\n").satisfied({"a", "c"}))
        self.assertTrue(self.policy("quorum none\n").satisfied(set()))
        for name, quorum in (("threshold above members", "group q 3 a b\nquorum q\n"),
                             ("undefined member", "group q 1 z\nquorum q\n"),
                             ("two quorums", "quorum a\nquorum b\n"), ("no quorum", ""),
                             ("repeated member", "group q 1 a a\nquorum q\n"),
                             ("name defined twice", "group a 1 b\nquorum a\n")):
            with self.subTest(name):
                with self.assertRaises(da.AnchorError):
                    self.policy(quorum)
        with self.assertRaisesRegex(da.AnchorError, "twice"):
            da.WitnessPolicy("log x\nwitness a %s\nwitness b %s\nquorum a\n" % (
                self.keys["w.example/a"][2], self.keys["w.example/a"][2]))


TS_CNF = """[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = %(dir)s/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
[ leaf ]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = critical,timeStamping
[ caleaf ]
basicConstraints = critical,CA:TRUE
extendedKeyUsage = critical,timeStamping
[ root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign
"""


class KeyringWitnessPolicyTest(unittest.TestCase):
    VKEY = "log.dossier.example/audit+cf33d081+AU955o0K7GKvoj2l2150Nrzm9flHjgxD6/aVo1vW+6bV"

    def test_malformed_tlog_policy_makes_the_keyring_version_invalid(self):
        key = dv.PublicKey(dv.ED25519_SPKI + b"\0" * 32)
        key.note_key = dv.NoteKey(self.VKEY)
        dv.validate_anchor_trust_root({"witnessPolicy": "log %s\nquorum none\n" % self.VKEY}, {"log": key})
        for bad in ("log %s\n", "log %s\nquorum q\n", "log %s\nwitness a b\nquorum a\n"):
            with self.subTest(bad):
                with self.assertRaisesRegex(dv.Invalid, "witnessPolicy"):
                    dv.validate_anchor_trust_root({"witnessPolicy": bad % self.VKEY}, {"log": key})


class TokenTest(unittest.TestCase):
    """RFC 3161 tokens made by `openssl ts -reply` (spec/anchors.md 1)."""

    @classmethod
    def setUpClass(cls):
        cls.dir, cls.tools = tempfile.mkdtemp(), Tools()
        cls.cnf = cls.path("ts.cnf")
        with open(cls.cnf, "w") as f:
            f.write(TS_CNF % {"dir": cls.dir})
        with open(cls.path("serial"), "w") as f:
            f.write("01\n")
        cls.ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                cls.path("root.key"), "-out", cls.path("root.pem"), "-subj", "/CN=root", "-days", "30",
                "-config", cls.cnf, "-extensions", "root")
        cls.ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                cls.path("other.key"), "-out", cls.path("other.pem"), "-subj", "/CN=root", "-days", "30",
                "-config", cls.cnf, "-extensions", "root")
        for ext in ("leaf", "caleaf"):
            cls.issue(ext)
        time.sleep(2)  # genTime - accuracy (1 s) must not precede the certificates' notBefore
        cls.data = b"log.example/a\n9\nroot\n\n\xe2\x80\x94 log.example/a sig\n"
        with open(cls.path("data"), "wb") as f:
            f.write(cls.data)

    @classmethod
    def tearDownClass(cls):
        cls.tools.ssl.close()
        shutil.rmtree(cls.dir)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    @classmethod
    def ssl(cls, *args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       input=b"", cwd=cls.dir)

    @classmethod
    def issue(self, ext):
        """A TSA certificate with the extensions of section ext of TS_CNF."""
        self.ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 self.path(ext + ".key"), "-out", self.path(ext + ".csr"), "-subj", "/CN=tsa-" + ext)
        self.ssl("x509", "-req", "-in", self.path(ext + ".csr"), "-CA", self.path("root.pem"), "-CAkey",
                 self.path("root.key"), "-set_serial", str(abs(hash(ext)) % 1000 + 2), "-days", "10",
                 "-extfile", self.cnf, "-extensions", ext, "-out", self.path(ext + ".pem"))

    def token(self, ext="leaf"):
        """A TimeStampResp over self.data by the signer issued with extensions ext."""
        self.ssl("ts", "-query", "-data", self.path("data"), "-sha256", "-cert", "-out", self.path("q.tsq"))
        self.ssl("ts", "-reply", "-queryfile", self.path("q.tsq"), "-inkey", self.path(ext + ".key"), "-signer",
                 self.path(ext + ".pem"), "-config", self.cnf, "-out", self.path(ext + ".tsr"))
        with open(self.path(ext + ".tsr"), "rb") as f:
            return base64.b64encode(f.read()).decode(), read(self.path(ext + ".pem")) + read(self.path("root.pem"))

    def tsa(self, chain, **over):
        now = int(time.time())
        t = {"name": "tsa", "chainPem": chain, "validFrom": da.ns_rfc3339((now - 3600) * da.NS),
             "validUntil": da.ns_rfc3339((now + 3600) * da.NS)}
        t.update(over)
        return t

    def test_valid_token(self):
        response, chain = self.token()
        info = da.parse_tsr(base64.b64decode(response))
        self.assertEqual((info["policy"], info["accuracy"]), ("1.2.3.4.1", da.NS))
        self.assertFalse(any(da.cert_is_ca(c) for c in info["certs"] if da.cert_matches(c, info["signer"])))
        got = da.verify_token(self.tsa(chain), response, self.data, self.tools)
        self.assertEqual(got, info["genTime"] + da.NS)

    def test_rejections(self):
        response, chain = self.token()
        leaf = read(self.path("leaf.pem"))
        past = da.ns_rfc3339((int(time.time()) - 7200) * da.NS)
        cases = [
            ("other bytes", self.tsa(chain), response, self.data.replace(b"9", b"8")),
            ("outside the trust root's validity", self.tsa(chain, validUntil=past,
                                                           validFrom="2020-01-01T00:00:00Z"), response, self.data),
            ("policy", self.tsa(chain, policy="1.2.3.4.9"), response, self.data),
            ("truncated DER", self.tsa(chain), base64.b64encode(base64.b64decode(response)[:-3]).decode(), self.data),
            ("not base64", self.tsa(chain), "!!", self.data),
        ]
        cases.append(("another root of the same name", self.tsa(leaf + read(self.path("other.pem"))), response,
                      self.data))
        for name, tsa, resp, data in cases:
            with self.subTest(name):
                with self.assertRaises(da.AnchorError) as cm:
                    da.verify_token(tsa, resp, data, self.tools)
                self.assertEqual(cm.exception.cls, "tsa")

    def test_signer_must_not_be_a_ca(self):
        response, chain = self.token("caleaf")
        with self.assertRaisesRegex(da.AnchorError, "is a CA"):
            da.verify_token(self.tsa(chain), response, self.data, self.tools)


class ForkTest(unittest.TestCase):
    def test_same_size_other_root_and_failing_proof(self):
        entry = da.Entry(b"small note\n")
        entry.size, entry.root = 4, b"\1" * 32
        package = (b"package note\n", 4, b"\2" * 32)
        for name, size, hashes, kind in (("same size", 4, [], "same-size-different-root"),
                                          ("bad proof", 3, [b"\3" * 32], "consistency-proof-fails")):
            with self.subTest(name):
                entry.size = size
                with self.assertRaises(da.AnchorError) as cm:
                    da.check_consistency(entry, hashes, package, "log+00000000+AA", Tools(ssl=False))
                self.assertEqual((cm.exception.cls, cm.exception.evidence["kind"]), ("fork", kind))
                self.assertEqual(cm.exception.evidence["type"], "dossier.dev/fork-evidence/v1")

    def test_pairs(self):
        a, b = da.Entry(b"a"), da.Entry(b"b")
        a.size = b.size = 3
        a.root, b.root = b"\1" * 32, b"\2" * 32
        with self.assertRaises(da.AnchorError) as cm:
            da.check_pairs([a, b], "log")
        self.assertEqual(cm.exception.cls, "fork")

    def test_anchor_of_takes_the_smallest_covering_entry(self):
        small, large = da.Entry(b""), da.Entry(b"")
        small.size, small.ok, small.tsa = 3, True, {"t": 50}
        large.size, large.ok, large.witness = 9, True, 40
        self.assertEqual(da.anchor_of([small, large], 2), {"tsa": True, "witness": True, "notAfter": 40,
                                                           "by": ["witness-quorum"]})
        self.assertEqual(da.anchor_of([small, large], 5), {"tsa": False, "witness": True, "notAfter": 40,
                                                           "by": ["witness-quorum"]})
        self.assertEqual(da.anchor_of([small, large], 9)["notAfter"], None)
        self.assertFalse(da.meets(da.anchor_of([small, large], 5), "both"))


def read(path):
    with open(path) as f:
        return f.read()


def run(vector, env=None):
    v = os.path.join(V2, vector)
    args = [sys.executable, SCRIPT, "--json", "--root-fingerprint",
            read(os.path.join(v, "trust", "root-fingerprint")).strip()]
    if os.path.exists(os.path.join(v, "trust", "policy.json")):
        args += ["--policy", os.path.join(v, "trust", "policy.json")]
    args += ["--at", read(os.path.join(v, "trust", "at")).strip(), os.path.join(v, "package.tar")]
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, **(env or {})))
    return proc.returncode, json.loads(proc.stdout)


@unittest.skipUnless(os.path.isdir(V2), "no v2 test vectors")
class V2EndToEndTest(unittest.TestCase):
    def test_anchored_records_listed(self):
        code, doc = run("anchors-tsa")
        self.assertEqual(code, 0)
        anchors = doc["summary"]["anchors"]
        self.assertEqual((anchors["entries"], anchors["asserted"]), (1, 0))
        self.assertTrue(all(a["status"] == "anchored" and a["by"] == ["tsa:tsa.internal"] for a in anchors["records"]))
        schemas = dv.Schemas(os.path.join(ROOT, "spec"))
        self.assertEqual(schemas.validate("verify-result", doc), [])

    def test_fork_evidence_printed(self):
        code, doc = run("anchors-fork-same-size")
        forks = [f for f in doc["failures"] if f["class"] == "fork"]
        self.assertEqual((code, forks[0]["evidence"]["kind"]), (1, "same-size-different-root"))
        self.assertEqual(doc["summary"]["anchors"]["forkEvidence"], forks[0]["evidence"])

    def test_policy_failure_names_its_rule(self):
        code, doc = run("policy-v2-one-person-two-keys")
        self.assertEqual(code, 1)
        self.assertIn("approvals.distinct-people", [f.get("rule") for f in doc["failures"]])

    def test_bit_flips_never_verify_and_never_crash(self):
        """An anchored package with a policy v2: a flipped bit outside the
        unsigned index.json annotations rejects (or, never, verifies)."""
        import random
        v = os.path.join(V2, "anchors-tsa-and-witness-quorum")
        with open(os.path.join(v, "package.tar"), "rb") as f:
            data = f.read()
        args = {"root-fingerprint": read(os.path.join(v, "trust", "root-fingerprint")).strip(),
                "policy": dv.parse_policy(read(os.path.join(v, "trust", "policy.json")).encode()),
                "at": read(os.path.join(v, "trust", "at")).strip()}
        self.assertEqual(dv.verify(dict(args), data).outcome()[0], "verified")
        index_json = dict(dv.read_tar(data)[0])["index.json"]
        start = data.index(index_json)
        rng = random.Random(11)
        for _ in range(25):
            pos = rng.randrange(len(data))
            if start <= pos < start + len(index_json):
                continue
            mutated = bytearray(data)
            mutated[pos] ^= 1 << rng.randrange(8)
            self.assertEqual(dv.verify(dict(args), bytes(mutated)).outcome()[0], "rejected", "bit flip at %d" % pos)

    def test_openssl_without_ts_is_inconclusive_never_verified(self):
        """A token this verifier cannot check makes the outcome inconclusive."""
        fake = tempfile.mkdtemp()
        real = shutil.which("openssl")
        with open(os.path.join(fake, "openssl"), "w") as f:
            f.write('#!/bin/sh\nif [ "$1" = ts ]; then echo "ts: unknown command" >&2; exit 1; fi\nexec %s "$@"\n' % real)
        os.chmod(os.path.join(fake, "openssl"), 0o755)
        try:
            code, doc = run("anchors-tsa", {"PATH": fake + os.pathsep + os.environ.get("PATH", "")})
        finally:
            shutil.rmtree(fake)
        self.assertEqual((code, doc["outcome"]), (3, "inconclusive"))


if __name__ == "__main__":
    unittest.main()
