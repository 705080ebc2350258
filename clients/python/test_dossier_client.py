"""Tests of dossier_client against a fake dossierd (http.server).

Run: python3 -m unittest discover -s clients/python -v
"""

import ast
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dossier_client  # noqa: E402
from dossier_client import Dossier, DossierError, NoopDossier, content_digest, idempotency_key  # noqa: E402

# The same value pkg/client's TestIdempotencyKeyRecipe pins.
GOLDEN_KEY = "dk1-7a34b6f7a1bc9a08dbdd421ea72737eca39f4e025b3648fe2a5464ccff1b3333"


class FakeDaemon(object):
    """dossierd API v1 in miniature: idempotency keys, refusal, final errors."""

    def __init__(self, token="tok", port=0):
        self.token = token
        self.refuse = False
        self.reject_kind = None
        self.keys = {}
        self.records = []
        self.runs = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                status, doc, headers = fake.handle(self.path, self.headers, body)
                data = json.dumps(doc).encode()
                self.send_response(status)
                ctype = "application/json" if status < 400 else "application/problem+json"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingMixIn, HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path, headers, body):
        with self.lock:
            if self.token and headers.get("Authorization") != "Bearer " + self.token:
                return 401, {"code": "unauthenticated", "status": 401}, {}
            if self.refuse:
                return 503, {"code": "time-untrusted", "status": 503}, {"Retry-After": "1"}
            key = headers.get("Idempotency-Key")
            if not key:
                return 400, {"code": "idempotency-key-invalid"}, {}
            h = hashlib.sha256(body).hexdigest()
            if key in self.keys:
                stored_hash, answer = self.keys[key]
                if stored_hash != h:
                    return 422, {"code": "idempotency-key-reused"}, {}
                return 200, answer, {}
            req = json.loads(body.decode())
            if path == "/v1/runs":
                self.runs[req["runId"]] = req
                answer = {"runId": req["runId"], "digest": "sha256:" + h, "tag": "run-" + req["runId"]}
            elif path.startswith("/v1/runs/") and path.endswith("/records"):
                if req.get("kind") == self.reject_kind:
                    return 400, {"code": "invalid-record", "detail": "bad predicate"}, {}
                self.records.append((path.split("/")[3], req))
                answer = {"record": "sha256:" + h, "seq": len(self.records) - 1, "logIndex": len(self.records) - 1,
                          "timeVerdict": "good", "flags": []}
            else:
                return 404, {"code": "not-found"}, {}
            self.keys[key] = (h, answer)
            return 201, answer, {}

    def kinds(self):
        with self.lock:
            return [r[1]["kind"] for r in self.records]

    def names(self):
        with self.lock:
            return [r[1]["predicate"].get("name") for r in self.records]


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.outbox = os.path.join(self.tmp, "outbox")
        self.daemon = FakeDaemon()

    def tearDown(self):
        self.daemon.stop()
        shutil.rmtree(self.tmp)

    def client(self, url=None, **kw):
        kw.setdefault("install_handlers", False)
        kw.setdefault("background", False)
        return Dossier(url or self.daemon.url, "run-1", token="tok", outbox=self.outbox,
                       producer={"id": "workload:test", "name": "test", "kind": "workload"}, **kw)


class TestRecipe(unittest.TestCase):
    def test_golden_key_matches_go(self):
        key = idempotency_key("run-1", "dataset", 2, content_digest(b'{"kind":"dataset"}'))
        self.assertEqual(key, GOLDEN_KEY)

    def test_python38_syntax(self):
        with open(dossier_client.__file__) as f:
            ast.parse(f.read(), feature_version=(3, 8))


