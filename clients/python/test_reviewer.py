"""Tests of dossier_client.Reviewer (the review API: review documents,
approval and plan uploads) against a fake review listener.

Run: python3 -m unittest discover -s clients/python -p 'test_*.py' -v
"""

import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from dossier_client import DossierError, Reviewer, bundle_run_id, content_digest, idempotency_key  # noqa: E402

TOKEN = "reviewer-token"
RUN = "llama/ft-7"  # a run id the path must escape
REVIEW = (b'<!DOCTYPE html><p>Run llama/ft-7</p><pre id="dossier-review-manifest">'
          b'{&#34;mediaType&#34;:&#34;application/vnd.dossier.review-manifest.v1+json&#34;,'
          b'&#34;runId&#34;:&#34;llama/ft-7&#34;,&#34;runRoot&#34;:&#34;sha256:' + b"ab" * 32 + b'&#34;,'
          b'&#34;reviewedRecords&#34;:[&#34;sha256:' + b"01" * 32 + b'&#34;,&#34;sha256:' + b"02" * 32 + b'&#34;]}</pre>')


def bundle(kind, run_id=RUN):
    """A record bundle of kind for run_id as 'dossier approve' writes one
    (the signature is the daemon's business, not the client's)."""
    st = {"_type": "https://in-toto.io/Statement/v1",
          "subject": [{"name": "run:" + run_id, "digest": {"sha256": "ab" * 32}}],
          "predicateType": "https://dossier.dev/predicates/%s/v1" % kind,
          "predicate": {"runId": run_id, "attempt": 1}}
    payload = base64.b64encode(json.dumps(st).encode()).decode()
    return json.dumps({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                       "verificationMaterial": {"publicKey": {"hint": "SHA256:x"}},
                       "dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json",
                                        "signatures": [{"sig": "AA==", "keyid": "SHA256:x"}]}},
                      indent=1).encode()


