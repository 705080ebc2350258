"""dossier_policy.py - policy documents v1 and v2 and their evaluation.

Part of the independent Python verifier (dossier_verify.py), written from
SPEC.md 3.14 and 5 step 11 and spec/policy.md sections 1-3 only. Pure: no
I/O, no clock. The verifier gives it what steps 4-9 verified (records with
their log indices and signer fingerprints, and a key view); it returns one
result per rule: (rule, status, subject, message), status pass/fail/void.
"""

import re
from fractions import Fraction

POLICY_V1 = "application/vnd.dossier.policy.v1+json"
POLICY_V2 = "application/vnd.dossier.policy.v2+json"
MEANINGS = {"review", "approval", "authorship", "responsibility"}
REQUIRE = ("none", "tsa", "witness", "either", "both")
ROLE_RE = re.compile(r"[a-z][a-z0-9-]{0,63}\Z")


class PolicyError(Exception):
    """A policy document breaks SPEC.md 3.14 / spec/policy.md 1."""


def _members(obj, required, optional, what):
    if not isinstance(obj, dict):
        raise PolicyError("%s is not an object" % what)
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        raise PolicyError("%s has unknown member(s) %s" % (what, ", ".join(unknown)))
    missing = [m for m in required if m not in obj]
    if missing:
        raise PolicyError("%s lacks member(s) %s" % (what, ", ".join(missing)))
    return obj


def _kinds(value, kinds, what, nonempty=False):
    if not isinstance(value, list) or len(set(map(str, value))) != len(value) or not set(value) <= kinds \
            or (nonempty and not value):
        raise PolicyError("%s must be a list of unique record kinds%s" % (what, " (non-empty)" if nonempty else ""))
    return list(value)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def validate_time(t):
    _members(t, ["accept", "acceptUntraceable", "maxProducerSkewSeconds"], (), "policy.time")
    if not isinstance(t["accept"], list) or not set(map(str, t["accept"])) <= {"good", "degraded", "bad"}:
        raise PolicyError("policy time.accept must be a subset of good, degraded, bad (untraceable is not allowed)")
    if not isinstance(t["acceptUntraceable"], bool) or not _is_int(t["maxProducerSkewSeconds"]) \
            or t["maxProducerSkewSeconds"] < 0:
        raise PolicyError("policy acceptUntraceable must be a boolean, maxProducerSkewSeconds an integer >= 0")


def parse_rule_set(rs, kinds, what):
    """spec/policy.md 1 "A rule set"; returns a normalised copy."""
    _members(rs, [], ["requiredKinds", "evaluationPlan", "approvals", "separationOfDuties"], what)
    out = {"requiredKinds": _kinds(rs.get("requiredKinds", []), kinds, what + ".requiredKinds")}
    if "evaluationPlan" in rs:
        ep = _members(rs["evaluationPlan"], ["role"], (), what + ".evaluationPlan")
        if not isinstance(ep["role"], str) or not ROLE_RE.match(ep["role"]):
            raise PolicyError("%s.evaluationPlan.role is not a role name" % what)
        out["evaluationPlan"] = {"role": ep["role"]}
    if "approvals" in rs:
        a = _members(rs["approvals"], ["min", "role", "meanings", "cover"], (), what + ".approvals")
        if not _is_int(a["min"]) or not 1 <= a["min"] <= 100:
            raise PolicyError("%s.approvals.min must be an integer 1..100" % what)
        if not isinstance(a["role"], str) or not ROLE_RE.match(a["role"]):
            raise PolicyError("%s.approvals.role is not a role name" % what)
        if not isinstance(a["meanings"], list) or not a["meanings"] or not set(map(str, a["meanings"])) <= MEANINGS \
                or len(set(a["meanings"])) != len(a["meanings"]):
            raise PolicyError("%s.approvals.meanings must be a non-empty subset of %s" % (what, sorted(MEANINGS)))
        cover = _kinds(a["cover"], kinds - {"approval"}, what + ".approvals.cover (not approval)", True)
        out["approvals"] = {"min": a["min"], "role": a["role"], "meanings": list(a["meanings"]), "cover": cover}
    if "separationOfDuties" in rs:
        s = _members(rs["separationOfDuties"], ["byPerson", "byTeam", "developerKinds"], (), what + ".separationOfDuties")
        if "approvals" not in rs:
            raise PolicyError("%s.separationOfDuties needs approvals" % what)
        if not isinstance(s["byPerson"], bool) or not isinstance(s["byTeam"], bool):
            raise PolicyError("%s.separationOfDuties byPerson and byTeam must be booleans" % what)
        out["separationOfDuties"] = {"byPerson": s["byPerson"], "byTeam": s["byTeam"],
                                     "developerKinds": _kinds(s["developerKinds"], kinds,
                                                              what + ".separationOfDuties.developerKinds", True)}
    return out


