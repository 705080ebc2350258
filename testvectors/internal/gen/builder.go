package main

import (
	"sort"
	"strconv"
	"strings"
)

// Fixed names and times of the baseline.
const (
	logName  = "log.dossier.example/audit"
	runAID   = "support-llm-ft-001"
	runBID   = "support-llm-ft-002"
	exportAt = "2026-11-27T09:03:00Z"
	verifyAt = "2026-11-27T12:00:00Z"
)

// rec is one signed record (run-scoped or log-scoped) or a keyring version.
type rec struct {
	Name     string
	Kind     string // predicate kind, or "keyring"
	Run      *run   // run-scoped records
	Stream   string // log-scoped stream when Run is nil
	Pred     obj
	TE       string   // name of the time-evidence record to reference
	DSRefs   []string // training-run: names of dataset records
	Reviewed []string // approval: names of the reviewed records

	Subj0Name, Subj0Hex string // override statement subject[0]
	Spec                bundleSpec
	StmtMutate          func([]byte) []byte
	Bundle              []byte // the signed bytes (bundle or keyring envelope)

	Logged    bool
	Seq       int
	Prev      string
	Leaf      []byte
	Index     int
	InPackage bool

	OCISubject     *desc // override the record manifest's OCI subject
	NoOCISubject   bool
	ManifestMutate func(*manifest)
	Manifest       []byte
	ManifestMT     string // descriptor media type override
	ManifestBytes  func([]byte) []byte
}

func (r *rec) Digest() string { return digestOf(r.Bundle) }

func (r *rec) stream() string {
	if r.Stream != "" {
		return r.Stream
	}
	return r.Run.Digest()
}

// B holds everything one package is built from; hooks in Scenario change
// it between stages and the later stages recompute from the result.
type B struct {
	s    *Scenario
	Keys map[string]*Key

	KeyringDocs   []keyringDoc
	KeyringSign   [][]*Key // signers per version
	KeyringRaw    [][]byte // documents as signed
	KeyringMutate func(i int, doc []byte) []byte
	Keyrings      []*rec // envelopes (as log items)
	RootFP        string

	RunA, RunB  *run
	Runs        []*run // the runs the export selects, sorted by run id
	Recs        []*rec // signed records in append order (keyring versions excluded)
	Log         []*rec // the whole log in index order
	Export      *rec
	LaterLeaves int

	Hashes     [][]byte // leaf hashes of the whole log
	Size       int      // the package checkpoint's size
	Checkpoint []byte
	Proofs     proofs
	Ledger     ledger
	Policy     obj
	Anchors    []byte   // anchors.json (set v2); nil: no layer
	Reviews    [][]byte // review document layers (set v2)

	Blobs      map[string][]byte
	MetaConfig obj
	MetaLayers []desc
	MetaD      desc
	PkgIndex   index
	PkgIndexD  desc
	Attest     *rec
	AttestD    desc
	IndexJSON  index
	Readme     []byte
	Report     []byte
	Files      []file
}

type proofEntry struct {
	Digest string   `json:"digest"`
	Index  int      `json:"index"`
	Leaf   string   `json:"leaf"`
	Hashes []string `json:"hashes"`
}

type proofs struct {
	TreeSize int          `json:"treeSize"`
	Entries  []proofEntry `json:"entries"`
}

type ledgerHead struct {
	Export      string   `json:"export"`
	Package     string   `json:"package"`
	Size        int      `json:"size"`
	RootHash    string   `json:"rootHash"`
	Consistency []string `json:"consistency"`
}

type ledger struct {
	Heads []ledgerHead `json:"heads"`
}

func (b *B) rec(name string) *rec {
	for _, r := range b.Recs {
		if r.Name == name {
			return r
		}
	}
	if b.Export != nil && name == "export" {
		return b.Export
	}
	fatalf("no record %q", name)
	return nil
}

func defaultPolicy() obj {
	return obj{"mediaType": "application/vnd.dossier.policy.v1+json",
		"time":          obj{"accept": []any{"good"}, "acceptUntraceable": false, "maxProducerSkewSeconds": 300},
		"requiredKinds": []any{"dataset", "training-run", "evaluation", "run-closed"}}
}

func (b *B) initKeys() {
	b.Keys = map[string]*Key{
		"root":      newEd25519("root-1"),
		"root2":     newEd25519("root-2"),
		"log":       newEd25519("log"),
		"time":      newEd25519("time"),
		"exporter":  newECDSA("exporter"),
		"producer":  newECDSA("producer"),
		"producer2": newECDSA("producer-2"),
		"reviewer":  newECDSA("reviewer"),
		// keys no keyring lists: another organisation's or an attacker's
		"other":     newECDSA("other-org-producer"),
		"otherroot": newEd25519("other-org-root"),
		"otherlog":  newEd25519("other-org-log"),
	}
}

func (b *B) keyringV1() keyringDoc {
	k := b.Keys
	return keyringDoc{MediaType: keyringMediaType, Version: 1, IssuedAt: "2026-11-27T08:00:00Z", RootThreshold: 1,
		Keys: sortedEntries([]keyEntry{
			entryFor(k["root"], []string{"root"}, "security", ""),
			entryFor(k["log"], []string{"log"}, "platform", logName),
			entryFor(k["time"], []string{"time"}, "platform", ""),
			entryFor(k["exporter"], []string{"exporter"}, "compliance", ""),
			entryFor(k["producer"], []string{"producer"}, "ml-platform", ""),
		})}
}