class FakeReviewListener(object):
    """dossierd's review listener in miniature: GET .../review, POST
    .../approvals and .../plans; answers set per test."""

    def __init__(self):
        self.requests = []
        self.answer = (201, {"record": "sha256:" + "cd" * 32, "logIndex": 42, "receipt": "sha256:" + "ef" * 32})
        self.review = REVIEW
        self.view_digest = content_digest(REVIEW)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, body, ctype, headers=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def problem(self, status, code):
                self.reply(status, json.dumps({"status": status, "code": code, "detail": code}).encode(),
                           "application/problem+json")

            def do_GET(self):
                fake.requests.append(("GET", self.path, dict(self.headers), b""))
                if self.headers.get("Authorization") != "Bearer " + TOKEN:
                    return self.problem(403, "forbidden")
                if self.path != "/v1/runs/llama%2Fft-7/review":
                    return self.problem(404, "not-found")
                self.reply(200, fake.review, "text/html; charset=utf-8", [("Dossier-View-Digest", fake.view_digest)])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.requests.append(("POST", self.path, dict(self.headers), body))
                if self.headers.get("Authorization") != "Bearer " + TOKEN:
                    return self.problem(403, "forbidden")
                status, doc = fake.answer
                ctype = "application/json" if status < 400 else "application/problem+json"
                self.reply(status, json.dumps(doc).encode(), ctype)

        class Server(ThreadingMixIn, HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ReviewerBase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.daemon = FakeReviewListener()
        self.reviewer = Reviewer(self.daemon.url, token=TOKEN, timeout=5)

    def tearDown(self):
        self.daemon.stop()
        shutil.rmtree(self.tmp)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path


class TestUpload(ReviewerBase):
    def test_approval_and_plan_go_to_their_paths_byte_for_byte(self):
        for kind, method, suffix in (("approval", "submit_approval", "/approvals"),
                                     ("evaluation-plan", "submit_plan", "/plans")):
            b = bundle(kind)
            ans = getattr(self.reviewer, method)(self.write(kind + ".json", b))
            self.assertEqual(ans["logIndex"], 42)
            verb, path, headers, body = self.daemon.requests[-1]
            self.assertEqual((verb, path, body), ("POST", "/v1/runs/llama%2Fft-7" + suffix, b))
            self.assertEqual(headers["Idempotency-Key"], idempotency_key(RUN, kind, 1, content_digest(b)))
            self.assertEqual(headers["Content-Type"], "application/json")

    def test_refusal_raises_with_the_problem(self):
        self.daemon.answer = (422, {"status": 422, "code": "approval-refused", "detail": "signed another review document"})
        with self.assertRaises(DossierError) as cm:
            self.reviewer.submit_approval(self.write("a.json", bundle("approval")))
        self.assertEqual((cm.exception.status, cm.exception.code), (422, "approval-refused"))
        self.assertIn("signed another review document", str(cm.exception))

    def test_wrong_token_raises_forbidden(self):
        r = Reviewer(self.daemon.url, token="producer-token")
        with self.assertRaises(DossierError) as cm:
            r.submit_plan(self.write("p.json", bundle("evaluation-plan")))
        self.assertEqual(cm.exception.status, 403)

    def test_unreachable_daemon_raises_never_queues(self):
        url = self.daemon.url
        self.daemon.stop()
        with self.assertRaises(DossierError) as cm:
            Reviewer(url, token=TOKEN, timeout=2).submit_approval(self.write("a.json", bundle("approval")))
        self.assertEqual(cm.exception.status, 0)
        self.assertIn("unreachable", str(cm.exception))
        self.daemon = FakeReviewListener()  # for tearDown

    def test_files_that_are_not_the_kind_are_not_sent(self):
        cases = {
            "a plan sent as an approval": ("submit_approval", bundle("evaluation-plan"), "want https://dossier.dev/predicates/approval/v1"),
            "an approval sent as a plan": ("submit_plan", bundle("approval"), "evaluation-plan/v1"),
            "not JSON": ("submit_approval", b"\x00garbage", "not a record bundle"),
            "no envelope": ("submit_approval", b'{"mediaType":"x"}', "not a record bundle"),
            "payload not base64": ("submit_approval", b'{"dsseEnvelope":{"payload":"!!"}}', "not a record bundle"),
            "no runId": ("submit_approval", bundle("approval", run_id=""), "names no runId"),
        }
        for name, (method, data, want) in sorted(cases.items()):
            with self.subTest(name):
                with self.assertRaises(DossierError) as cm:
                    getattr(self.reviewer, method)(self.write("x.json", data))
                self.assertIn(want, str(cm.exception))
        self.assertEqual(self.daemon.requests, [])

    def test_bundle_run_id(self):
        self.assertEqual(bundle_run_id(bundle("approval", "r-1"), "approval"), "r-1")

    def test_from_env_reads_the_token_file(self):
        tok = self.write("tok", (TOKEN + "\n").encode())
        r = Reviewer.from_env({"DOSSIER_URL": self.daemon.url, "DOSSIER_TOKEN_FILE": tok})
        self.assertEqual(r.submit_approval(self.write("a.json", bundle("approval")))["logIndex"], 42)
        with self.assertRaises(DossierError):
            Reviewer.from_env({})


class TestFetchReview(ReviewerBase):
    def test_writes_the_document_and_returns_what_an_approval_signs(self):
        out = os.path.join(self.tmp, "review.html")
        got = self.reviewer.fetch_review(RUN, out)
        self.assertEqual(got, {"runId": RUN, "view": "sha256:" + hashlib.sha256(REVIEW).hexdigest(), "path": out,
                               "reviewedRecords": ["sha256:" + "01" * 32, "sha256:" + "02" * 32]})
        with open(out, "rb") as f:
            self.assertEqual(f.read(), REVIEW)
        self.assertEqual(os.listdir(self.tmp), ["review.html"])  # no temporary file left

    def test_never_overwrites(self):
        out = self.write("review.html", b"mine")
        with self.assertRaises(FileExistsError):
            self.reviewer.fetch_review(RUN, out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"mine")
        self.assertEqual(os.listdir(self.tmp), ["review.html"])

    def test_refusals_write_nothing(self):
        cases = {
            "digest mismatch": (TOKEN, RUN, content_digest(b"other"), REVIEW, "does not match its view digest"),
            "no digest header": (TOKEN, RUN, "", REVIEW, "does not match its view digest"),
            "not a review document": (TOKEN, RUN, content_digest(b"<p>x</p>"), b"<p>x</p>", "no valid review manifest"),
            "another run's document": (TOKEN, RUN, None, REVIEW.replace(b"llama/ft-7", b"other-run"), "of run 'other-run'"),
            "unknown run": (TOKEN, "nope", None, REVIEW, "404"),
            "forbidden": ("producer-token", RUN, None, REVIEW, "403"),
        }
        for name, (token, run, digest, doc, want) in sorted(cases.items()):
            with self.subTest(name):
                self.daemon.review = doc
                self.daemon.view_digest = content_digest(doc) if digest is None else digest
                out = os.path.join(self.tmp, "review.html")
                with self.assertRaises(DossierError) as cm:
                    Reviewer(self.daemon.url, token=token).fetch_review(run, out)
                self.assertIn(want, str(cm.exception))
                self.assertEqual(os.listdir(self.tmp), [])


if __name__ == "__main__":
    unittest.main()
