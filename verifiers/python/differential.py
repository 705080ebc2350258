#!/usr/bin/env python3
"""differential.py - run two verifiers on every vector and print where they
disagree: outcome, or the set of failure classes (with `rule` for policy
failures). The conformance runner checks each verifier against the expected
outcome and one class; this finds the other findings two honest
implementations of SPEC.md report differently (each is a question for the
specification or a bug in one of them).

    python3 verifiers/python/differential.py [--a CMD] [--b CMD] [VECTOR-DIR-OR-SET...]

Defaults: A = bin/dossier-verify, B = this directory's dossier_verify.py,
vector sets testvectors/v1 and testvectors/v2. Exit 0 when they agree on
every vector, 1 otherwise.
"""

import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def protocol_args(vector):
    """SPEC.md 7: the conformance CLI arguments for a vector directory."""
    trust = os.path.join(vector, "trust")

    def read(name):
        with open(os.path.join(trust, name)) as f:
            return f.read().strip()
    args = ["--json", "--root-fingerprint", read("root-fingerprint")]
    for flag, name in (("--policy", "policy.json"), ("--trusted-head", "trusted-head")):
        if os.path.exists(os.path.join(trust, name)):
            args += [flag, os.path.join(trust, name)]
    if os.path.exists(os.path.join(trust, "at")):
        args += ["--at", read("at")]
    return args + [os.path.join(vector, "package.tar")]


def findings(cmd, vector):
    proc = subprocess.run(shlex.split(cmd) + protocol_args(vector), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        return (proc.returncode, "no result document", ())
    classes = sorted(set(f["class"] + ("/" + f["rule"] if f.get("rule") else "") for f in doc.get("failures", [])))
    return (proc.returncode, doc.get("outcome"), tuple(classes))


def vectors(paths):
    for path in paths:
        if os.path.exists(os.path.join(path, "package.tar")):
            yield path
            continue
        for name in sorted(os.listdir(path)):
            if os.path.exists(os.path.join(path, name, "package.tar")):
                yield os.path.join(path, name)


def main(argv):
    a, b, paths = os.path.join(ROOT, "bin", "dossier-verify"), "%s %s" % (
        shlex.quote(sys.executable), shlex.quote(os.path.join(HERE, "dossier_verify.py"))), []
    while argv:
        flag = argv.pop(0)
        if flag in ("--a", "--b") and argv:
            a, b = (argv.pop(0), b) if flag == "--a" else (a, argv.pop(0))
        else:
            paths.append(flag)
    paths = paths or [os.path.join(ROOT, "testvectors", v) for v in ("v1", "v2")]
    total = differ = 0
    for vector in vectors(paths):
        total += 1
        fa, fb = findings(a, vector), findings(b, vector)
        if fa != fb:
            differ += 1
            print("%s\n  A: exit %s %s %s\n  B: exit %s %s %s" % ((os.path.relpath(vector, ROOT),) + fa + fb))
    print("%d vectors, %d with different findings" % (total, differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
