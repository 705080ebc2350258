"""The demo's simulated training pipeline: what a real training script does
on rank 0 with the standard-library Python client, three lines plus the
records it describes. It reuses the predicates the demo wrote for the CLI
run, re-aimed at the daemon's run.

Environment (as for any pipeline): DOSSIER_URL, DOSSIER_RUN_ID, DOSSIER_TOKEN,
DOSSIER_OUTBOX, DOSSIER_PROJECT, DOSSIER_MODEL, DOSSIER_PRODUCER_ID.
Usage: demo_pipeline.py PREDICATES_DIR"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "clients", "python"))
from dossier_client import Dossier  # noqa: E402

predicates = sys.argv[1]
d = Dossier.from_env(strict=True)  # registers the run (DOSSIER_PROJECT is set)
run_id = os.environ["DOSSIER_RUN_ID"]
root = d.register_run(os.environ["DOSSIER_PROJECT"], os.environ["DOSSIER_MODEL"])["digest"]

for path in sorted(glob.glob(os.path.join(predicates, "0[1-4]-*.json"))):
    kind = os.path.basename(path)[3:-len(".json")]
    with open(path) as f:
        p = json.load(f)
    p["runId"] = run_id
    p.pop("timeEvidence", None)  # the daemon's receipts carry the time evidence
    if kind == "model-release":
        p["runs"] = [root]
    answer = d.submit(kind, p)
    print(f"pipeline: {kind:<14} seq {answer['seq']}  record {answer['record']}  receipt {answer['receipt']}"
          f"  time {answer['timeVerdict']}")

d.close("completed", "demo training finished")  # the run-closed record
d.flush(timeout=30)
print(f"pipeline: run {run_id} closed (run-closed record sent); nothing left in the outbox")