def parse_policy_doc(p, kinds):
    """A parsed strict-JSON policy document (v1 or v2) -> normalised dict."""
    if not isinstance(p, dict) or p.get("mediaType") not in (POLICY_V1, POLICY_V2):
        raise PolicyError("policy mediaType is %r" % (p.get("mediaType") if isinstance(p, dict) else None,))
    v2 = p["mediaType"] == POLICY_V2
    _members(p, ["mediaType", "time", "requiredKinds"], ["name", "runs", "releases", "anchors"] if v2 else (), "policy")
    validate_time(p["time"])
    out = {"mediaType": p["mediaType"], "time": dict(p["time"]),
           "requiredKinds": _kinds(p["requiredKinds"], kinds, "policy requiredKinds"),
           "runs": None, "releases": None, "anchors": "none"}
    if "name" in p and not isinstance(p["name"], str):
        raise PolicyError("policy name is not a string")
    for which in ("runs", "releases"):
        if which in p:
            out[which] = parse_rule_set(p[which], kinds, "policy." + which)
    if "anchors" in p:
        a = _members(p["anchors"], ["require"], (), "policy.anchors")
        if a["require"] not in REQUIRE:
            raise PolicyError("policy anchors.require must be one of %s" % ", ".join(REQUIRE))
        out["anchors"] = a["require"]
    return out


# ---------------------------------------------------------------- tightening
# SPEC.md 3.14 and spec/policy.md 1 "Who sets the bar".

def stricter_anchors(a, b):
    if a == b or b == "none":
        return a
    if a == "none":
        return b
    if a == "either":
        return b
    if b == "either":
        return a
    return "both"  # tsa with witness, or anything with both


def _union(a, b):
    return sorted(set(a) | set(b))


def tighten_rule_set(base, prop):
    if base is None or prop is None:
        return base if prop is None else prop
    out = {"requiredKinds": _union(base["requiredKinds"], prop["requiredKinds"])}
    if "evaluationPlan" in base or "evaluationPlan" in prop:
        out["evaluationPlan"] = base.get("evaluationPlan") or prop["evaluationPlan"]
    if "approvals" in base and "approvals" in prop:
        b, p = base["approvals"], prop["approvals"]
        shared = [m for m in b["meanings"] if m in p["meanings"]]
        out["approvals"] = {"min": max(b["min"], p["min"]), "role": b["role"],
                            "meanings": shared or list(b["meanings"]), "cover": _union(b["cover"], p["cover"])}
    elif "approvals" in base or "approvals" in prop:
        out["approvals"] = base.get("approvals") or prop["approvals"]
    if "separationOfDuties" in base and "separationOfDuties" in prop:
        b, p = base["separationOfDuties"], prop["separationOfDuties"]
        out["separationOfDuties"] = {"byPerson": b["byPerson"] or p["byPerson"], "byTeam": b["byTeam"] or p["byTeam"],
                                     "developerKinds": _union(b["developerKinds"], p["developerKinds"])}
    elif "separationOfDuties" in base or "separationOfDuties" in prop:
        out["separationOfDuties"] = base.get("separationOfDuties") or prop["separationOfDuties"]
    return out


def tighten(base, prop):
    d, p = base["time"], prop["time"]
    return {"mediaType": POLICY_V2 if POLICY_V2 in (base["mediaType"], prop["mediaType"]) else POLICY_V1,
            "time": {"accept": [v for v in d["accept"] if v in p["accept"]],
                     "acceptUntraceable": d["acceptUntraceable"] and p["acceptUntraceable"],
                     "maxProducerSkewSeconds": min(d["maxProducerSkewSeconds"], p["maxProducerSkewSeconds"])},
            "requiredKinds": _union(base["requiredKinds"], prop["requiredKinds"]),
            "runs": tighten_rule_set(base["runs"], prop["runs"]),
            "releases": tighten_rule_set(base["releases"], prop["releases"]),
            "anchors": stricter_anchors(base["anchors"], prop["anchors"])}


