"""dossier_client: send training records to dossierd without ever failing the job.

Single file, Python 3.8+, standard library only. Copy it next to your training
script (it is also in the Dossier release bundle). On rank 0:

    from dossier_client import Dossier
    d = Dossier.from_env()
    d.submit("dataset", {"name": "train", "content": [...]})

Every submission is first written durably (fsync) to a local outbox
directory, then delivered to dossierd in order. When the daemon is down,
overloaded or refuses for time (503), the records stay in the outbox and are
retried later with backoff (a background thread, the next submission, the
exit handler, the next process using the same outbox, or
``dossier submit flush`` from a shell). The run's end is sent as a
run-closed record from an exit handler: "completed" on a normal exit,
"failed" after an uncaught exception, "aborted" on SIGTERM (Slurm
preemption, Kubernetes eviction) or Ctrl-C.

The outbox format and the Idempotency-Key recipe are shared with the Go
client (pkg/client): see ``idempotency_key``.

Environment used by ``Dossier.from_env``:

    DOSSIER_URL            daemon URL, e.g. https://dossierd.dmz:8443 (required)
    DOSSIER_TOKEN          bearer token (or DOSSIER_TOKEN_FILE, a file holding it;
                           a Kubernetes projected service-account token works)
    DOSSIER_RUN_ID         the run id (required)
    DOSSIER_PROJECT, DOSSIER_MODEL, DOSSIER_RUN_DESCRIPTION
                           when DOSSIER_PROJECT is set, the run is registered
    DOSSIER_OUTBOX         outbox directory (default ~/.cache/dossier/outbox)
    DOSSIER_ATTEMPT        attempt number (default SLURM_RESTART_COUNT + 1, else 1)
    DOSSIER_PRODUCER_ID, DOSSIER_PRODUCER_NAME, DOSSIER_PRODUCER_KIND
                           who produces the records (default workload:<hostname>)
    DOSSIER_CA_FILE        CA bundle for the daemon's certificate
    DOSSIER_CERT_FILE, DOSSIER_KEY_FILE   client certificate for mTLS
    DOSSIER_DISABLE=1      turn the client into a no-op
Only rank 0 sends: when RANK, SLURM_PROCID or OMPI_COMM_WORLD_RANK is set
and not 0, ``from_env`` returns a no-op client.

Reviewers use ``Reviewer`` instead (the review listener, reviewer
credentials, nothing queued): ``fetch_review(run_id, path)``,
``submit_approval(path)`` for an approval signed with ``dossier approve``,
``submit_plan(path)`` for an evaluation plan signed by a validator.
"""

from __future__ import absolute_import

import atexit
import datetime
import errno
import fcntl
import hashlib
import json
import logging
import os
import random
import signal
import socket
import ssl
import sys
import threading
import time

try:  # Python 3
    from urllib import request as _urlrequest
    from urllib import error as _urlerror
    from urllib.parse import quote as _quote
except ImportError:  # pragma: no cover
    raise

__all__ = ["Dossier", "DossierError", "Reviewer", "bundle_run_id", "idempotency_key", "content_digest", "NoopDossier"]
__version__ = "1"

log = logging.getLogger("dossier_client")

ENTRY_VERSION = 1
REGISTRATION_SCHEMA = "https://dossier.dev/run/registration/v1"
_KINDS = (
    "dataset", "training-run", "evaluation-plan", "evaluation", "model-release", "approval",
    "run-closed", "correction", "attachment", "deployment",
)
_RETRYABLE_STATUS = (408, 425, 429)
_MAX_ANSWER = 1 << 20


class DossierError(Exception):
    """A final refusal by the daemon (or a usage error). ``status`` and
    ``code`` carry the daemon's problem document when there is one."""

    def __init__(self, message, status=0, code="", body=b""):
        Exception.__init__(self, message)
        self.status = status
        self.code = code
        self.body = body