func sortedEntries(es []keyEntry) []keyEntry {
	sort.Slice(es, func(i, j int) bool { return es[i].ID < es[j].ID })
	return es
}

// initRecords lays out the baseline log: keyring v1, a time-evidence
// record, run A's five records with run B's only record among them.
func (b *B) initRecords() {
	b.RunA = newRun(runAID, "2026-11-27T08:59:00Z")
	b.RunB = newRun(runBID, "2026-11-27T08:59:30Z")
	b.Runs = []*run{b.RunA}
	p, t, A := b.Keys["producer"], b.Keys["time"], b.RunA
	b.Recs = []*rec{
		{Name: "te", Kind: "time-evidence", Stream: "time-evidence", Pred: timeEvidencePred("2026-11-27T09:00:00.123456789Z", "good"), Spec: bundleSpec{Signer: t}},
		{Name: "ds-train", Kind: "dataset", Run: A, TE: "te", Pred: datasetPred(runAID, "2026-11-27T09:00:30Z", "", "support-tickets-de", "train"), Spec: bundleSpec{Signer: p}},
		{Name: "ds-eval", Kind: "dataset", Run: A, TE: "te", Pred: datasetPred(runAID, "2026-11-27T09:00:45Z", "", "support-holdout-de", "validation"), Spec: bundleSpec{Signer: p}},
		{Name: "training", Kind: "training-run", Run: A, TE: "te", DSRefs: []string{"ds-train", "ds-eval"}, Pred: trainingPred(runAID, "2026-11-27T09:01:00Z", "", nil), Spec: bundleSpec{Signer: p}},
		{Name: "b-dataset", Kind: "dataset", Run: b.RunB, TE: "te", Pred: datasetPred(runBID, "2026-11-27T09:01:10Z", "", "support-tickets-fr", "train"), Spec: bundleSpec{Signer: p}},
		{Name: "eval", Kind: "evaluation", Run: A, TE: "te", Pred: evaluationPred(runAID, "2026-11-27T09:01:30Z", "", "0.873"), Spec: bundleSpec{Signer: p}},
		{Name: "closed", Kind: "run-closed", Run: A, TE: "te", Pred: runClosedPred(runAID, "2026-11-27T09:02:00Z", ""), Spec: bundleSpec{Signer: p}},
	}
	for _, r := range b.Recs {
		r.Logged = true
		r.InPackage = r.Run == nil || r.Run == A
	}
	b.KeyringDocs = []keyringDoc{b.keyringV1()}
	b.KeyringSign = [][]*Key{{b.Keys["root"]}}
	b.Policy = defaultPolicy()
	b.Ledger = ledger{Heads: []ledgerHead{}}
}

// signKeyrings signs every keyring version; previous links are filled in
// unless a hook set them.
func (b *B) signKeyrings() {
	b.Keyrings = nil
	b.KeyringRaw = nil
	for i, d := range b.KeyringDocs {
		if i > 0 && d.Previous == nil {
			p := b.Keyrings[i-1].Digest()
			d.Previous = &p
		}
		doc := cjson(d)
		if b.KeyringMutate != nil {
			doc = b.KeyringMutate(i, doc)
		}
		b.KeyringRaw = append(b.KeyringRaw, doc)
		env := signKeyring(doc, b.KeyringSign[i]...)
		b.Keyrings = append(b.Keyrings, &rec{Name: "keyring-v" + itoa(d.Version), Kind: "keyring", Stream: "keyring",
			Bundle: env, Logged: true, InPackage: true})
	}
	b.RootFP = "SHA256:" + hexOf(b.KeyringRaw[0])
}

// signRecord builds the statement and bundle of r.
func (b *B) signRecord(r *rec) {
	if r.Bundle != nil {
		return
	}
	if r.TE != "" {
		b.signRecord(b.rec(r.TE))
		r.Pred["timeEvidence"] = obj{"digest": b.rec(r.TE).Digest()}
	}
	if len(r.DSRefs) > 0 {
		ds := r.Pred["datasets"].([]any)
		for i, n := range r.DSRefs {
			b.signRecord(b.rec(n))
			if i < len(ds) {
				ds[i].(obj)["record"] = b.rec(n).Digest()
			} else {
				role := "validation"
				if i == 0 {
					role = "train"
				}
				ds = append(ds, obj{"record": b.rec(n).Digest(), "role": role})
			}
		}
		r.Pred["datasets"] = ds
	}
	if len(r.Reviewed) > 0 {
		var ds []string
		for _, n := range r.Reviewed {
			b.signRecord(b.rec(n))
			ds = append(ds, b.rec(n).Digest())
		}
		sort.Strings(ds)
		r.Pred["reviewedRecords"] = ds
	}
	pred := cjson(r.Pred)
	name, hx := r.Subj0Name, r.Subj0Hex
	switch {
	case name != "":
	case r.Run != nil:
		name, hx = "run:"+r.Run.ID, r.Run.Hex()
	case r.Kind == "time-evidence":
		name, hx = "time-evidence", hexOf(pred)
	case r.Kind == "export":
		name, hx = "export", strings.TrimPrefix(r.Pred["recordListDigest"].(string), "sha256:")
	case r.Kind == "package":
		name = "dossier-package"
	}
	st := makeStatement(name, hx, r.Kind, pred)
	if r.StmtMutate != nil {
		st = r.StmtMutate(st)
	}
	r.Bundle = makeBundle(st, r.Spec)
}

func itoa(i int) string { return strconv.Itoa(i) }