# ---------------------------------------------------------------- evaluation
# spec/policy.md 2-3. A record is a dict: digest, kind, index (log index),
# hint (signer fingerprint), predicate. key_view(fp, index) returns None (not
# valid at that index) or {"roles", "personId", "team", "material"};
# owner(fp, index) the same, ignoring validity (for who signed what).

OPS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
       "<": lambda a, b: a < b, "==": lambda a, b: a == b}
DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z")


def exact(text):
    """SPEC.md 1 decimal string as an exact rational."""
    if not isinstance(text, str) or not DECIMAL_RE.match(text):
        raise ValueError("%r is not a decimal string" % (text,))
    mant, _, exp = text.lower().partition("e")
    return Fraction(mant) * (Fraction(10) ** int(exp or "0"))


class Evaluation(object):
    """Evaluate one run against a policy (spec/policy.md 3)."""

    def __init__(self, policy, records, key_view, owner, at, release):
        self.policy, self.key_view, self.owner, self.at = policy, key_view, owner, at
        self.records = sorted(records, key=lambda r: r["index"])
        self.by_digest = dict((r["digest"], r) for r in self.records)
        self.release = release or any(r["kind"] == "model-release" for r in self.records)
        self.results = []

    def add(self, rule, status, subject, message):
        self.results.append({"rule": rule, "status": status, "subject": subject,
                             "message": "%s: %s" % (rule, message)})

    def of(self, kind):
        return [r for r in self.records if r["kind"] == kind]

    def run(self):
        self.required("", self.policy["requiredKinds"])
        for r in self.results:  # SPEC.md 5 step 11: the v1 check; `rule` names v2 rule-set rules
            r["topLevel"] = True
        for prefix, rs in (("", self.policy.get("runs")), ("release.", self.policy.get("releases"))):
            if rs is None or (prefix and not self.release):
                continue
            self.required(prefix, rs["requiredKinds"])
            if "evaluationPlan" in rs:
                EvaluationPlanRules(self, prefix, rs["evaluationPlan"]).run()
            if "approvals" in rs:
                ApprovalRules(self, prefix, rs["approvals"], rs.get("separationOfDuties")).run()
        return self.results

    def required(self, prefix, kinds):
        held = set(r["kind"] for r in self.records)
        for kind in kinds:
            ok = kind in held
            self.add(prefix + "kinds.required", "pass" if ok else "fail", kind,
                     "the run holds a %s record" % kind if ok else "the run holds no verified %s record" % kind)