def content_digest(body):
    """'sha256:<hex>' of the request body bytes."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def idempotency_key(run_id, step, attempt, digest):
    """The Idempotency-Key recipe shared with the Go client:

    "dk1-" + hex(sha256("dossier-idempotency-v1\\n" + run_id + "\\n" + step +
                        "\\n" + str(attempt) + "\\n" + content_digest))

    step names the logical event in the run (default: the record kind),
    attempt the retry of the whole job (Slurm requeue, Airflow try) and the
    digest the exact body, which the outbox resends byte for byte.
    """
    text = "dossier-idempotency-v1\n%s\n%s\n%d\n%s" % (run_id, step, int(attempt), digest)
    return "dk1-" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now_rfc3339(now=None):
    t = now() if now is not None else datetime.datetime.now(datetime.timezone.utc)
    t = t.astimezone(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(o):
    """Encode what training scripts hand us: numpy scalars and arrays
    (.item(), .tolist()), datetimes (RFC 3339 UTC), paths and sets."""
    if hasattr(o, "item") and callable(o.item) and getattr(o, "shape", None) == ():
        return o.item()
    if hasattr(o, "tolist") and callable(o.tolist):
        return o.tolist()
    if isinstance(o, datetime.datetime):
        return _now_rfc3339(lambda: o if o.tzinfo else o.replace(tzinfo=datetime.timezone.utc))
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError("%s is not JSON serialisable" % type(o).__name__)


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                      allow_nan=False, default=_json_default).encode("utf-8")


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Lock(object):
    """An exclusive flock(2) on a file, shared with the Go client."""

    def __init__(self, path, wait):
        self.path = path
        self.wait = wait
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        how = fcntl.LOCK_EX
        if not self.wait:
            how |= fcntl.LOCK_NB
        try:
            fcntl.flock(self.fd, how)
        except (IOError, OSError) as e:
            os.close(self.fd)
            self.fd = None
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise
        return True

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


class Outbox(object):
    """The durable outbox directory (same format as pkg/client):
    NNNNNNNNNNNNNNNNNNNN.json entries delivered in name order, dead/ for
    entries the daemon refused for good."""

    def __init__(self, path):
        self.path = path
        self.dead = os.path.join(path, "dead")
        if not os.path.isdir(self.dead):
            os.makedirs(self.dead, 0o700)
        self._last = 0
        self._mu = threading.Lock()

    def names(self):
        out = []
        for n in os.listdir(self.path):
            if len(n) == 25 and n.endswith(".json") and n[:20].isdigit() and int(n[:20]) > 0:
                out.append(n)
        out.sort()
        return out

    def enqueue(self, entry):
        with self._mu, _Lock(os.path.join(self.path, ".enqueue.lock"), True):
            names = self.names()
            nxt = self._last + 1
            if names:
                nxt = max(nxt, int(names[-1][:20]) + 1)
            entry["v"] = ENTRY_VERSION
            entry["seq"] = nxt
            name = "%020d.json" % nxt
            self._write_new(os.path.join(self.path, name), _dumps(entry))
            self._last = nxt
            return name

    def _write_new(self, path, data):
        if os.path.lexists(path):
            raise OSError(errno.EEXIST, "outbox entry exists", path)
        tmp = "%s.tmp-%d-%d" % (path, os.getpid(), threading.get_ident())
        tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(tmp))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
        _fsync_dir(self.path)

    def read(self, name):
        with open(os.path.join(self.path, name), "rb") as f:
            data = f.read(8 << 20)
        e = json.loads(data.decode("utf-8"))
        if e.get("v") != ENTRY_VERSION or not e.get("key") or not str(e.get("path", "")).startswith("/v1/"):
            raise ValueError("%s: not an outbox entry of version %d" % (name, ENTRY_VERSION))
        return e

    def remove(self, name):
        try:
            os.remove(os.path.join(self.path, name))
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
        _fsync_dir(self.path)

    def bury(self, name, problem):
        if problem:
            p = os.path.join(self.dead, name[:-5] + ".problem.json")
            tmp = p + ".tmp"
            with open(tmp, "wb") as f:
                f.write(problem)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, p)
        os.rename(os.path.join(self.path, name), os.path.join(self.dead, name))
        _fsync_dir(self.dead)
        _fsync_dir(self.path)


class _NoRedirect(_urlrequest.HTTPRedirectHandler):
    """Never follow a redirect: credentials stay with the configured daemon."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class _Retry(Exception):
    def __init__(self, message, after=0.0):
        Exception.__init__(self, message)
        self.after = after