class TestSubmit(Base):
    def test_direct_fills_common_fields(self):
        d = self.client()
        res = d.submit("dataset", {"name": "train"})
        self.assertIn("record", res)
        self.assertFalse(res.get("queued"))
        pred = self.daemon.records[0][1]["predicate"]
        self.assertEqual(pred["runId"], "run-1")
        self.assertEqual(pred["attempt"], 1)
        self.assertTrue(pred["producedAt"].endswith("Z"))
        self.assertEqual(pred["producer"]["id"], "workload:test")
        self.assertEqual(d.pending(), 0)

    def test_refused_then_flushed_in_order(self):
        d = self.client()
        self.daemon.refuse = True
        for n in ("a", "b", "c"):
            self.assertTrue(d.submit("dataset", {"name": n})["queued"])
        self.assertEqual(d.pending(), 3)
        self.daemon.refuse = False
        self.assertEqual(d.flush(), 0)
        self.assertEqual(self.daemon.names(), ["a", "b", "c"])

    def test_daemon_down_then_new_process_flushes(self):
        port = free_port()
        d = self.client(url="http://127.0.0.1:%d" % port, timeout=1)
        self.assertTrue(d.submit("dataset", {"name": "a"})["queued"])
        self.assertTrue(d.close("failed", "CUDA OOM")["queued"])
        later = FakeDaemon(port=port)
        try:
            d2 = self.client(url=later.url)
            self.assertEqual(d2.flush(), 0)
            self.assertEqual(later.kinds(), ["dataset", "run-closed"])
            self.assertEqual(later.records[1][1]["predicate"]["status"], "failed")
        finally:
            later.stop()

    def test_final_refusal_goes_to_dead_letters(self):
        d = self.client()
        self.daemon.reject_kind = "evaluation"
        res = d.submit("evaluation", {"name": "x"})
        self.assertEqual(res["code"], "invalid-record")
        self.assertEqual(sorted(os.listdir(os.path.join(self.outbox, "dead"))),
                         ["00000000000000000001.json", "00000000000000000001.problem.json"])
        self.assertEqual(d.submit("dataset", {"name": "ok"}).get("seq"), 0)
        with self.assertRaises(DossierError):
            self.client(strict=True).submit("evaluation", {"name": "y"})

    def test_resubmission_is_answered_from_store(self):
        d = self.client()
        fixed = {"name": "a", "producedAt": "2026-11-27T12:00:00Z"}
        r1 = d.submit("dataset", fixed)
        r2 = d.submit("dataset", fixed)
        self.assertEqual(r1["record"], r2["record"])
        self.assertEqual(len(self.daemon.records), 1)

    def test_register_run(self):
        d = self.client()
        res = d.register_run("llama-ft", "llama-3-8b")
        self.assertEqual(res["runId"], "run-1")
        reg = self.daemon.runs["run-1"]
        self.assertEqual(reg["schema"], "https://dossier.dev/run/registration/v1")
        self.assertNotIn("startedAt", reg)
        d.register_run("llama-ft", "llama-3-8b", started_at="2026-11-27T12:00:00Z")
        self.assertEqual(self.daemon.runs["run-1"]["startedAt"], "2026-11-27T12:00:00Z")

    def test_usage_errors_do_not_raise_unless_strict(self):
        d = self.client()
        self.assertIn("unknown record kind", d.submit("datasets", {})["error"])
        self.assertIn("predicate must be a dict", d.submit("dataset", [1])["error"])
        self.assertIn("not JSON serialisable", d.submit("dataset", {"x": object()})["error"])
        self.assertIn("error", d.submit("dataset", {"loss": float("nan")}))
        with self.assertRaises(DossierError):
            self.client(strict=True).submit("datasets", {})
        with self.assertRaises(DossierError):
            Dossier("localhost:1", "r", install_handlers=False)

    def test_ml_values_are_encoded(self):
        class Scalar(object):  # a numpy scalar in miniature
            shape = ()

            def item(self):
                return 0.5

        class Array(object):
            shape = (2,)

            def tolist(self):
                return [1, 2]

        import datetime as dt
        res = self.client().submit("evaluation", {"name": "x", "score": Scalar(), "hist": Array(),
                                                  "at": dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)})
        self.assertIn("record", res)
        p = self.daemon.records[0][1]["predicate"]
        self.assertEqual((p["score"], p["hist"], p["at"]), (0.5, [1, 2], "2026-11-27T12:00:00.000000Z"))

    def test_unwritable_outbox_sends_directly(self):
        d = self.client()

        def broken(entry):
            raise OSError(28, "No space left on device")

        d.outbox.enqueue = broken
        self.assertIn("record", d.submit("dataset", {"name": "a"}))
        self.daemon.refuse = True
        self.assertIn("record lost", d.submit("dataset", {"name": "b"})["error"])

    def test_corrupt_entry_is_set_aside(self):
        d = self.client()
        self.daemon.refuse = True
        d.submit("dataset", {"name": "a"})
        with open(os.path.join(self.outbox, "%020d.json" % 9), "w") as f:
            f.write("{not json")
        d.submit("dataset", {"name": "b"})
        self.daemon.refuse = False
        self.assertEqual(d.flush(), 0)
        self.assertEqual(self.daemon.names(), ["a", "b"])
        self.assertIn("00000000000000000009.json", os.listdir(os.path.join(self.outbox, "dead")))

    def test_from_env_rank_and_disable(self):
        self.assertIsInstance(Dossier.from_env({"RANK": "1", "DOSSIER_URL": "http://x"}), NoopDossier)
        self.assertIsInstance(Dossier.from_env({"DOSSIER_DISABLE": "1"}), NoopDossier)
        d = Dossier.from_env({"DOSSIER_URL": self.daemon.url, "DOSSIER_RUN_ID": "r-9", "DOSSIER_TOKEN": "tok",
                              "DOSSIER_OUTBOX": self.outbox, "SLURM_RESTART_COUNT": "2",
                              "DOSSIER_PROJECT": "p", "DOSSIER_MODEL": "m"},
                             install_handlers=False, background=False)
        self.assertEqual(d.attempt, 3)
        self.assertIn("r-9", self.daemon.runs)

    def test_go_outbox_format(self):
        """An entry as the Go client writes it is delivered by Python."""
        os.makedirs(os.path.join(self.outbox, "dead"))
        body = json.dumps({"kind": "dataset", "predicate": {"name": "from-go"}})
        entry = {"v": 1, "seq": 7, "method": "POST", "path": "/v1/runs/run-1/records", "key": "dk1-" + "0" * 64,
                 "body": body, "runId": "run-1", "kind": "dataset", "queuedAt": "2026-11-27T12:00:00Z"}
        with open(os.path.join(self.outbox, "%020d.json" % 7), "w") as f:
            json.dump(entry, f)
        self.assertEqual(self.client().flush(), 0)
        self.assertEqual(self.daemon.names(), ["from-go"])


SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, %(here)r)
    from dossier_client import Dossier
    d = Dossier.from_env()
    d.submit("dataset", {"name": "train"})
    mode = sys.argv[1]
    if mode == "raise":
        raise RuntimeError("loss is NaN")
    if mode == "wait":
        print("ready", flush=True)
        time.sleep(30)
""")


class TestExitHandling(Base):
    def run_script(self, mode):
        path = os.path.join(self.tmp, "train.py")
        with open(path, "w") as f:
            f.write(SCRIPT % {"here": HERE})
        env = dict(os.environ, DOSSIER_URL=self.daemon.url, DOSSIER_RUN_ID="run-1", DOSSIER_TOKEN="tok",
                   DOSSIER_OUTBOX=self.outbox)
        env.pop("RANK", None)
        p = subprocess.Popen([sys.executable, path, mode], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if mode == "wait":
            self.assertEqual(p.stdout.readline().strip(), b"ready")
            p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
        return p.returncode

    def closed(self):
        recs = [r[1] for r in self.daemon.records if r[1]["kind"] == "run-closed"]
        self.assertEqual(len(recs), 1, self.daemon.records)
        return recs[0]["predicate"]

    def test_normal_exit_completes(self):
        self.assertEqual(self.run_script("ok"), 0)
        self.assertEqual(self.closed()["status"], "completed")

    def test_exception_fails(self):
        self.assertNotEqual(self.run_script("raise"), 0)
        p = self.closed()
        self.assertEqual(p["status"], "failed")
        self.assertIn("loss is NaN", p["reason"])

    def test_sigterm_aborts(self):
        self.assertEqual(self.run_script("wait"), -signal.SIGTERM)
        p = self.closed()
        self.assertEqual(p["status"], "aborted")
        self.assertIn("SIGTERM", p["reason"])


if __name__ == "__main__":
    unittest.main()
