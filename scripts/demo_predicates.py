"""Fills the demo's predicates from `dossier predicate init` templates with
the demo run's real values: run id, digests from the hash manifests, the
time-evidence record; the validator's evaluation plan goes to
predicates/validator-evaluation-plan.json. Usage: demo_predicates.py OUT RUN_ID ROOT TIME_EVIDENCE"""
import json
import os
import subprocess
import sys

out, run_id, root, time_evidence = sys.argv[1:5]
DAY = os.environ["DEMO_DAY"]  # demo.sh: the scenario's day (stated times after the time evidence)
dossier = os.path.join(os.environ.get("BIN", "bin"), "dossier")


def template(kind):
    return json.loads(subprocess.check_output([dossier, "predicate", "init", kind]))


def manifest(name):
    with open(f"{out}/hashes/{name}.json") as f:
        return json.load(f)


def rd(f):
    """A ResourceDescriptor from a hash-manifest entry."""
    d = {"name": f["name"], "digest": {"sha256": f["digest"]["sha256"]},
         "annotations": {"size": f["annotations"]["size"]}}
    return d


def common(p, when, producer_id, producer_name):
    p["runId"] = run_id
    p["attempt"] = 1
    p["producedAt"] = when
    p["producer"] = {"id": producer_id, "name": producer_name, "kind": "workload"}
    p["externalRefs"] = [{"system": "slurm", "id": "job-884213"}]
    p["timeEvidence"] = {"digest": time_evidence}
    return p


data, model = manifest("dataset"), manifest("model")
weights = [rd(f) for f in model["files"] if f["name"] == "snapshots/rev-1/adapter_model.safetensors"]
weights[0]["name"] = "adapter_model.safetensors"

ds = common(template("dataset"), DAY + "T09:05:00Z", "workload:pipeline/data-prep", "data-prep pipeline")
ds["name"], ds["version"] = "support-tickets-de", "2026.11"
ds["statistics"] = {"records": "8400", "files": str(data["fileCount"]), "bytes": str(data["totalBytes"])}
ds["content"] = [rd(f) for f in data["files"]]
ds["manifest"] = {"name": "hashes/dataset.json", "mediaType": "application/vnd.dossier.hash-manifest.v1+json",
                  "digest": {"sha256": data["treeDigest"].split(":")[1]}}
ds.pop("dataUseAgreement", None)

tr = common(template("training-run"), DAY + "T12:40:00Z", "person:e20001", "Tom Trainer")
tr["producer"]["kind"] = "person"
tr["datasets"] = [{"descriptor": {"name": "support-tickets-de",
                                  "digest": {"sha256": data["treeDigest"].split(":")[1]}}, "role": "train"}]
tr["outputs"] = weights

ev = common(template("evaluation"), DAY + "T13:10:00Z", "workload:pipeline/eval", "evaluation pipeline")
ev["model"] = {"name": weights[0]["name"], "digest": weights[0]["digest"]}
ev["dataset"] = {"name": "validation/part-0000.jsonl",
                 "digest": {"sha256": next(f for f in data["files"] if f["name"] == "validation/part-0000.jsonl")["digest"]["sha256"]}}
ev.pop("plan", None)

mr = common(template("model-release"), DAY + "T14:00:00Z", "workload:pipeline/release", "release pipeline")
mr["modelId"], mr["version"] = "support-assistant-de", "1.0.0"
mr.pop("previousVersion", None)
mr["runs"] = [root]
mr["weights"] = weights

rc = common(template("run-closed"), DAY + "T14:05:00Z", "workload:pipeline/train", "training pipeline")

# The validator's evaluation plan (issue 8): signed and logged before the
# evaluation it governs; the verifier judges the evaluation's metrics against
# these thresholds, never against the ones the pipeline wrote for itself.
# Not named 0N-*: the daemon demo's pipeline submits predicates/0[1-4]-*.json.
plan = common(template("evaluation-plan"), DAY + "T12:50:00Z", "person:e40001", "Vera Validator")
plan["producer"]["kind"] = "person"
plan.pop("externalRefs", None)
plan["scope"] = {"modelId": "support-assistant-de", "model": {"name": weights[0]["name"], "digest": weights[0]["digest"]}}
plan["benchmarks"] = [{"name": "support-qa-de", "version": "3", "dataset": ev["dataset"]}]
plan["metrics"] = [{"benchmark": "support-qa-de", "metric": "exact_match", "op": ">=", "threshold": "0.85"},
                   {"benchmark": "support-qa-de", "metric": "latency_p95", "op": "<=", "threshold": "500"}]

for n, kind, p in (("01", "dataset", ds), ("02", "training-run", tr), ("03", "evaluation", ev),
                   ("04", "model-release", mr), ("05", "run-closed", rc), ("validator", "evaluation-plan", plan)):
    with open(f"{out}/predicates/{n}-{kind}.json", "w") as f:
        json.dump(p, f, indent=2, ensure_ascii=False)
        f.write("\n")
print(f"predicates written to {out}/predicates/")
