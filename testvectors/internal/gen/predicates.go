package main

// Baseline predicate contents (spec/predicates/*.md). Maps marshal with
// sorted keys, so the bytes are deterministic.

type obj = map[string]any

func producer(id, name string) obj { return obj{"id": id, "name": name, "kind": "workload"} }

func common(runID, at string, te string) obj {
	m := obj{"runId": runID, "attempt": 1, "producedAt": at, "producer": producer("workload:pipeline/train", "training pipeline")}
	if te != "" {
		m["timeEvidence"] = obj{"digest": te}
	}
	return m
}

func with(m obj, kv obj) obj {
	for k, v := range kv {
		m[k] = v
	}
	return m
}

func descriptor(name, content string, size int) obj {
	return obj{"name": name, "digest": obj{"sha256": hexOf([]byte(content))}, "annotations": obj{"size": size}}
}

func datasetPred(runID, at, te, name, role string) obj {
	return with(common(runID, at, te), obj{
		"name": name, "version": "2026.11", "role": role,
		"sources":      []any{obj{"uri": "internal:ticketing/export-2026-10", "description": "support tickets, pseudonymised at export"}},
		"licence":      obj{"spdx": "LicenseRef-internal-use"},
		"legalBasis":   "GDPR Art. 6(1)(f) legitimate interest; DPIA-2026-014",
		"personalData": obj{"present": true, "phi": false, "deidentification": "pseudonymisation"},
		"statistics":   obj{"records": "1000"},
		"content":      []any{descriptor(name+"/part-0001.parquet", name+" part 1", 7)},
	})
}

func trainingPred(runID, at, te string, datasets []string) obj {
	ds := []any{}
	for i, d := range datasets {
		role := "train"
		if i > 0 {
			role = "validation"
		}
		ds = append(ds, obj{"record": d, "role": role})
	}
	return with(common(runID, at, te), obj{
		"baseModel":       obj{"hub": obj{"repo": "example/base-8b", "revision": "d04e592bb4f6aa9cfee91e2e20afa771667e1d4b"}},
		"method":          "lora",
		"hyperparameters": obj{"learning_rate": "2e-4", "epochs": "3"},
		"code":            obj{"repo": "https://git.internal/ml/finetune", "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8"},
		"containerImage":  obj{"digest": digestOf([]byte("container image"))},
		"hardware":        obj{"accelerator": "NVIDIA H100 80GB", "acceleratorCount": 8, "nodes": 1},
		"compute":         obj{"flops": "6.1e19", "flopsMethod": "6*N*D approximation"},
		"datasets":        ds,
		"outputs":         []any{descriptor("adapter_model.safetensors", "adapter weights", 15)},
	})
}

func evaluationPred(runID, at, te, value string) obj {
	return with(common(runID, at, te), obj{
		"benchmark":  obj{"name": "support-qa-de", "version": "3"},
		"model":      descriptor("adapter_model.safetensors", "adapter weights", 15),
		"metrics":    []any{obj{"name": "exact_match", "value": value}},
		"thresholds": []any{obj{"metric": "exact_match", "op": ">=", "threshold": "0.85"}},
		"verdict":    "pass",
	})
}

func runClosedPred(runID, at, te string) obj {
	return with(common(runID, at, te), obj{"status": "completed", "exitCode": 0})
}

func timeEvidencePred(checkedAt, verdict string) obj {
	// t1..t4 are consistent with offset -400µs and RTT 600µs:
	// θ = ((t2−t1)+(t3−t4))/2, RTT = (t4−t1)−(t3−t2) (SPEC.md §Time evidence).
	src := func(server, t1, t2, t4 string) obj {
		return obj{"server": server, "answered": true, "stratum": 1, "refId": "GPS", "leap": 0,
			"offsetNs": -400000, "rttNs": 600000, "rootDelayNs": 0, "rootDispersionNs": 15000, "rootDistanceNs": 315009,
			"t1": t1, "t2": t2, "t3": t2, "t4": t4, "accepted": true, "reason": "within majority intersection"}
	}
	sources := []any{
		src("ntp1.internal:123", "2026-11-27T09:00:00.1Z", "2026-11-27T09:00:00.0999Z", "2026-11-27T09:00:00.1006Z"),
		src("ntp2.internal:123", "2026-11-27T09:00:00.2Z", "2026-11-27T09:00:00.1999Z", "2026-11-27T09:00:00.2006Z"),
	}
	agreeing, maxErr, diag := 2, 315009, "2 of 2 sources agree within 0.32ms; policy max error 50ms"
	switch verdict {
	case "untraceable":
		for _, s := range sources {
			m := s.(obj)
			m["stratum"], m["refId"], m["rootDispersionNs"], m["rootDistanceNs"] = 10, "LOCL", 0, 300009
			m["accepted"], m["reason"] = false, "local-mode server (refid LOCL): no path to UTC"
		}
		agreeing, maxErr, diag = 0, 0, "every answer is from a local-mode server; time is not traceable to UTC"
	case "degraded":
		diag = "2 sources agree, the policy wants 3"
	case "bad":
		agreeing, maxErr, diag = 0, 0, "no strict majority of sources agrees"
	}
	required := 2
	if verdict == "degraded" {
		required = 3
	}
	return obj{"checkedAt": checkedAt, "verdict": verdict, "diagnosis": diag,
		"offsetNs": -400000, "maxErrorNs": maxErr, "agreeing": agreeing, "required": required,
		"policy":  obj{"maxErrorNs": 50000000, "minAgreeing": required, "maxRttNs": 50000000, "maxRootDistanceNs": 100000000, "maxStalenessNs": 4096000000000},
		"sources": sources}
}

func exportPred(at, te string, runs []string, listDigest string, count int) obj {
	p := obj{"producedAt": at, "producer": producer("workload:dossier-export", "dossier export"),
		"requestedBy": obj{"id": "person:e30211", "name": "Erika Musterfrau"},
		"purpose":     "Technical documentation requested by the notified body, reference NB-2026-0415",
		"recipient":   obj{"organisation": "Notified Body 0123", "contact": "assessor@nb0123.example"},
		"runs":        runs, "recordListDigest": listDigest, "recordCount": count}
	if te != "" {
		p["timeEvidence"] = obj{"digest": te}
	}
	return p
}

func approvalPred(runID, at, te string) obj {
	m := common(runID, at, te)
	m["producer"] = obj{"id": "person:e12345", "name": "Jane Q. Doe", "kind": "person"}
	return with(m, obj{
		"signer":        obj{"printedName": "Jane Q. Doe", "id": "person:e12345", "function": "Head of Model Validation"},
		"signedAt":      at,
		"meaning":       "approval",
		"statementText": "I approve the training run " + runID + " as recorded.",
		"decision":      "approve",
	})
}
