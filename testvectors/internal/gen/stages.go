package main

import (
	"bytes"
	"sort"
	"strings"
)

// Scenario is a baseline plus hooks; each hook runs at one stage of build
// and everything after it is recomputed, so a vector changes one thing and
// re-signs what must be re-signed.
type Scenario struct {
	Setup      func(b *B) // specs: keys, keyring documents, records, policy, ledger
	Signed     func(b *B) // after every record is signed
	Order      func(b *B) // after the log order is laid out
	Leaves     func(b *B) // after seq/prev and leaf texts are assigned
	Select     func(b *B) // which records go into the package
	ExportSpec func(b *B) // the export record before it is signed
	Logged     func(b *B) // after the tree and checkpoint are made
	Proofs     func(b *B)
	Meta       func(b *B) // metadata config, layers, ledger, policy
	OCI        func(b *B) // record manifests, package index, index.json
	AttestSpec func(b *B) // the package attestation before it is signed
	IndexJSON  func(b *B)
	Files      func(b *B) // tar entries
	Raw        func(tar []byte) []byte

	PinnedFP    func(b *B) string
	TrustPolicy func(b *B) obj
	TrustedHead func(b *B) []byte
}

func run1(f func(*B), b *B) {
	if f != nil {
		f(b)
	}
}

// Output is what a vector directory holds (besides expected.json).
type Output struct {
	Package     []byte
	RootFP      string
	Policy      []byte
	TrustedHead []byte
	At          string
}

func build(s *Scenario) *Output {
	_, out := buildB(s)
	return out
}

func buildB(s *Scenario) (*B, *Output) {
	b := &B{s: s, Blobs: map[string][]byte{}}
	b.initKeys()
	b.initRecords()
	run1(s.Setup, b)
	b.signKeyrings()
	for _, r := range b.Recs {
		b.signRecord(r)
	}
	run1(s.Signed, b)
	b.Log = append(append([]*rec{}, b.Keyrings...), b.Recs...)
	run1(s.Order, b)
	b.sequence()
	run1(s.Leaves, b)
	run1(s.Select, b)
	b.makeExport()
	b.makeTree()
	run1(s.Logged, b)
	b.makeProofs()
	run1(s.Proofs, b)
	b.makeOCI()
	out := &Output{Package: b.tar(), RootFP: b.RootFP, At: verifyAt}
	if s.Raw != nil {
		out.Package = s.Raw(out.Package)
	}
	if s.PinnedFP != nil {
		out.RootFP = s.PinnedFP(b)
	}
	if s.TrustPolicy != nil {
		out.Policy = cjson(s.TrustPolicy(b))
	}
	if s.TrustedHead != nil {
		out.TrustedHead = s.TrustedHead(b)
	}
	return b, out
}

// sequence assigns per-stream seq and prev (the appender's job) and the
// leaf texts, for logged items that have no leaf yet.
func (b *B) sequence() {
	next := map[string]int{}
	last := map[string]string{}
	for i, r := range b.Log {
		r.Index = i
		st := r.stream()
		if r.Leaf != nil {
			if r.Seq+1 > next[st] {
				next[st] = r.Seq + 1
			}
			last[st] = r.Digest()
			continue
		}
		r.Seq, r.Prev = next[st], last[st]
		next[st]++
		last[st] = r.Digest()
		r.Leaf = leafText(r.Digest(), st, r.Seq, r.Prev)
	}
}

// recordList is the export's record list: every run and time-evidence
// record bundle in the package, sorted (spec/package.md §2).
func (b *B) recordList() (string, int) {
	var lines []string
	for _, r := range b.Log {
		if r.InPackage && r.Kind != "keyring" && r.Kind != "export" {
			lines = append(lines, r.Digest()+"\n")
		}
	}
	sort.Strings(lines)
	return digestOf([]byte(strings.Join(lines, ""))), len(lines)
}

func (b *B) makeExport() {
	list, n := b.recordList()
	e := &rec{Name: "export", Kind: "export", Stream: "export", Logged: true, InPackage: true,
		Pred: exportPred(exportAt, "", b.runDigests(), list, n), Spec: bundleSpec{Signer: b.Keys["exporter"]}}
	b.Export = e
	run1(b.s.ExportSpec, b)
	b.signRecord(e)
	e.Index = len(b.Log)
	b.Log = append(b.Log, e)
	b.sequence()
	for i := 0; i < b.LaterLeaves; i++ {
		// later records of the same log, after this package was sealed
		l := &rec{Name: "later-" + itoa(i), Kind: "dataset", Stream: "time-evidence", Bundle: []byte("later record " + itoa(i)), Logged: true}
		b.Log = append(b.Log, l)
	}
	b.sequence()
}

func (b *B) makeTree() {
	b.Hashes = nil
	for _, r := range b.Log {
		b.Hashes = append(b.Hashes, leafHash(r.Leaf))
	}
	b.Size = b.Export.Index + 1
	b.Checkpoint = b.signedCheckpoint(b.Size)
}

// signedCheckpoint is the log's signed checkpoint of the first n leaves.
func (b *B) signedCheckpoint(n int) []byte {
	return b.Keys["log"].SignNote(logName, checkpointBody(logName, n, mth(b.Hashes[:n])))
}

func (b *B) makeProofs() {
	b.Proofs = proofs{TreeSize: b.Size, Entries: []proofEntry{}}
	for _, r := range b.Log[:b.Size] {
		if !r.InPackage {
			continue
		}
		b.Proofs.Entries = append(b.Proofs.Entries, proofEntry{Digest: r.Digest(), Index: r.Index, Leaf: b64(r.Leaf),
			Hashes: b64s(inclusionPath(r.Index, b.Hashes[:b.Size]))})
	}
}

// packaged lists the package's signed records (run, time-evidence, export)
// in log index order.
func (b *B) packaged() []*rec {
	var out []*rec
	for _, r := range b.Log {
		if r.InPackage && r.Kind != "keyring" {
			out = append(out, r)
		}
	}
	return out
}

func (b *B) blob(data []byte) string {
	d := digestOf(data)
	b.Blobs[d] = data
	return d
}

// reachable is the set of blobs reachable from index.json.
func (b *B) reachable(indexJSON []byte) map[string]bool {
	seen := map[string]bool{}
	var walk func([]byte)
	walk = func(data []byte) {
		for _, d := range refs(data) {
			if seen[d] {
				continue
			}
			seen[d] = true
			if c, ok := b.Blobs[d]; ok {
				walk(c)
			}
		}
	}
	walk(indexJSON)
	return seen
}

func lines(s ...string) []byte {
	var buf bytes.Buffer
	for _, l := range s {
		buf.WriteString(l + "\n")
	}
	return buf.Bytes()
}

func (b *B) runDigests() []string {
	var ds []string
	for _, r := range b.Runs {
		ds = append(ds, r.Digest())
	}
	return ds
}

// rootDesc is a run root's descriptor.
func rootDesc(r *run) desc {
	d := descOf(manifestMT, r.Manifest)
	d.ArtifactType = "application/vnd.dossier.run.v1"
	return d
}

// selected reports whether a run is one of the exported runs.
func (b *B) selected(r *run) bool {
	for _, x := range b.Runs {
		if x == r {
			return true
		}
	}
	return false
}