class EvaluationPlanRules(object):
    def __init__(self, ev, prefix, rule):
        self.ev, self.p, self.role = ev, prefix, rule["role"]

    def run(self):
        ev, p = self.ev, self.p
        plans, evals = ev.of("evaluation-plan"), ev.of("evaluation")
        ev.add(p + "evaluation-plan.present", "pass" if plans else "fail", None,
               "%d evaluation plan(s)" % len(plans) if plans else "the run holds no evaluation-plan record")
        for plan in plans:
            key = ev.key_view(plan["hint"], plan["index"])
            need = {self.role, plan["predicate"].get("signedByRole")}
            ok = key is not None and need <= key["roles"]
            ev.add(p + "evaluation-plan.signer-role", "pass" if ok else "fail", plan["digest"],
                   "the plan's key %s %s role(s) %s at log index %d" % (
                       plan["hint"], "holds" if ok else "does not validly hold", "/".join(sorted(map(str, need))),
                       plan["index"]))
        governed = {}
        for e in evals:
            plan = self.governing(e, plans)
            ok = plan is not None and plan["index"] < e["index"]
            ev.add(p + "evaluation-plan.before-evaluations", "pass" if ok else "fail", e["digest"],
                   "governed by plan %s logged at %d, before the evaluation at %d" % (plan["digest"], plan["index"], e["index"])
                   if ok else "no evaluation plan of the run logged before the evaluation (log index %d)%s" % (
                       e["index"], "" if plan is None else "; its plan %s is logged at %d" % (plan["digest"], plan["index"])))
            if ok:  # a plan logged after the evaluation governs nothing (SPEC.md Appendix A, P29)
                governed.setdefault(plan["digest"], []).append(e)
                self.thresholds(e, plan)
        for plan in plans:
            self.coverage(plan, governed.get(plan["digest"], []))
        if ev.of("model-release"):
            self.released_model(plans, evals)

    def governing(self, e, plans):
        named = e["predicate"].get("plan")
        if named is not None:
            return next((pl for pl in plans if pl["digest"] == named), None)
        before = [pl for pl in plans if pl["index"] < e["index"]]
        return before[-1] if before else None

    def thresholds(self, e, plan):
        bench = e["predicate"]["benchmark"]["name"]
        measured = dict((m["name"], m["value"]) for m in e["predicate"]["metrics"])
        for m in plan["predicate"]["metrics"]:
            if m.get("benchmark", "") not in ("", bench) or m["metric"] not in measured:
                continue
            value = measured[m["metric"]]
            ok = OPS[m["op"]](exact(value), exact(m["threshold"]))
            self.ev.add(self.p + "evaluation.plan-thresholds", "pass" if ok else "fail", e["digest"],
                        "%s %s = %s %s the signed plan's %s %s" % (bench, m["metric"], value,
                                                                  "meets" if ok else "fails", m["op"], m["threshold"]))

    def coverage(self, plan, evals):
        for m in plan["predicate"]["metrics"]:
            hit = [e for e in evals if m.get("benchmark", "") in ("", e["predicate"]["benchmark"]["name"])
                   and any(x["name"] == m["metric"] for x in e["predicate"]["metrics"])]
            self.ev.add(self.p + "evaluation.plan-coverage", "pass" if hit else "fail", plan["digest"],
                        "plan metric %s%s is %smeasured by an evaluation it governs" % (
                            m.get("benchmark", "") + "/" if m.get("benchmark") else "", m["metric"], "" if hit else "not "))

    def released_model(self, plans, evals):
        weights = set(w["digest"]["sha256"] for r in self.ev.of("model-release") for w in r["predicate"]["weights"])
        models = [(pl["digest"], pl["predicate"]["scope"].get("model")) for pl in plans]
        models += [(e["digest"], e["predicate"].get("model")) for e in evals]
        for digest, model in models:
            if model is None:
                continue
            ok = model.get("digest", {}).get("sha256") in weights
            self.ev.add(self.p + "evaluation.released-model", "pass" if ok else "fail", digest,
                        "the model %s %s released weights" % (model.get("name"), "is one of the" if ok else "is not among the"))


