"""The Python client against a real dossierd (run by scripts/test-python.sh).

Environment: DOSSIERD and DOSSIER, paths of the built binaries.

Scenario (issue 6 acceptance: "the Python client's outbox delivers
everything after the daemon comes back"): a training script submits its
run registration and records while the daemon is down; they wait in the
outbox; the daemon starts; the outbox is flushed; the daemon holds every
record, once, in submission order, and a resubmission changes nothing.

Reviewer round trip (issue 8 item 3): a reviewer fetches the run's review
document with Reviewer.fetch_review, signs it with 'dossier approve' and
uploads it with Reviewer.submit_approval; the daemon logs it. An approval of
a review made stale by a later record is refused.
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from dossier_client import Dossier, DossierError, Reviewer  # noqa: E402

DOSSIERD = os.environ.get("DOSSIERD", "bin/dossierd")
DOSSIER = os.environ.get("DOSSIER", "bin/dossier")
TOKEN = "integration-token-0123456789abcdef"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.daemon = None
        p = lambda *a: os.path.join(self.tmp, *a)  # noqa: E731
        subprocess.run([DOSSIER, "key", "generate", "--unencrypted", "--output", p("ingest")],
                       check=True, capture_output=True)
        subprocess.run([DOSSIER, "log", "init", "--dir", p("data", "log"), "--origin", "example.test/python-it",
                        "--key-out", p("logkey")], check=True, capture_output=True)
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        with open(p("tokens.json"), "w") as f:
            json.dump({"tokens": [{"sha256": digest, "subject": "workload:python-it", "name": "python it",
                                   "roles": ["producer", "reviewer"]}]}, f)
        self.ingest_port, self.review_port = free_port(), free_port()
        self.config = {
            "dataDir": p("data"), "logKey": p("logkey.key"), "ingestKey": p("ingest.key"),
            "ingestKeyUnencrypted": True, "name": "python-it",
            "ingest": {"addr": "127.0.0.1:%d" % self.ingest_port, "auth": {"tokensFile": p("tokens.json")}},
            "review": {"addr": "127.0.0.1:%d" % self.review_port, "auth": {"tokensFile": p("tokens.json")}},
        }
        with open(p("dossierd.json"), "w") as f:
            json.dump(self.config, f)
        self.outbox = p("outbox")

    def tearDown(self):
        self.stop()
        shutil.rmtree(self.tmp)

    def start(self):
        self.log = open(os.path.join(self.tmp, "dossierd.log"), "ab")
        self.daemon = subprocess.Popen([DOSSIERD, "-config", os.path.join(self.tmp, "dossierd.json")],
                                       stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.ingest_port, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                if self.daemon.poll() is not None:
                    break
                time.sleep(0.1)
        self.fail("dossierd did not start: " + open(os.path.join(self.tmp, "dossierd.log")).read())

    def stop(self):
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.terminate()
            self.assertEqual(self.daemon.wait(timeout=30), 0, "dossierd did not drain and exit cleanly")
        self.daemon = None
        if getattr(self, "log", None) is not None:
            self.log.close()
            self.log = None

    def get(self, path):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.review_port, path),
                                     headers={"Authorization": "Bearer " + TOKEN})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read().decode())

    def client(self):
        env = {"DOSSIER_URL": "http://127.0.0.1:%d" % self.ingest_port, "DOSSIER_TOKEN": TOKEN,
               "DOSSIER_RUN_ID": "py-it-1", "DOSSIER_OUTBOX": self.outbox, "DOSSIER_PROJECT": "llama-ft",
               "DOSSIER_MODEL": "llama-3-8b", "DOSSIER_PRODUCER_ID": "workload:python-it"}
        return Dossier.from_env(env, install_handlers=False, background=False, timeout=2)

    def test_outbox_delivers_after_daemon_comes_back(self):
        d = self.client()  # registers the run: queued, the daemon is down
        names = ["train", "validation", "test"]
        for n in names:
            res = d.submit("dataset", dataset(n), step="dataset:" + n)
            self.assertTrue(res.get("queued"), res)
        self.assertTrue(d.close("completed")["queued"])
        self.assertEqual(d.pending(), 5)  # registration, 3 datasets, run-closed

        self.start()
        self.assertEqual(d.flush(), 0)
        recs = self.get("/v1/runs/py-it-1/records")["records"]
        self.assertEqual([r["seq"] for r in recs], [0, 1, 2, 3])
        self.assertTrue(all(r["receipt"].startswith("sha256:") for r in recs))

        # A new process resubmitting the same bodies changes nothing.
        self.stop()
        self.start()
        d2 = self.client()
        before = len(self.get("/v1/runs/py-it-1/records")["records"])
        d2.flush()
        self.assertEqual(len(self.get("/v1/runs/py-it-1/records")["records"]), before)

    def with_keyring(self):
        """Reviewer keys rita and victor in a keyring the daemon checks
        approvals against."""
        p = lambda *a: os.path.join(self.tmp, *a)  # noqa: E731
        for k in ("root", "rita", "victor"):
            dossier("key", "generate", "--unencrypted", "--output", p(k))
        dossier("keyring", "create", "--root-key", p("root.key"), "-o", p("keyring-v1.json"),
                "--add", "root:%s:Root:person:root:security" % p("root.pub"),
                "--add", "ingest,time:%s:Dossierd:workload:dossierd:ops" % p("ingest.pub"),
                "--add", "log:%s:Log:workload:dossierd-log:ops" % p("logkey.vkey"),
                "--add", "reviewer:%s:Rita:person:rita:validation" % p("rita.pub"),
                "--add", "reviewer:%s:Victor:person:victor:validation" % p("victor.pub"))
        self.config["keyring"] = [p("keyring-v1.json")]
        self.config["keyringRoot"] = dossier("keyring", "fingerprint", p("keyring-v1.json")).strip()
        with open(p("dossierd.json"), "w") as f:
            json.dump(self.config, f)

    def approve(self, who, review, out):
        p = lambda *a: os.path.join(self.tmp, *a)  # noqa: E731
        dossier("approve", "--review", review, "--key", p(who + ".key"), "--name", who.title(),
                "--keyring", p("keyring-v1.json"), "--meaning", "approval", "--decision", "approve", "-o", out)
        return out

    def test_reviewer_round_trip(self):
        self.with_keyring()
        self.start()
        d = self.client()
        recs = [d.submit("dataset", dataset(n), step="dataset:" + n)["record"] for n in ("train", "test")]
        r = Reviewer("http://127.0.0.1:%d" % self.review_port, token=TOKEN)
        review = os.path.join(self.tmp, "review.html")
        got = r.fetch_review("py-it-1", review)
        self.assertTrue(set(recs) <= set(got["reviewedRecords"]), got)
        with self.assertRaises(FileExistsError):
            r.fetch_review("py-it-1", review)
        ans = r.submit_approval(self.approve("rita", review, os.path.join(self.tmp, "ap-rita.json")))
        self.assertTrue(ans["record"].startswith("sha256:") and ans["receipt"].startswith("sha256:"), ans)
        logged = [x["record"] for x in self.get("/v1/runs/py-it-1/records")["records"]]
        self.assertIn(ans["record"], logged)
        self.assertEqual(r.submit_approval(os.path.join(self.tmp, "ap-rita.json"))["record"], ans["record"])
        # A record logged after the review makes it stale.
        d.submit("dataset", dataset("late"), step="dataset:late")
        with self.assertRaises(DossierError) as cm:
            r.submit_approval(self.approve("victor", review, os.path.join(self.tmp, "ap-victor.json")))
        self.assertEqual((cm.exception.status, cm.exception.code), (422, "approval-refused"))

    def test_direct_submission(self):
        self.start()
        d = self.client()
        res = d.submit("dataset", dataset("train"))
        self.assertEqual(res.get("seq"), 0, res)
        self.assertIn(res.get("timeVerdict"), ("good", "degraded", "untraceable", "bad", "unknown"))
        again = d.submit("dataset", dataset("train"))  # a new producedAt: a new record
        self.assertEqual(again.get("seq"), 1, again)


def dossier(*args):
    """Runs the dossier CLI; its stdout."""
    r = subprocess.run([DOSSIER] + list(args), capture_output=True)
    if r.returncode != 0:
        raise AssertionError("dossier %s: exit %d\n%s" % (" ".join(args[:2]), r.returncode, r.stderr.decode()))
    return r.stdout.decode()


def dataset(name):
    """A minimal valid dataset predicate (pkg/record's template, trimmed)."""
    with open(os.path.join(HERE, "testdata", "dataset.json")) as f:
        p = json.load(f)
    p["name"] = name
    return p


if __name__ == "__main__":
    if not (os.access(DOSSIERD, os.X_OK) and os.access(DOSSIER, os.X_OK)):
        print("integration_test: set DOSSIERD and DOSSIER to the built binaries", file=sys.stderr)
        sys.exit(2)
    unittest.main()