class Dossier(object):
    """A dossierd client for one run. Methods never raise for an unreachable
    or refusing daemon: the record is queued and the result says
    ``{"queued": True}``. A final refusal (invalid record, unauthenticated)
    is logged and the entry moved to OUTBOX/dead; with ``strict=True`` it
    raises DossierError instead."""

    def __init__(self, url, run_id, token=None, outbox=None, attempt=1, producer=None,
                 ca_file=None, cert_file=None, key_file=None, timeout=10.0, strict=False,
                 install_handlers=True, background=True, exit_flush_timeout=10.0, now=None):
        if not url.startswith("http://") and not url.startswith("https://"):
            raise DossierError("DOSSIER_URL %r: want http(s)://host:port" % url)
        if not run_id:
            raise DossierError("a run id is required")
        self.url = url.rstrip("/")
        self.run_id = run_id
        self.token = token
        self.attempt = int(attempt)
        self.producer = producer or _default_producer()
        self.timeout = timeout
        self.strict = strict
        self.exit_flush_timeout = exit_flush_timeout
        self._now = now
        ctx = _ssl_context(ca_file, cert_file, key_file) if url.startswith("https://") else None
        self._opener = _urlrequest.build_opener(_NoRedirect, _urlrequest.HTTPSHandler(context=ctx))
        self.outbox = Outbox(outbox or _default_outbox())
        self._flush_mu = threading.Lock()
        self._backoff = 0.0
        self._next_try = 0.0
        self._closed = False
        self._exc = None
        self._bg = None
        self._background = background
        self._stop = threading.Event()
        if install_handlers:
            self._install_handlers()

    @classmethod
    def from_env(cls, environ=None, **kwargs):
        """A client configured from the environment (see the module doc); a
        no-op client on ranks other than 0 or when DOSSIER_DISABLE=1."""
        env = os.environ if environ is None else environ
        if env.get("DOSSIER_DISABLE") == "1" or _rank(env) != 0:
            return NoopDossier()
        token = env.get("DOSSIER_TOKEN")
        if not token and env.get("DOSSIER_TOKEN_FILE"):
            with open(env["DOSSIER_TOKEN_FILE"]) as f:
                token = f.read().strip()
        producer = None
        if env.get("DOSSIER_PRODUCER_ID"):
            producer = {"id": env["DOSSIER_PRODUCER_ID"],
                        "name": env.get("DOSSIER_PRODUCER_NAME", env["DOSSIER_PRODUCER_ID"]),
                        "kind": env.get("DOSSIER_PRODUCER_KIND", "workload")}
        d = cls(env.get("DOSSIER_URL", ""), env.get("DOSSIER_RUN_ID", ""), token=token,
                outbox=env.get("DOSSIER_OUTBOX"), attempt=_attempt(env), producer=producer,
                ca_file=env.get("DOSSIER_CA_FILE"), cert_file=env.get("DOSSIER_CERT_FILE"),
                key_file=env.get("DOSSIER_KEY_FILE"), **kwargs)
        if env.get("DOSSIER_PROJECT"):
            d.register_run(env["DOSSIER_PROJECT"], env.get("DOSSIER_MODEL", env["DOSSIER_PROJECT"]),
                           description=env.get("DOSSIER_RUN_DESCRIPTION"))
        return d

    # --- API ---------------------------------------------------------------

    def register_run(self, project, model, description=None, started_at=None, started_by=None):
        """Register the run. Without started_at the daemon stamps the start
        time, so a restarted job registering again matches the first
        registration instead of conflicting with it."""
        by = started_by or self.producer
        reg = {"schema": REGISTRATION_SCHEMA, "runId": self.run_id, "project": project, "model": model,
               "startedBy": {"id": by["id"], "name": by.get("name", ""), "kind": by["kind"]}}
        if started_at:
            reg["startedAt"] = started_at
        if description:
            reg["description"] = description
        body = _dumps(reg)
        key = idempotency_key(self.run_id, "register", 0, content_digest(body))
        try:
            return self._deliver({"method": "POST", "path": "/v1/runs", "key": key, "body": body.decode("utf-8"),
                                  "runId": self.run_id, "kind": "run"})
        except DossierError as e:
            return self._refused(e)

    def submit(self, kind, predicate, step=None):
        """Submit an unsigned predicate of ``kind``; the daemon signs it.
        runId, attempt, producedAt and producer are filled in when absent.
        Returns the daemon's answer, ``{"queued": True, ...}`` when the
        record waits in the outbox, or ``{"error": ...}`` (logged) when it
        cannot be sent at all; with strict=True errors raise DossierError."""
        try:
            return self._submit(kind, predicate, step)
        except DossierError as e:
            return self._refused(e)
        except (TypeError, ValueError) as e:
            return self._refused(DossierError("%s predicate: %s" % (kind, e)))

    def _submit(self, kind, predicate, step):
        if kind not in _KINDS:
            raise DossierError("unknown record kind %r (want one of %s)" % (kind, ", ".join(_KINDS)))
        if not isinstance(predicate, dict):
            raise DossierError("predicate must be a dict, not %s" % type(predicate).__name__)
        p = dict(predicate)
        p.setdefault("runId", self.run_id)
        p.setdefault("attempt", self.attempt)
        p.setdefault("producedAt", _now_rfc3339(self._now))
        p.setdefault("producer", self.producer)
        body = _dumps({"kind": kind, "predicate": p})
        key = idempotency_key(self.run_id, step or kind, int(p["attempt"]), content_digest(body))
        path = "/v1/runs/%s/records" % _quote(self.run_id, safe="")
        return self._deliver({"method": "POST", "path": path, "key": key, "body": body.decode("utf-8"),
                              "runId": self.run_id, "kind": kind})

    def _refused(self, err):
        if self.strict:
            raise err
        log.error("dossier: record not sent: %s", err)
        return {"error": str(err), "status": err.status, "code": err.code}

    def close(self, status="completed", reason=None, exit_code=None):
        """Send the run-closed record once: status completed, failed or
        aborted (failed and aborted need a reason)."""
        if self._closed:
            return None
        self._closed = True
        p = {"status": status}
        if reason:
            p["reason"] = reason[:4000]
        elif status != "completed":
            p["reason"] = "no reason given"
        if exit_code is not None:
            p["exitCode"] = int(exit_code)
        return self.submit("run-closed", p)

    def flush(self, timeout=None):
        """Deliver pending entries in order; returns the number still
        pending. Stops at the first retryable failure (order is kept)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._flush(None, deadline)[0]

    def pending(self):
        return len(self.outbox.names())

    # --- delivery ----------------------------------------------------------

    def _deliver(self, entry):
        entry["queuedAt"] = _now_rfc3339(self._now)
        try:
            name = self.outbox.enqueue(entry)
        except OSError as e:
            return self._deliver_direct(entry, e)
        if time.monotonic() < self._next_try:
            self._start_background()
            return {"queued": True, "idempotencyKey": entry["key"]}
        _, own = self._flush(name, None, wait=False)
        if own is None:
            self._start_background()
            return {"queued": True, "idempotencyKey": entry["key"]}
        if isinstance(own, DossierError):
            if self.strict:
                raise own
            log.warning("dossier: record refused for good, kept in %s: %s", self.outbox.dead, own)
            return {"error": str(own), "status": own.status, "code": own.code, "idempotencyKey": entry["key"]}
        own["idempotencyKey"] = entry["key"]
        return own

    def _deliver_direct(self, entry, why):
        """The outbox cannot be written (disk full, permissions): try the
        daemon directly so the record is not lost silently."""
        log.error("dossier: cannot write the outbox %s (%s); sending directly", self.outbox.path, why)
        try:
            answer = self._send(entry)
        except _Retry as e:
            raise DossierError("record lost: outbox unwritable (%s) and daemon unavailable (%s)" % (why, e))
        answer["idempotencyKey"] = entry["key"]
        return answer

    def _flush(self, own, deadline, wait=True):
        """Returns (pending, result of own entry or None). With wait=False
        it returns at once when another thread is flushing."""
        if not self._flush_mu.acquire(wait):
            return len(self.outbox.names()), None
        try:
            return self._flush_locked(own, deadline)
        finally:
            self._flush_mu.release()

    def _flush_locked(self, own, deadline):
        result = None
        with _Lock(os.path.join(self.outbox.path, ".flush.lock"), False) as locked:
            if not locked:
                return len(self.outbox.names()), None
            names = self.outbox.names()
            for i, name in enumerate(names):
                if deadline is not None and time.monotonic() > deadline:
                    return len(names) - i, result
                try:
                    entry = self.outbox.read(name)
                except (OSError, ValueError) as e:
                    log.error("dossier: outbox entry %s unreadable (%s); moved to %s", name, e, self.outbox.dead)
                    self.outbox.bury(name, b"")
                    continue
                try:
                    answer = self._send(entry)
                except _Retry as e:
                    self._fail(e.after)
                    log.info("dossier: daemon unavailable (%s); %d record(s) kept in %s", e, len(names) - i, self.outbox.path)
                    return len(names) - i, result
                except DossierError as e:
                    self.outbox.bury(name, e.body)
                    if name == own:
                        result = e
                    continue
                self.outbox.remove(name)
                if name == own:
                    result = answer
            self._backoff, self._next_try = 0.0, 0.0
            return 0, result

    def _fail(self, after):
        self._backoff = min(max(self._backoff * 2, 1.0), 300.0)
        wait = self._backoff / 2 + random.uniform(0, self._backoff / 2)
        self._next_try = time.monotonic() + max(wait, after)

    def _send(self, entry):
        req = _urlrequest.Request(self.url + entry["path"], data=entry["body"].encode("utf-8"), method=entry["method"])
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json, application/problem+json")
        req.add_header("Idempotency-Key", entry["key"])
        req.add_header("User-Agent", "dossier-client-python/" + __version__)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            resp = self._opener.open(req, timeout=self.timeout)
            with resp:
                data = resp.read(_MAX_ANSWER)
            return json.loads(data.decode("utf-8"))
        except _urlerror.HTTPError as e:
            body = e.read(_MAX_ANSWER) if e.fp is not None else b""
            return self._problem(e.code, e.headers, body)
        except (_urlerror.URLError, socket.timeout, OSError, ValueError) as e:
            raise _Retry(str(e))

    def _problem(self, status, headers, body):
        try:
            doc = json.loads(body.decode("utf-8"))
        except ValueError:
            doc = {}
        code = doc.get("code", "") if isinstance(doc, dict) else ""
        msg = "dossierd answered %d %s: %s" % (status, code, doc.get("detail", "") if isinstance(doc, dict) else "")
        if status >= 500 or status in _RETRYABLE_STATUS or (status == 409 and code == "request-outstanding"):
            after = 0.0
            try:
                after = float(headers.get("Retry-After", "0"))
            except (TypeError, ValueError):
                pass
            raise _Retry(msg, after)
        raise DossierError(msg, status, code, body)

    def _start_background(self):
        if not self._background or (self._bg is not None and self._bg.is_alive()):
            return
        self._bg = threading.Thread(target=self._background_loop, name="dossier-outbox", daemon=True)
        self._bg.start()

    def _background_loop(self):
        while not self._stop.is_set():
            wait = max(self._next_try - time.monotonic(), 0.5)
            if self._stop.wait(wait):
                return
            try:
                if self._flush(None, None)[0] == 0:
                    return
            except Exception as e:  # never kill the training job
                log.warning("dossier: outbox flush failed: %s", e)

    # --- exit handling -----------------------------------------------------

    def _install_handlers(self):
        atexit.register(self._at_exit)
        prev_hook = sys.excepthook

        def hook(tp, value, tb):
            self._exc = value
            prev_hook(tp, value, tb)

        sys.excepthook = hook
        if threading.current_thread() is threading.main_thread():
            prev = signal.getsignal(signal.SIGTERM)

            def on_term(signum, frame):
                self._safe_close("aborted", "terminated by signal SIGTERM")
                signal.signal(signal.SIGTERM, prev if prev is not None else signal.SIG_DFL)
                if callable(prev):
                    prev(signum, frame)
                elif prev != signal.SIG_IGN:
                    os.kill(os.getpid(), signal.SIGTERM)

            signal.signal(signal.SIGTERM, on_term)

    def _at_exit(self):
        if self._exc is None:
            self._safe_close("completed", None)
        elif isinstance(self._exc, KeyboardInterrupt):
            self._safe_close("aborted", "interrupted (KeyboardInterrupt)")
        else:
            self._safe_close("failed", "%s: %s" % (type(self._exc).__name__, self._exc))

    def _safe_close(self, status, reason):
        self._stop.set()
        try:
            self.close(status, reason)
            left = self.flush(timeout=self.exit_flush_timeout)
            if left:
                log.warning("dossier: %d record(s) not yet delivered stay in %s; run `dossier submit flush --outbox %s`",
                            left, self.outbox.path, self.outbox.path)
        except Exception as e:  # never fail the job at exit
            log.warning("dossier: closing the run: %s", e)


class NoopDossier(object):
    """The client on ranks other than 0: every call does nothing."""

    def register_run(self, *a, **k):
        return None

    def submit(self, *a, **k):
        return None

    def close(self, *a, **k):
        return None

    def flush(self, *a, **k):
        return 0

    def pending(self):
        return 0


# --- reviewers -------------------------------------------------------------

_PREDICATE_PREFIX = "https://dossier.dev/predicates/"
_REVIEWED_PATHS = {"approval": "/approvals", "evaluation-plan": "/plans"}
_MAX_BUNDLE = 4 << 20  # dossierd's default limits.maxBodyBytes
_MAX_REVIEW = 256 << 20  # as pkg/review.MaxDocument
_MANIFEST_OPEN = b'<pre id="dossier-review-manifest">'
_MANIFEST_MEDIA_TYPE = "application/vnd.dossier.review-manifest.v1+json"


def bundle_run_id(data, kind):
    """The runId of a record bundle of ``kind`` ("approval" or
    "evaluation-plan"), read from its DSSE payload to route the upload. The
    signature is not checked here: the daemon checks it against the keyring
    and the run as logged. Raises DossierError for anything else."""
    import base64
    try:
        doc = json.loads(data.decode("utf-8"))
        payload = base64.b64decode(doc["dsseEnvelope"]["payload"], validate=True)
        st = json.loads(payload.decode("utf-8"))
        got = st["predicateType"]
        run_id = st["predicate"]["runId"]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise DossierError("not a record bundle (%s: %s)" % (type(e).__name__, e))
    if got != _PREDICATE_PREFIX + kind + "/v1":
        raise DossierError("a record of predicate type %r, want %s" % (got, _PREDICATE_PREFIX + kind + "/v1"))
    if not isinstance(run_id, str) or not run_id:
        raise DossierError("the %s names no runId" % kind)
    return run_id


def _review_manifest(doc):
    """The manifest embedded in a review document (pkg/review)."""
    import html
    if doc.count(_MANIFEST_OPEN) != 1:
        raise DossierError("no valid review manifest: %d manifest elements, want 1" % doc.count(_MANIFEST_OPEN))
    body, sep, _ = doc.split(_MANIFEST_OPEN, 1)[1].partition(b"</pre>")
    if not sep:
        raise DossierError("no valid review manifest: manifest element not closed")
    try:
        m = json.loads(html.unescape(body.decode("utf-8")))
    except ValueError as e:
        raise DossierError("no valid review manifest: %s" % e)
    if not isinstance(m, dict) or m.get("mediaType") != _MANIFEST_MEDIA_TYPE or not m.get("runId") \
            or not isinstance(m.get("reviewedRecords"), list) or not m["reviewedRecords"]:
        raise DossierError("no valid review manifest")
    return m


def _write_new_file(path, data):
    """Write data to a new file at path, atomically: never overwrites,
    never leaves half a file."""
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.tmp-%d-%d" % (os.path.basename(path), os.getpid(), threading.get_ident()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)  # EEXIST: an existing file is never replaced
    finally:
        os.remove(tmp)
    _fsync_dir(d)


class Reviewer(object):
    """A reviewer's client of dossierd's review API (the review listener):
    fetch a run's review document, upload an approval signed with
    ``dossier approve`` or an evaluation plan signed by a validator's
    reviewer key. Nothing is queued: every failure raises DossierError at
    once (``status`` 0 when the daemon could not be reached), because the
    reviewer holds the file and must see a refusal.

        r = Reviewer.from_env()                  # DOSSIER_URL, DOSSIER_TOKEN(_FILE), ...
        r.fetch_review("llama-ft-7", "review.html")
        # dossier approve --review review.html --key ... -o approval.json
        r.submit_approval("approval.json")
    """

    def __init__(self, url, token=None, ca_file=None, cert_file=None, key_file=None, timeout=60.0):
        if not url.startswith("http://") and not url.startswith("https://"):
            raise DossierError("DOSSIER_URL %r: want http(s)://host:port" % url)
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        ctx = _ssl_context(ca_file, cert_file, key_file) if url.startswith("https://") else None
        self._opener = _urlrequest.build_opener(_NoRedirect, _urlrequest.HTTPSHandler(context=ctx))

    @classmethod
    def from_env(cls, environ=None, **kwargs):
        """A reviewer client configured from DOSSIER_URL, DOSSIER_TOKEN or
        DOSSIER_TOKEN_FILE, DOSSIER_CA_FILE, DOSSIER_CERT_FILE and
        DOSSIER_KEY_FILE (the variables ``dossier submit approval`` reads)."""
        env = os.environ if environ is None else environ
        token = env.get("DOSSIER_TOKEN")
        if not token and env.get("DOSSIER_TOKEN_FILE"):
            with open(env["DOSSIER_TOKEN_FILE"]) as f:
                token = f.read().strip()
        return cls(env.get("DOSSIER_URL", ""), token=token, ca_file=env.get("DOSSIER_CA_FILE"),
                   cert_file=env.get("DOSSIER_CERT_FILE"), key_file=env.get("DOSSIER_KEY_FILE"), **kwargs)

    def submit_approval(self, path):
        """Upload the approval bundle at path (its exact bytes) to POST
        /v1/runs/{runId}/approvals, the run read from the approval. The
        daemon checks it against the run as logged now and logs it with a
        receipt; returns its answer ({"record", "logIndex", "receipt",
        ...}). A stale review or a key without the reviewer role raises
        DossierError (code "approval-refused", "key-not-allowed", ...).
        Sending the same file again returns the first answer."""
        return self._upload("approval", path)

    def submit_plan(self, path):
        """Upload an evaluation plan bundle signed by a validator's reviewer
        key to POST /v1/runs/{runId}/plans; like submit_approval."""
        return self._upload("evaluation-plan", path)

    def fetch_review(self, run_id, path):
        """Fetch the run's current review document (GET
        /v1/runs/{runId}/review), check its bytes against the
        Dossier-View-Digest header and write it to path, a new file (never
        overwritten). Returns {"runId", "view", "reviewedRecords", "path"}:
        what an approval of the document signs."""
        req = self._request("GET", "/v1/runs/%s/review" % _quote(run_id, safe=""), None)
        req.add_header("Accept", "text/html, application/problem+json")
        doc, headers = self._open(req, _MAX_REVIEW + 1)
        if len(doc) > _MAX_REVIEW:
            raise DossierError("review document over %d bytes" % _MAX_REVIEW)
        got, want = content_digest(doc), headers.get("Dossier-View-Digest", "")
        if got != want:
            raise DossierError("review document does not match its view digest: got %s, header says %r" % (got, want))
        m = _review_manifest(doc)
        if m["runId"] != run_id:
            raise DossierError("the daemon's review document is of run %r, want %r" % (m["runId"], run_id))
        _write_new_file(path, doc)
        return {"runId": run_id, "view": got, "reviewedRecords": list(m["reviewedRecords"]), "path": path}

    def _upload(self, kind, path):
        with open(path, "rb") as f:
            data = f.read(_MAX_BUNDLE + 1)
        if len(data) > _MAX_BUNDLE:
            raise DossierError("%s: over %d bytes" % (path, _MAX_BUNDLE))
        try:
            run_id = bundle_run_id(data, kind)
        except DossierError as e:
            raise DossierError("%s: %s" % (path, e))
        req = self._request("POST", "/v1/runs/%s%s" % (_quote(run_id, safe=""), _REVIEWED_PATHS[kind]), data)
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json, application/problem+json")
        req.add_header("Idempotency-Key", idempotency_key(run_id, kind, 1, content_digest(data)))
        body, _ = self._open(req, _MAX_ANSWER)
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise DossierError("decoding the daemon's answer: %s" % e)

    def _request(self, method, path, data):
        req = _urlrequest.Request(self.url + path, data=data, method=method)
        req.add_header("User-Agent", "dossier-client-python/" + __version__)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        return req

    def _open(self, req, limit):
        """(body, headers) of a 2xx answer; DossierError otherwise."""
        try:
            resp = self._opener.open(req, timeout=self.timeout)
            with resp:
                if resp.status not in (200, 201):
                    raise DossierError("dossierd answered %d" % resp.status, resp.status)
                return resp.read(limit), resp.headers
        except _urlerror.HTTPError as e:
            body = e.read(_MAX_ANSWER) if e.fp is not None else b""
            try:
                doc = json.loads(body.decode("utf-8"))
            except ValueError:
                doc = {}
            doc = doc if isinstance(doc, dict) else {}
            code = doc.get("code", "")
            raise DossierError("dossierd answered %d %s: %s" % (e.code, code, doc.get("detail", "")), e.code, code, body)
        except (_urlerror.URLError, socket.timeout, OSError) as e:
            raise DossierError("dossierd unreachable: %s" % e)


def _rank(env):
    for k in ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"):
        v = env.get(k)
        if v not in (None, ""):
            try:
                return int(v)
            except ValueError:
                return 0
    return 0


def _attempt(env):
    if env.get("DOSSIER_ATTEMPT"):
        return int(env["DOSSIER_ATTEMPT"])
    if env.get("SLURM_RESTART_COUNT"):
        return int(env["SLURM_RESTART_COUNT"]) + 1
    return 1


def _default_producer():
    host = socket.gethostname() or "unknown-host"
    return {"id": "workload:" + host, "name": host, "kind": "workload"}


def _default_outbox():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dossier", "outbox")


def _ssl_context(ca_file, cert_file, key_file):
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    return ctx