class ApprovalRules(object):
    """spec/policy.md 3, the approvals.* rules of one rule set."""

    def __init__(self, ev, prefix, rule, sod):
        self.ev, self.p, self.rule, self.sod = ev, prefix, rule, sod
        self.bad = set()   # approvals with a fail or a void result: not counted

    def judge(self, name, ok, approval, message, on_violation="fail"):
        status = "pass" if ok else on_violation
        if not ok:
            self.bad.add(approval["digest"])
        self.ev.add(self.p + "approvals." + name, status, approval["digest"], message)

    def run(self):
        ev = self.ev
        approvals = [a for a in ev.of("approval") if a["predicate"].get("decision") != "withdraw"]
        developers = self.developer_facts()
        counted = []
        for a in approvals:
            key = ev.key_view(a["hint"], a["index"])
            self.per_approval(a, key, developers)
            if a["digest"] not in self.bad:
                counted.append((a, key))
        self.key_material(counted)
        self.distinct_people(counted)

    def developer_facts(self):
        """personIds, producer ids, key materials and teams of who signed developer records."""
        facts = {"people": set(), "materials": set(), "teams": set()}
        kinds = set(self.sod["developerKinds"]) if self.sod else set()
        for r in self.ev.records:
            if r["kind"] not in kinds:
                continue
            facts["people"].add(r["predicate"]["producer"]["id"])
            owner = self.ev.owner(r["hint"], r["index"])
            if owner is not None:
                facts["people"].add(owner["personId"])
                facts["materials"].add(owner["material"])
                facts["teams"].add(owner["team"])
        return facts

    def per_approval(self, a, key, developers):
        ev, p = self.ev, a["predicate"]
        self.judge("key-valid", key is not None, a, "key %s %s valid at log index %d" % (
            a["hint"], "is" if key is not None else "is not", a["index"]))
        if key is None:  # judged by no other per-approval rule (SPEC.md Appendix A, P30)
            return
        has_role = self.rule["role"] in key["roles"]
        self.judge("signer-role", has_role, a, "key %s %s role %s at log index %d" % (
            a["hint"], "holds" if has_role else "does not hold", self.rule["role"], a["index"]))
        owner = ev.owner(a["hint"], a["index"])  # the owner the keyring in force at the index binds
        person = owner["personId"] if owner is not None else None
        self.judge("signer-identity", person is not None and p["signer"]["id"] == person, a,
                   "signer.id %r, key owner %r" % (p["signer"]["id"], person))
        reviewed = p["reviewedRecords"]
        late = [d for d in reviewed if d in ev.by_digest and ev.by_digest[d]["index"] > a["index"]]
        self.judge("log-order", not late, a, "every reviewed record is logged before the approval" if not late
                   else "reviewed record(s) logged after the approval (index %d): %s" % (a["index"], ", ".join(late)))
        self.coverage(a, reviewed)
        if self.sod and key is not None:
            self.separation(a, key, developers)
        self.judge("meaning", p["meaning"] in self.rule["meanings"], a, "meaning %s (counted: %s)" % (
            p["meaning"], ", ".join(self.rule["meanings"])), "void")
        self.judge("decision", p["decision"] in ("approve", "approve-with-conditions"), a,
                   "decision %s" % p["decision"], "void")
        w = self.withdrawal(a)
        self.judge("withdrawn", w is None, a, "not withdrawn" if w is None else "withdrawn by %s" % w, "void")
        exp = p.get("expiresAt")
        ok = exp is None or (self.ev.at is not None and _time_key(exp) > _time_key(self.ev.at))
        self.judge("expired", ok, a, "no expiry" if exp is None else "expires %s, evaluation time %s" % (
            exp, self.ev.at), "void")

    def coverage(self, a, reviewed):
        other = [d for d in reviewed if d not in self.ev.by_digest]
        if other:
            return self.judge("coverage", False, a, "reviewedRecords covers other digests, not records of the run: %s"
                              % ", ".join(other))
        missing = [r["digest"] for r in self.ev.records if r["kind"] in self.rule["cover"] and r["digest"] not in reviewed]
        self.judge("coverage", not missing, a, "reviews every record of the covered kinds" if not missing
                   else "void: does not review %s (stale)" % ", ".join(missing), "void")

    def separation(self, a, key, dev):
        signer = a["predicate"]["signer"]["id"]
        if self.sod["byPerson"]:
            clash = key["personId"] in dev["people"] or signer in dev["people"] or key["material"] in dev["materials"]
            self.judge("separation-of-duties.person", not clash, a, "approver %s %s a developer of the run" % (
                key["personId"], "is" if clash else "is not"))
        if self.sod["byTeam"]:
            clash = key["team"] in dev["teams"]
            self.judge("separation-of-duties.team", not clash, a, "approver's team %s %s a developer team (%s)" % (
                key["team"], "is" if clash else "is not", ", ".join(sorted(dev["teams"]))))

    def withdrawal(self, a):
        for w in self.ev.of("approval"):
            p = w["predicate"]
            if p.get("decision") == "withdraw" and p.get("withdraws") == a["digest"] and w["index"] > a["index"]:
                key = self.ev.key_view(w["hint"], w["index"])
                if key is not None and self.rule["role"] in key["roles"]:
                    return w["digest"]
        return None

    def key_material(self, counted):
        seen = {}
        for a, key in counted:
            first = seen.setdefault(key["material"], a["hint"])
            ok = first == a["hint"]
            self.ev.add(self.p + "approvals.key-material", "pass" if ok else "fail", a["digest"],
                        "key %s %s" % (a["hint"], "has its own key material" if ok else
                                        "is the key material of %s listed under another id" % first))

    def distinct_people(self, counted):
        parent = {}

        def find(x):
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x
        for _, key in counted:
            parent[find("person:" + key["personId"])] = find("material:" + key["material"])
        groups = set(find("person:" + key["personId"]) for _, key in counted)
        ok = len(groups) >= self.rule["min"]
        self.ev.add(self.p + "approvals.distinct-people", "pass" if ok else "fail", None,
                    "%d distinct approver(s) among %d counted approval(s), %d required" % (
                        len(groups), len(counted), self.rule["min"]))


def _time_key(text):
    """An RFC 3339 UTC time as a sortable (seconds string, nanoseconds) pair."""
    main, _, frac = text[:-1].partition(".")
    return (main, int((frac + "000000000")[:9]))
